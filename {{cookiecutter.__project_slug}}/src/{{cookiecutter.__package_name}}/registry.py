"""The model registry, by alias only (MLflow 3 / Unity Catalog have no stages).

``@champion`` is what the execution pipeline serves, ``@challenger`` a version that passed the
gate and waits for promote, ``@previous_champion`` what ``rollback`` restores.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

CHAMPION, CHALLENGER, PREVIOUS = "champion", "challenger", "previous_champion"
# Tags written on every registered version: which run made it and what the gate said.
TAG_RUN, TAG_GATE, TAG_REASON = "pipeline_run_id", "gate", "gate_reason"
# Set on a version that passed the gate only by replacing a failing champion: what a person must know.
TAG_ALERT = "gate_alert"


class NoChampionError(LookupError):
    """There is no @champion yet: train (and pass the gate) first."""


@dataclass(frozen=True)
class Version:
    """A registered version; ``version`` is always a string (stores disagree: int or str)."""

    version: str
    run_id: str | None
    tags: dict[str, str] = field(default_factory=dict)


def _version(found) -> Version:
    return Version(str(found.version), found.run_id, dict(found.tags or {}))


def version_by_alias(client: MlflowClient, name: str, alias: str) -> Version | None:
    try:
        return _version(client.get_model_version_by_alias(name, alias))
    except MlflowException:
        return None


def get_version(client: MlflowClient, name: str, version: str) -> Version:
    return _version(client.get_model_version(name, str(version)))


def champion(client: MlflowClient, name: str) -> Version:
    found = version_by_alias(client, name, CHAMPION)
    if found is None:
        raise NoChampionError(f"model {name} has no @champion yet: run the training pipeline first")
    return found


def versions_of_run(client: MlflowClient, name: str, pipeline_run_id: str) -> list[Version]:
    """Versions registered by one pipeline run (filtered here: Unity Catalog searches by name only)."""
    try:
        found = client.search_model_versions(f"name = '{name}'")
    except MlflowException:
        return []
    mine = (_version(v) for v in found if (v.tags or {}).get(TAG_RUN) == pipeline_run_id)
    return sorted(mine, key=lambda v: int(v.version))


@dataclass(frozen=True)
class Promotion:
    champion: str
    previous_champion: str | None


def promote(client: MlflowClient, name: str, version: str) -> Promotion:
    """``version`` becomes @champion; the former champion is kept as @previous_champion."""
    former = version_by_alias(client, name, CHAMPION)
    version = str(version)
    if former is not None and former.version != version:
        client.set_registered_model_alias(name, PREVIOUS, former.version)
    client.set_registered_model_alias(name, CHAMPION, version)
    if (current := version_by_alias(client, name, CHALLENGER)) is not None and current.version == version:
        client.delete_registered_model_alias(name, CHALLENGER)
    return Promotion(version, former.version if former is not None else None)


class NoPreviousChampionError(LookupError):
    """There is no @previous_champion to roll back to."""


def rollback(client: MlflowClient, name: str) -> Promotion:
    """@previous_champion becomes @champion again. The version it replaces is tagged, and
    @previous_champion is removed, so a second rollback cannot bring the bad version back."""
    previous = version_by_alias(client, name, PREVIOUS)
    if previous is None:
        raise NoPreviousChampionError(f"model {name} has no @{PREVIOUS}: nothing to roll back to")
    replaced = version_by_alias(client, name, CHAMPION)
    client.set_registered_model_alias(name, CHAMPION, previous.version)
    client.delete_registered_model_alias(name, PREVIOUS)
    if replaced is not None:
        client.set_model_version_tag(name, replaced.version, "rolled_back", "true")
    return Promotion(previous.version, replaced.version if replaced is not None else None)
