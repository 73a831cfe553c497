"""The training set (pinned to Delta versions, split out-of-time) and the training run.

Reproducibility: the features and silver tables are read ``VERSION AS OF`` the versions recorded
in the MLflow run (``mlflow.log_input`` and params), the split depends only on the data, the model
on ``seed``: the same versions and seed give the same model and the same metrics.
"""

from __future__ import annotations

import functools
import math
import subprocess
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import features, tables
from .modelling import SCIKIT_LEARN, SPARK_ML

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from .settings import Settings


@dataclass
class TrainingSet:
    """The pinned training set, split out-of-time: as pandas frames for a scikit-learn model
    (collected once), as Spark DataFrames for a Spark ML one (never collected). A model of the other
    library (a champion logged before model.py changed library) gets the holdout converted."""

    features_version: int
    silver_version: int
    features_frame: DataFrame
    silver_frame: DataFrame
    train_rows: int
    holdout_rows: int
    train: pd.DataFrame | None = None
    holdout: pd.DataFrame | None = None
    train_frame: DataFrame | None = None
    holdout_frame: DataFrame | None = None
    cached: DataFrame | None = None  # the Spark rows both frames are read from

    @property
    def data_version(self) -> str:
        return f"features@v{self.features_version},silver@v{self.silver_version}"

    def train_pandas(self) -> pd.DataFrame:
        if self.train is None:
            self.train = self.train_frame.toPandas()
        return self.train

    def holdout_pandas(self) -> pd.DataFrame:
        if self.holdout is None:
            self.holdout = self.holdout_frame.toPandas()
        return self.holdout

    def example(self, rows: int = 5) -> pd.DataFrame:
        """The first training rows as model inputs: the input example logged with the model (a few
        rows fetched from Spark when the set was never collected)."""
        return inputs(self.train.head(rows) if self.train is not None else self.train_frame.limit(rows).toPandas())

    def release(self) -> None:
        """Free what the set cached on the cluster (a warm engine outlives the stage)."""
        if self.cached is not None:
            self.cached.unpersist()

    def holdout_spark(self) -> DataFrame:
        if self.holdout_frame is None:
            self.holdout_frame = self.features_frame.sparkSession.createDataFrame(self.holdout)
        return self.holdout_frame


def load_training_set(
    spark: SparkSession, settings: Settings, features_version: int | None = None, silver_version: int | None = None,
    library: str = SCIKIT_LEARN,
) -> TrainingSet:
    """Features joined with their labels at pinned versions (the current ones unless given), split
    for a model of ``library``."""
    features_table, silver_table = settings.table("features"), settings.table("silver")
    fv = tables.table_version(spark, features_table) if features_version is None else int(features_version)
    sv = tables.table_version(spark, silver_table) if silver_version is None else int(silver_version)
    keys = [settings.id_column, settings.timestamp_column]
    features_frame = spark.sql(f"SELECT * FROM {features_table} VERSION AS OF {fv}")
    silver_frame = spark.sql(f"SELECT * FROM {silver_table} VERSION AS OF {sv}")
    labels = silver_frame.select(*keys, settings.target_column)
    joined = features_frame.join(labels, keys, "inner")
    window = settings.training_rules.window_batches
    if window:
        recent = sorted(r[0] for r in joined.select("batch_id").distinct().collect())[-int(window):]
        joined = joined.where(joined.batch_id.isin(recent))
    joined = joined.select(*keys, *features.FEATURE_COLUMNS, settings.target_column)
    pinned = {"features_version": fv, "silver_version": sv, "features_frame": features_frame,
              "silver_frame": silver_frame}
    if library == SPARK_ML:
        # Read several times (count, split, fit, holdout): cached on the cluster until release().
        joined = joined.cache()
        train, holdout, rows = split_out_of_time_in_spark(joined, settings)
        return TrainingSet(**pinned, train_rows=rows - holdout_size(rows, settings),
                           holdout_rows=holdout_size(rows, settings), train_frame=train, holdout_frame=holdout,
                           cached=joined)
    frame = collect(joined, collect_limit(spark))
    if frame.empty:
        raise ValueError(EMPTY)
    train, holdout = split_out_of_time(frame, settings)
    return TrainingSet(**pinned, train_rows=len(train), holdout_rows=len(holdout), train=train, holdout=holdout)


EMPTY = "the training set is empty: run ingest, clean and features first"
# Bytes per value in the Arrow batches a collect builds; a string is taken as 32.
_WIDTHS = {"boolean": 1, "byte": 1, "short": 2, "integer": 4, "float": 4, "date": 4, "decimal": 16, "string": 32}


def collect(frame: DataFrame, limit_bytes: int | None) -> pd.DataFrame:
    """``frame`` as one pandas frame in the driver, refused in one line, before anything is
    collected, when its estimated size passes ``limit_bytes`` (None: no limit): past the driver's
    memory the JVM dies mid-collect instead (out of memory in the task that serialises the rows)."""
    if limit_bytes is None:
        return frame.toPandas()
    rows = frame.count()
    width = sum(_WIDTHS.get(field.dataType.typeName(), 8) for field in frame.schema.fields)
    if rows * width > limit_bytes:
        raise ValueError(
            f"the training set ({rows:,} rows, about {rows * width / 2**20:,.0f} MB in memory) is more than the "
            f"driver may collect for a scikit-learn model ({limit_bytes / 2**20:,.0f} MB, half of "
            "spark.driver.maxResultSize): fit a Spark ML pipeline instead (model.py), keep fewer batches "
            "(conf/training.yml: split.window_batches) or give the driver more memory (local.driver_memory)"
        )
    return frame.toPandas()


def collect_limit(spark: SparkSession) -> int | None:
    """Half of what one collect may bring into the driver (the serialised rows are built in a
    buffer that grows by doubling); None where the cluster sets no limit (0)."""
    from .runtime.session import size_in_bytes

    limit = size_in_bytes(spark.conf.get("spark.driver.maxResultSize", "1g"))
    return limit // 2 if limit > 0 else None


def holdout_size(rows: int, settings: Settings) -> int:
    """The holdout's rows: the newest ``holdout_fraction`` of the set, at least one."""
    return max(1, math.ceil(rows * settings.training_rules.holdout_fraction))


def split_out_of_time(frame: pd.DataFrame, settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The newest ``holdout_fraction`` of rows (by timestamp, then id) is the holdout."""
    ordered = frame.sort_values([settings.timestamp_column, settings.id_column], kind="mergesort")
    cut = len(ordered) - holdout_size(len(ordered), settings)
    return ordered.iloc[:cut].reset_index(drop=True), ordered.iloc[cut:].reset_index(drop=True)


def split_out_of_time_in_spark(frame: DataFrame, settings: Settings) -> tuple[DataFrame, DataFrame, int]:
    """:func:`split_out_of_time` without collecting: the holdout starts at the (timestamp, id) of
    its oldest row, found by one sort of the two keys. Returns (train, holdout, rows)."""
    from pyspark.sql import functions as F

    timestamp, key = settings.timestamp_column, settings.id_column
    rows = frame.count()
    if not rows:
        raise ValueError(EMPTY)
    # The timestamp travels as text, read back in the session's time zone: the same instant
    # whatever time zone this Python process is in.
    first = (frame.select(timestamp, key).orderBy(timestamp, key).offset(rows - holdout_size(rows, settings))
             .select(F.col(timestamp).cast("string").alias("at"), key).first())
    position = F.struct(F.col(timestamp).alias("at"), F.col(key).alias("key"))
    start = F.struct(F.lit(first["at"]).cast("timestamp").alias("at"), F.lit(first[key]).alias("key"))
    return frame.where(position < start), frame.where(position >= start), rows


def inputs(frame: pd.DataFrame) -> pd.DataFrame:
    """The model's input columns, in declared order."""
    return frame[list(features.FEATURE_COLUMNS)]


def predict(model: Any, frame: pd.DataFrame, settings: Settings) -> tuple[Any, Any]:
    """(prediction, probability of the positive class or None)."""
    x = inputs(frame)
    if settings.is_classification:
        score = model.predict_proba(x)[:, 1]
        return (score >= 0.5).astype(int), score
    return model.predict(x), None


def model_requirements(model: Any) -> list[str]:
    """The logged model's pip requirements, pinned to what is installed here: the distributions of
    every class inside the estimator (nested steps of a pipeline too), plus what loads it.

    Given explicitly because MLflow otherwise infers them by importing the model in a subprocess,
    which costs seconds per registration."""
    params = model.get_params(deep=True) if hasattr(model, "get_params") else {}
    modules = {type(part).__module__.split(".")[0] for part in (model, *params.values())}
    owners = _distributions_by_module()
    names = {name for module in modules for name in owners.get(module, [])} | {"cloudpickle", "numpy", "pandas"}
    return sorted(f"{name}=={metadata.version(name)}" for name in names)


@functools.cache
def _distributions_by_module() -> dict[str, list[str]]:
    """Top-level module -> installed distributions. Reading every installed package's metadata
    takes about 1.7 s, so a process that trains several times (the loop, the tests) reads it once."""
    return metadata.packages_distributions()


def git_commit(settings: Settings) -> str | None:
    """The commit the code was trained from, when the project is a git checkout."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=settings.root, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() if result.returncode == 0 else None
