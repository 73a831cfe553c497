"""MLflow's tracking and registry: Databricks (Unity Catalog) on a cluster, sqlite locally."""

from __future__ import annotations

import logging
import warnings
from typing import TYPE_CHECKING

import mlflow

from . import on_databricks

if TYPE_CHECKING:
    from ..settings import Settings


def configure_mlflow(settings: Settings) -> str:
    """Point MLflow at the environment's store and experiment; return the experiment id."""
    use_store(settings)
    if on_databricks():
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
