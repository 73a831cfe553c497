"""train (Treino, Versionamento do Modelo e do Código): fit the model on the training set pinned
to the current Delta versions, log everything needed to reproduce it to MLflow (params, metrics,
signature, input example, data versions with ``mlflow.log_input``, git commit) and register a new
version tagged with the pipeline run that made it, with its drift baseline (the distributions of its
holdout) in ``drift_baselines``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mlflow
from mlflow import MlflowClient
from mlflow.data.delta_dataset_source import DeltaDatasetSource
from mlflow.data.spark_dataset import SparkDataset

from .. import model as model_module
from .. import modelling
from ..monitoring import baseline
from ..monitoring.rules import Rules
from ..records import now
from ..registry import TAG_RUN
from ..training import git_commit, load_training_set

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from . import StageContext


def execute(spark: SparkSession, ctx: StageContext) -> dict[str, Any]:
    settings = ctx.settings
    params = dict(settings.training_rules.model_params)
    estimator = model_module.build_model(settings, params)
    data = load_training_set(spark, settings, library=modelling.library_of(estimator))
    fitted = modelling.fit(estimator, data, settings)
    holdout = modelling.score_holdout(fitted, data, settings)
    holdout_metrics = holdout.metrics
    commit = git_commit(settings)
    with mlflow.start_run(run_name=ctx.stage) as run:
        ctx.record.mlflow_run_id = run.info.run_id
        mlflow.set_tags(
            {
                TAG_RUN: ctx.pipeline_run_id,
                "pipeline": ctx.pipeline,
                "stage": ctx.stage,
                "env": settings.env,
                "owner_team": settings.project["owner_team"],
                **({"mlflow.source.git.commit": commit} if commit else {}),
            }
        )
        mlflow.log_params(
            {
                **params,
                "seed": settings.seed,
                "features_version": data.features_version,
                "silver_version": data.silver_version,
                "train_rows": data.train_rows,
                "holdout_rows": data.holdout_rows,
                "holdout_fraction": settings.training_rules.holdout_fraction,
            }
        )
        for frame, table, version, context in (
            (data.features_frame, "features", data.features_version, "training"),
            (data.silver_frame, "silver", data.silver_version, "labels"),
        ):
            dataset = _DeltaVersion(frame, settings.table(table), version)
            mlflow.log_input(dataset, context=context)
        mlflow.log_metrics({f"holdout_{name}": value for name, value in holdout_metrics.items()})
        logged = modelling.log(fitted, data.example(), settings, registered_model_name=settings.model_name)
    version = str(logged.registered_model_version)
    client = MlflowClient()
    for key, value in {
        TAG_RUN: ctx.pipeline_run_id,
        "features_version": data.features_version,
        "silver_version": data.silver_version,
        **({"git_commit": commit} if commit else {}),
    }.items():
        client.set_model_version_tag(settings.model_name, version, key, str(value))
    # What production drift of this version is measured against (see monitoring/baseline.py).
    baseline.write(spark, settings, holdout.baseline(version, Rules.from_settings(settings).bins), now())
    data.release()
    return {
        "model_version": version,
        "mlflow_run_id": run.info.run_id,
        "data_version": data.data_version,
        "train_rows": data.train_rows,
        "holdout_rows": data.holdout_rows,
        settings.primary_metric: round(holdout_metrics[settings.primary_metric], 6),
    }


class _DeltaVersion(SparkDataset):
    """One version of a Delta table as a training input of the MLflow run.

    Built directly rather than by ``mlflow.data.from_spark``, which asks Spark again whether the
    table is Delta and profiles it with an approximate count through the RDD API: seconds of Spark
    jobs, and an API Spark Connect lacks. The rows training used are the run's train_rows and
    holdout_rows parameters."""

    def __init__(self, frame: DataFrame, table: str, version: int) -> None:
        source = DeltaDatasetSource(delta_table_name=table, delta_table_version=int(version))
        super().__init__(frame, source=source, name=f"{table}@v{version}")

    @property
    def profile(self) -> None:
        return None
