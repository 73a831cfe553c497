"""MLflow's tracking and registry: Databricks (Unity Catalog) on a cluster; locally the project's
sqlite store, or the team's tracking server when ``MLOPS_TRACKING_SERVER`` names one
(docs/tracking-server.md); for an environment other than local run off Databricks (the API's
container), wherever MLflow's own variables point."""

from __future__ import annotations

import logging
import os
import urllib.error
import urllib.request
import warnings
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import mlflow

from ..settings import ConfigError
from . import on_databricks

if TYPE_CHECKING:
    from ..settings import Settings

# Off Databricks, dev / uat / prod are reached through these (databricks and databricks-uc, with
# DATABRICKS_HOST and a credential the Databricks SDK reads). Never read for local: a data scientist's
# MLFLOW_TRACKING_URI must not move the project's local store.
STORE_VARIABLES = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
# The local environment's alternative to its sqlite store: a team's `mlflow server` (deploy/mlflow-server),
# e.g. http://mlflow.internal:5000, for tracking and registry both. Unset: .local/mlflow.db.
SERVER_VAR = "MLOPS_TRACKING_SERVER"
# Servers this process has already seen answer /health (one probe per process, not one per stage).
_ANSWERED: set[str] = set()


def tracking_server() -> str | None:
    """The team tracking server the local environment uses (``MLOPS_TRACKING_SERVER``), or None
    for the project's own sqlite store. Anything but an http(s) address is a one-line ConfigError."""
    value = os.environ.get(SERVER_VAR, "").strip()
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{SERVER_VAR} must be the tracking server's http:// or https:// address "
                          f"(e.g. http://localhost:5000), got {value!r}")
    return value.rstrip("/")


def _check_answers(server: str) -> None:
    """Fail in one line, within seconds, when nothing answers at the server's address: MLflow's
    own client would retry each request for minutes before saying so. Any HTTP answer will do (a
    proxy in front may want the credentials MLflow's client sends, MLFLOW_TRACKING_USERNAME …)."""
    if server in _ANSWERED:
        return
    try:
        with urllib.request.urlopen(f"{server}/health", timeout=10) as response:
            response.read()
    except urllib.error.HTTPError:
        pass
    except OSError as error:
        reason = getattr(error, "reason", None) or error
        raise RuntimeError(f"the tracking server {server} ({SERVER_VAR}) does not answer: {reason}; "
                           "start it (docs/tracking-server.md) or unset the variable") from error
    _ANSWERED.add(server)


def configure_mlflow(settings: Settings) -> str:
    """Point MLflow at the environment's store and experiment; return the experiment id."""
    use_store(settings)
    if on_databricks() or not settings.is_local or tracking_server():
        # A server keeps the artifacts where it was told to (the team server: its bucket, through
        # its proxy), so the experiment is created with the server's default location.
        return mlflow.set_experiment(settings.experiment_name).experiment_id
    state = settings.local_dir
    name = settings.experiment_name
    experiment = mlflow.get_experiment_by_name(name)
    if experiment is None:
        experiment_id = mlflow.create_experiment(name, artifact_location=(state / "mlartifacts").as_uri())
    else:
        experiment_id = experiment.experiment_id
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


def use_store(settings: Settings) -> None:
    """Point MLflow at the environment's tracking store and registry, and no experiment: enough to
    read the registry (``status``), without opening the tracking store (about a second more locally)."""
    _quiet()
    if on_databricks():
        mlflow.set_tracking_uri("databricks")
        mlflow.set_registry_uri("databricks-uc")
        return
    if not settings.is_local:
        missing = [name for name in STORE_VARIABLES if not os.environ.get(name)]
        if missing:
            raise RuntimeError(f"environment {settings.env!r} off Databricks needs {' and '.join(missing)} "
                               "(databricks, databricks-uc) and DATABRICKS_HOST with a credential: docs/serving.md")
        mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
        mlflow.set_registry_uri(os.environ["MLFLOW_REGISTRY_URI"])
        return
    server = tracking_server()
    if server:
        _check_answers(server)
        mlflow.set_tracking_uri(server)
        mlflow.set_registry_uri(server)
        return
    state = settings.local_dir
    state.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{state / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)


def _quiet() -> None:
    """Keep MLflow's progress chatter out of the pipeline's one-line-per-stage report.

    The integer-column hint does not apply (cleaning quarantines rows with missing integers
    before they reach a model) and cloudpickle is chosen on purpose (see stages/train.py).
    """
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("mlflow.sklearn").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=".*Inferred schema contains integer column.*")
