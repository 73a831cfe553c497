"""Scoring in Spark with a registered version, loaded once per Python worker.

The driver loads the version once, the serialised model travels with the task (Spark broadcasts
large task binaries), and each Python worker deserialises it the first time only (``_MODELS``
outlives tasks because Spark reuses Python workers), never once per Arrow batch. Like
``mlflow.pyfunc.spark_udf``, an Arrow iterator UDF receives only the model's input columns and
returns only its outputs (the rest of the row stays in the JVM); unlike it, the probability comes
back as well as the class. ``benchmarks/`` compares the two and single-process pandas (figures in
``docs/performance.md``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import cloudpickle
import pandas as pd
from pyspark.sql import functions as F

from . import features, modelling

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from .settings import Settings

# Per Python worker: digest of the serialised model -> the model. Workers of the warm engine
# outlive commands, so the key is the bytes themselves, not a name and version another registry
# (another local state) could reuse.
_MODELS: dict[str, Any] = {}
# Per driver process: (tracking store, model URI) -> loaded version. A registered version never
# changes, and deploy and predict load the same one within a run.
_LOADED: dict[tuple[str, str], LoadedModel] = {}


@dataclass(frozen=True)
class LoadedModel:
    name: str
    version: str
    model: Any

    @property
    def library(self) -> str:
        return modelling.library_of(self.model)


def load(settings: Settings, version: str) -> LoadedModel:
    """The registered ``version`` of the project's model, as the estimator it was logged as."""
    # Imported here, not above: every Python worker that scores imports this module (the UDF
    # refers to _worker_model), and MLflow would add 2–3 s to each worker's start.
    import mlflow

    uri = f"models:/{settings.model_name}/{version}"
    cached = (mlflow.get_tracking_uri(), uri)
    if cached not in _LOADED:
        _LOADED[cached] = LoadedModel(settings.model_name, str(version), modelling.load(uri))
    return _LOADED[cached]


# The Spark SQL types a request may carry as JSON numbers.
NUMERIC_TYPES = ("DOUBLE", "FLOAT", "INT", "BIGINT", "SMALLINT", "TINYINT", "DECIMAL")

# Rows scored online (the API, a serving endpoint) are logged as one batch per UTC day.
ONLINE_BATCH_PREFIX = "online-"


def online_batch(day: date) -> str:
    """The batch_id of the requests scored online on ``day`` (UTC): ``online-2026-12-03``."""
    return ONLINE_BATCH_PREFIX + day.isoformat()


def is_online(batch: str | None) -> bool:
    return bool(batch) and batch.startswith(ONLINE_BATCH_PREFIX)


def log_columns(settings: Settings) -> list[str]:
    """The columns of a scored row in inference_log, as predict and the online API fill them."""
    return [settings.id_column, settings.timestamp_column, *features.FEATURE_COLUMNS, "prediction", "probability",
            "model_name", "model_version", "batch_id", "pipeline_run_id", "scored_at"]


def _worker_model(key: str, payload: bytes) -> Any:
    model = _MODELS.get(key)
    if model is None:
        model = _MODELS[key] = cloudpickle.loads(payload)
    return model


def score(frame: DataFrame, loaded: LoadedModel, settings: Settings) -> DataFrame:
    """``frame`` (id, timestamp, features, …) with ``prediction`` and ``probability`` added.

    Classifiers: ``probability`` of the positive class and ``prediction`` = probability >= 0.5
    (the rule of the gate); regressors: ``prediction`` and a null ``probability``. A Spark ML model
    scores with its own ``transform`` (its prediction is its own decision rule).
    """
    if loaded.library == modelling.SPARK_ML:
        return modelling.transform(loaded.model, frame, settings)
    payload = cloudpickle.dumps(loaded.model)
    key = hashlib.sha256(payload).hexdigest()
    names = list(features.FEATURE_COLUMNS)
    classification = settings.is_classification

    @F.pandas_udf("prediction double, probability double")
    def predict(batches: Iterator[tuple[pd.Series, ...]]) -> Iterator[pd.DataFrame]:
        model = _worker_model(key, payload)
        for columns in batches:
            x = pd.concat(columns, axis=1, keys=names)
            if classification:
                probability = model.predict_proba(x)[:, 1].astype("float64")
                yield pd.DataFrame({"prediction": (probability >= 0.5).astype("float64"), "probability": probability})
            else:
                yield pd.DataFrame({"prediction": model.predict(x).astype("float64"), "probability": float("nan")})

    # The UDF runs once per row; both fields are read from its one result.
    scored = frame.withColumn("_scored", predict(*names))
    probability = F.col("_scored.probability") if classification else F.lit(None).cast("double")
    return scored.select(*frame.columns, F.col("_scored.prediction").alias("prediction"), probability.alias("probability"))
