"""MLflow's tracking and registry: Databricks (Unity Catalog) on a cluster, sqlite locally, and, for
an environment other than local run off Databricks (the API's container), wherever MLflow's own
variables point."""

from __future__ import annotations

import logging
import os
import warnings
from typing import TYPE_CHECKING

import mlflow

from . import on_databricks

if TYPE_CHECKING:
    from ..settings import Settings

# Off Databricks, dev / uat / prod are reached through these (databricks and databricks-uc, with
# DATABRICKS_HOST and a credential the Databricks SDK reads). Never read for local: a data scientist's
# MLFLOW_TRACKING_URI must not move the project's local store.
STORE_VARIABLES = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


def configure_mlflow(settings: Settings) -> str:
    """Point MLflow at the environment's store and experiment; return the experiment id."""
    use_store(settings)
    if on_databricks() or not settings.is_local:
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
