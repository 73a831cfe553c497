"""The rows the loop writes about itself: ``pipeline_runs_log`` (one per stage of every run) and
``metrics_log`` (every measured number). Both are appended to, one commit per stage each; the
views ``pipeline_runs`` and ``metrics`` keep the newest row per natural key, so a rerun replaces
what people read without rewriting anything."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from pyspark.sql import types as T

from . import tables

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from .settings import Settings

PIPELINE_RUNS_SCHEMA = T.StructType(
    [
        T.StructField("pipeline_run_id", T.StringType(), False),
        T.StructField("pipeline", T.StringType(), False),
        T.StructField("stage", T.StringType(), False),
        T.StructField("model_name", T.StringType(), False),
        T.StructField("env", T.StringType(), False),
        T.StructField("status", T.StringType(), False),
        T.StructField("started_at", T.TimestampType(), False),
        T.StructField("ended_at", T.TimestampType(), True),
        T.StructField("duration_s", T.DoubleType(), True),
        T.StructField("trigger_time", T.StringType(), True),
        T.StructField("output", T.StringType(), True),
        T.StructField("error", T.StringType(), True),
        T.StructField("mlflow_run_id", T.StringType(), True),
    ]
)
METRICS_SCHEMA = T.StructType(
    [
        T.StructField("model_name", T.StringType(), False),
        T.StructField("stage", T.StringType(), False),
        T.StructField("model_version", T.StringType(), False),
        T.StructField("batch_id", T.StringType(), False),
        T.StructField("dataset", T.StringType(), False),
        T.StructField("metric_name", T.StringType(), False),
        T.StructField("feature", T.StringType(), False),
        T.StructField("metric_value", T.DoubleType(), True),
        T.StructField("threshold", T.DoubleType(), True),
        T.StructField("comparison", T.StringType(), True),
        T.StructField("passed", T.BooleanType(), True),
        T.StructField("details", T.StringType(), True),
        T.StructField("data_version", T.StringType(), True),
        T.StructField("pipeline_run_id", T.StringType(), False),
        T.StructField("recorded_at", T.TimestampType(), False),
    ]
)


def now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def one_line(error: BaseException) -> str:
    """The error as a single line: what a person reads in the table or the console. A Spark Connect
    error carries the JVM's stack trace after its message: left out (the engine's log has it)."""
    text = str(error).split("JVM stacktrace:", 1)[0]
    return (" ".join(text.split()) or error.__class__.__name__)[:2000]


@dataclass
class Metric:
    """One row of the metrics table; the natural key is filled in by :func:`write_metrics`."""

    metric_name: str
    metric_value: float | None
    dataset: str
    model_version: str = ""
    batch_id: str = ""
    feature: str = ""
    threshold: float | None = None
    comparison: str | None = None
    passed: bool | None = None
    details: str | None = None
    data_version: str | None = None


def write_metrics(
    spark: SparkSession, settings: Settings, stage: str, pipeline_run_id: str, metrics: list[Metric]
) -> None:
    recorded = now()
    rows = [
        (
            settings.model_name, stage, m.model_version, m.batch_id, m.dataset, m.metric_name, m.feature,
            None if m.metric_value is None else float(m.metric_value),
            None if m.threshold is None else float(m.threshold),
            m.comparison, m.passed, m.details, m.data_version, pipeline_run_id, recorded,
        )
        for m in metrics
    ]
    tables.append_rows(spark, settings, "metrics_log", rows, METRICS_SCHEMA)


@dataclass
class StageRecord:
    """What a stage hands back to be recorded with its run."""

    output: dict[str, Any] = field(default_factory=dict)
    mlflow_run_id: str | None = None


@contextmanager
def recorded_stage(
    spark: SparkSession,
    settings: Settings,
    *,
    pipeline: str,
    stage: str,
    pipeline_run_id: str,
    trigger_time: str = "",
) -> Iterator[StageRecord]:
    """Append the stage's row when it ends: ``succeeded`` with its output, or ``failed`` with the
    error (re-raised, so the notebook and the orchestrator fail visibly). One commit per stage: a
    stage in progress shows in the orchestrator's monitoring, not here."""
    started_at, clock = now(), time.monotonic()
    record = StageRecord()

    def write(status: str, error: str | None = None) -> None:
        row = (
            pipeline_run_id, pipeline, stage, settings.model_name, settings.env, status, started_at, now(),
            round(time.monotonic() - clock, 3), trigger_time or None,
            json.dumps(record.output, default=str) if record.output else None, error, record.mlflow_run_id,
        )
        tables.append_rows(spark, settings, "pipeline_runs_log", [row], PIPELINE_RUNS_SCHEMA)

    try:
        yield record
    except BaseException as error:
        write("failed", one_line(error))
        raise
    write("succeeded")
