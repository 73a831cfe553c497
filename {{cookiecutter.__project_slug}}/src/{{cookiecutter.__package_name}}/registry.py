"""The model registry, by alias only (MLflow 3 / Unity Catalog have no stages).

``@champion`` is what the execution pipeline serves, ``@challenger`` a version that passed the
gate and waits for promote, ``@previous_champion`` what ``rollback`` restores.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

CHAMPION, CHALLENGER, PREVIOUS = "champion", "challenger", "previous_champion"
# Tags written on every registered version: which run made it and what the gate said.
TAG_RUN, TAG_GATE, TAG_REASON = "pipeline_run_id", "gate", "gate_reason"


class NoChampionError(LookupError):
    """There is no @champion yet: train (and pass the gate) first."""


def version_by_alias(client: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def champion(client: MlflowClient, name: str) -> ModelVersion:
    found = version_by_alias(client, name, CHAMPION)
    if found is None:
        raise NoChampionError(f"model {name} has no @champion yet: run the training pipeline first")
    return found


def versions_of_run(client: MlflowClient, name: str, pipeline_run_id: str) -> list[ModelVersion]:
    """Versions registered by one pipeline run (filtered here: Unity Catalog searches by name only)."""
    try:
        found = client.search_model_versions(f"name = '{name}'")
    except MlflowException:
        return []
    return sorted(
        (v for v in found if v.tags.get(TAG_RUN) == pipeline_run_id), key=lambda v: int(v.version)
    )


@dataclass(frozen=True)
class Promotion:
    champion: str
    previous_champion: str | None


def promote(client: MlflowClient, name: str, version: str) -> Promotion:
    """``version`` becomes @champion; the former champion is kept as @previous_champion."""
    former = version_by_alias(client, name, CHAMPION)
    if former is not None and former.version != str(version):
        client.set_registered_model_alias(name, PREVIOUS, former.version)
    client.set_registered_model_alias(name, CHAMPION, str(version))
    if (current := version_by_alias(client, name, CHALLENGER)) is not None and current.version == str(version):
        client.delete_registered_model_alias(name, CHALLENGER)
    return Promotion(str(version), former.version if former is not None else None)
