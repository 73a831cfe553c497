"""The model's library, told by what ``model.build_model`` returns, and everything the pipeline does
with a model that depends on it: fit, score the holdout, log, load, score a batch.

- **scikit-learn**: fitted on the driver from the training set collected into pandas; logged with
  MLflow's sklearn flavour; batches scored by an Arrow UDF (``inference.py``).
- **Spark ML** (``pyspark.ml``): fitted on the cluster from the pinned Spark DataFrame, which is
  never collected; the holdout's metrics and drift baseline computed in Spark; logged with MLflow's
  Spark flavour; batches scored by the model's own ``transform``.

A registered version is loaded with the flavour it was logged with, so a project that changes
library in model.py keeps scoring its current champion until a new one replaces it. The gate,
the registry aliases, the drift baselines and promotion do not depend on the library.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING, Any

import numpy as np

from . import features

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame

    from .monitoring.baseline import Baseline
    from .settings import Settings
    from .training import TrainingSet

SCIKIT_LEARN = "scikit-learn"
SPARK_ML = "spark-ml"
# The MLflow flavour each library's models are logged with, as the MLmodel file names it.
FLAVOURS = {SCIKIT_LEARN: "sklearn", SPARK_ML: "spark"}


def library_of(estimator: Any) -> str:
    """SPARK_ML for a ``pyspark.ml`` estimator or fitted model, SCIKIT_LEARN for anything else."""
    from pyspark.ml.base import Estimator, Transformer

    return SPARK_ML if isinstance(estimator, Estimator | Transformer) else SCIKIT_LEARN


def library_of_version(uri: str) -> str:
    """The library a registered version was logged with (from its MLmodel file's flavours)."""
    import mlflow

    flavours = mlflow.models.get_model_info(uri).flavors
    return SPARK_ML if FLAVOURS[SPARK_ML] in flavours else SCIKIT_LEARN


def fit(estimator: Any, data: TrainingSet, settings: Settings) -> Any:
    if library_of(estimator) == SPARK_ML:
        return without_training_summary(estimator.fit(data.train_frame))
    train = data.train_pandas()
    return estimator.fit(train[list(features.FEATURE_COLUMNS)], train[settings.target_column])


def without_training_summary(model: Any) -> Any:
    """A fitted model with a training summary (logistic or linear regression) holds the session that
    fitted it, and Spark 4.0 cannot serialise that session into the task of a later ``transform``
    once it has run an observation (the pipeline's record counts do): "Task not serializable". A
    saved and reloaded copy has no summary. Done on the local engine, whose disk this process
    shares; models without a summary (trees, the default) are returned as they are."""
    stages = getattr(model, "stages", [model])
    if not _through_connect() or not any(getattr(stage, "hasSummary", False) for stage in stages):
        return model
    from pyspark.ml import PipelineModel

    folder = os.path.join(tempfile.mkdtemp(prefix="spark-model-"), "model")
    pipeline = model if isinstance(model, PipelineModel) else PipelineModel(stages=[model])
    pipeline.write().save(folder)
    return PipelineModel.load(folder)


@dataclass
class ScoredHoldout:
    """A model's metrics on a holdout and what its drift baseline is computed from."""

    metrics: dict[str, float]
    _baseline: Any  # (model_version, bins) -> Baseline

    def baseline(self, model_version: str, bins: int) -> Baseline:
        return self._baseline(model_version, bins)


def score_holdout(model: Any, data: TrainingSet, settings: Settings) -> ScoredHoldout:
    """The gate's metrics of ``model`` on the holdout of ``data``, in the model's library: pandas
    and scikit-learn's metrics for scikit-learn, Spark aggregations for Spark ML."""
    from .monitoring import baseline, performance

    if library_of(model) == SPARK_ML:
        scored = transform(model, data.holdout_spark(), settings)
        measured = performance.measure(scored, settings.target_column, settings.problem_type)
        measured.pop(performance.UNSCORED)
        column = "probability" if settings.is_classification else "prediction"
        return ScoredHoldout(measured, lambda version, bins: baseline.compute_in_spark(scored, column, version, bins))
    from .evaluation import compute_metrics
    from .training import predict

    holdout = data.holdout_pandas()
    prediction, probability = predict(model, holdout, settings)
    measured = compute_metrics(settings.problem_type, holdout[settings.target_column].to_numpy(), prediction,
                               probability)
    reference = probability if probability is not None else prediction
    return ScoredHoldout(measured, lambda version, bins: baseline.compute(holdout, reference, version, bins))


def transform(model: Any, frame: DataFrame, settings: Settings) -> DataFrame:
    """``frame`` with ``prediction`` (double) and ``probability`` (of the positive class; null for a
    regressor) from a fitted Spark ML model's own ``transform``: every other column the model adds
    (indexed categories, the feature vector, raw scores) is dropped."""
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F

    out = model.transform(frame)
    probability = (vector_to_array("probability")[1] if settings.is_classification
                   else F.lit(None).cast("double"))
    return out.select(*frame.columns, F.col("prediction").cast("double").alias("prediction"),
                      probability.alias("probability"))


def log(model: Any, example: pd.DataFrame, settings: Settings, registered_model_name: str | None) -> Any:
    """Log ``model`` to the active MLflow run with its library's flavour, a signature and the
    pinned requirements, registered as a new version of ``registered_model_name`` if given;
    returns MLflow's ModelInfo."""
    import mlflow
    from mlflow.models import infer_signature

    from .training import model_requirements

    if library_of(model) == SPARK_ML:
        # The flavour's pyfunc answers the model's prediction column.
        with _local_model_copies():
            return mlflow.spark.log_model(
                model, "model", signature=infer_signature(example, np.zeros(len(example))), input_example=example,
                pip_requirements=spark_requirements(), registered_model_name=registered_model_name)
    # As a pyfunc (a serving endpoint, MLflow's own server) a classifier answers the probability of
    # each class, which the inference log and the drift of the prediction need.
    served = "predict_proba" if settings.is_classification else "predict"
    return mlflow.sklearn.log_model(
        model,
        name="model",
        signature=infer_signature(example, getattr(model, served)(example)),
        input_example=example,
        pyfunc_predict_fn=served,
        # skops (MLflow 3's default) refuses the tree classes of gradient boosting.
        serialization_format="cloudpickle",
        pip_requirements=model_requirements(model),
        registered_model_name=registered_model_name,
    )


def load(uri: str) -> Any:
    """The registered model at ``uri``, as the estimator it was logged as."""
    import mlflow

    if library_of_version(uri) != SPARK_ML:
        return mlflow.sklearn.load_model(uri)
    if not _through_connect():
        return mlflow.spark.load_model(uri)
    from pyspark.ml import PipelineModel

    # Spark Connect: the model's files are read by the engine, which shares this machine's disk.
    folder = tempfile.mkdtemp(prefix="spark-model-")
    local = mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=folder)
    return PipelineModel.load(os.path.join(local, "sparkml"))


def spark_requirements() -> list[str]:
    return sorted(f"{name}=={metadata.version(name)}" for name in ("pyspark", "numpy", "pandas"))


def _through_connect() -> bool:
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    return active is not None and type(active).__module__.startswith("pyspark.sql.connect")


@contextlib.contextmanager
def _local_model_copies():
    """MLflow's Spark flavour saves a model to a temporary Hadoop path, then copies it to local disk
    through the driver's JVM (py4j), which a Spark Connect client has not. The local engine writes
    that temporary path on this machine's disk, so the copy is a move. And with a remote artifact
    store (a team tracking server) it first tries Spark's own writer on the store's URI, which Spark
    cannot reach, and tells that failure by a py4j error Spark Connect does not raise: that attempt
    is skipped, so the model is saved locally and uploaded through MLflow's artifact client. (On a
    Databricks cluster, where the driver has a JVM, MLflow's own steps run.)"""
    if not _through_connect():
        yield
        return
    import mlflow.spark as flavour

    original_copy = flavour._HadoopFileSystem.__dict__["copy_to_local_file"]
    original_direct = flavour._maybe_save_model

    def move(cls, source: str, target: str, remove_src: bool) -> None:
        path = source.removeprefix("file:")
        (shutil.move if remove_src else shutil.copytree)(path, target)

    flavour._HadoopFileSystem.copy_to_local_file = classmethod(move)
    flavour._maybe_save_model = lambda model, directory: False
    try:
        yield
    finally:
        flavour._HadoopFileSystem.copy_to_local_file = original_copy
        flavour._maybe_save_model = original_direct
