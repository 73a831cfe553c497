"""The project's settings: the versioned YAML in ``conf/`` resolved for one environment.

Every name the loop uses (tables, registered model, experiment, landing folder) is derived here,
so that no other module composes a table name or knows which environment it runs in.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from .training_rules import TrainingRules

# Environment variables that relocate the project's files (tests use them to isolate a run).
CONF_DIR_VAR = "MLOPS_CONF_DIR"
LOCAL_DIR_VAR = "MLOPS_LOCAL_DIR"


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names the file and the key."""


def flag(value: Any, where: str, key: str) -> bool:
    """A true/false setting, or a one-line ConfigError naming the file and the key."""
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: {key} must be true or false, got {value!r}")
    return value


def find_project_root(start: Path | None = None) -> Path:
    """The folder holding ``conf/project.yml``: searched upwards from ``start`` (the current
    directory: on Databricks a notebook runs in its own folder of the deployed bundle), then
    from this package's source location (an editable install)."""
    candidates = [Path(start or Path.cwd()).resolve(), Path(__file__).resolve()]
    for origin in candidates:
        for folder in (origin, *origin.parents):
            if (folder / "conf" / "project.yml").is_file():
                return folder
    raise ConfigError(
        "conf/project.yml not found above the current directory nor the package; "
        f"run from the project folder or set {CONF_DIR_VAR}"
    )


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc.__class__.__name__})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


@dataclass(frozen=True)
class Settings:
    """Settings of one environment. Build with :func:`load_settings`."""

    env: str
    root: Path
    conf_dir: Path
    project: dict[str, Any] = field(repr=False)
    training: dict[str, Any] = field(repr=False)
    monitoring: dict[str, Any] = field(repr=False)

    # -- names ---------------------------------------------------------------------------------
    @property
    def package_name(self) -> str:
        return self.project["package_name"]

    @property
    def problem_type(self) -> str:
        return self.project["problem_type"]

    @property
    def is_classification(self) -> bool:
        return self.problem_type == "classification"

    @property
    def id_column(self) -> str:
        return self.project["columns"]["id"]

    @property
    def timestamp_column(self) -> str:
        return self.project["columns"]["timestamp"]

    @property
    def target_column(self) -> str:
        return self.project["columns"]["target"]

    @cached_property
    def _environment(self) -> dict[str, Any]:
        return self.project["environments"][self.env]

    @property
    def catalog(self) -> str:
        return self._environment["catalog"]

    @property
    def schema(self) -> str:
        return self._environment["schema"]

    @property
    def is_local(self) -> bool:
        return self.env == "local"

    def table(self, name: str) -> str:
        """Fully qualified name of one of the loop's tables (``catalog.schema.name``)."""
        return f"{self.catalog}.{self.schema}.{name}"

    @property
    def model_name(self) -> str:
        """Registered model name: three-level in Unity Catalog, plain in the local registry."""
        name = self.project["registered_model_name"]
        return name if self.is_local else f"{self.catalog}.{self.schema}.{name}"

    @property
    def serving(self) -> dict[str, Any]:
        """The environment's serving endpoint (``endpoint``: None when not configured) and its settings."""
        return {**(self.project.get("serving") or {}), "endpoint": self._environment.get("serving_endpoint")}

    @property
    def experiment_name(self) -> str:
        return self._environment["experiment"]

    # -- local files -----------------------------------------------------------------------------
    @cached_property
    def local_dir(self) -> Path:
        """Local state (warehouse, metastore, MLflow store, landing files); git-ignored."""
        override = os.environ.get(LOCAL_DIR_VAR)
        return Path(override).resolve() if override else self.root / ".local"

    @property
    def landing_path(self) -> str:
        configured = self._environment.get("landing_path")
        return configured or str(self.local_dir / "landing")

    # -- rules ---------------------------------------------------------------------------------
    @cached_property
    def training_rules(self) -> TrainingRules:
        """``conf/training.yml``, typed and checked (a wrong value raises a one-line ConfigError)."""
        from .training_rules import TrainingRules

        return TrainingRules.from_settings(self)

    @property
    def primary_metric(self) -> str:
        return self.training_rules.gate.primary_metric

    @property
    def seed(self) -> int:
        return self.training_rules.seed


def _conf_dir(conf_dir: str | Path | None = None) -> Path:
    explicit = conf_dir or os.environ.get(CONF_DIR_VAR)
    return Path(explicit).resolve() if explicit else find_project_root() / "conf"


def environments(conf_dir: str | Path | None = None) -> tuple[str, ...]:
    """The environments ``conf/project.yml`` declares, in its order: the one list of them."""
    path = _conf_dir(conf_dir) / "project.yml"
    return _environments_of(_read_yaml(path), path)


def _environments_of(project: dict[str, Any], path: Path) -> tuple[str, ...]:
    declared = project.get("environments")
    if not isinstance(declared, dict) or not declared:
        raise ConfigError(f"{path}: environments must map each environment to its names")
    return tuple(declared)


def load_settings(env: str = "local", conf_dir: str | Path | None = None) -> Settings:
    """Read ``conf/*.yml`` for ``env``; raise :class:`ConfigError` with one clear line if wrong.

    ``conf_dir`` (or ``MLOPS_CONF_DIR``) points at another copy of ``conf/``, e.g. a test's
    modified rules; notebooks and SQL are still taken from the project root."""
    root = find_project_root()
    conf = _conf_dir(conf_dir)
    project = _read_yaml(conf / "project.yml")
    declared = _environments_of(project, conf / "project.yml")
    if env not in declared:
        raise ConfigError(f"unknown environment {env!r}; choose one of {', '.join(declared)}")
    return Settings(
        env=env,
        root=root,
        conf_dir=conf,
        project=project,
        training=_read_yaml(conf / "training.yml"),
        monitoring=_read_yaml(conf / "monitoring.yml"),
    )
