"""EDIT ME (1 of 4) — where the model's data comes from (Coleta).

The default source is the project's sample-data simulator: it drops batches of rows into a
landing folder (``conf/project.yml`` → ``landing_path``: ``.local/landing`` locally, a Unity
Catalog volume on Databricks) and, later, their labels. That is what lets a fresh project run
its whole loop with no edit. To use real data, keep the three functions' contracts and replace
their bodies, e.g. ``spark.read.table("main.crm.applications").where(...)`` or a JDBC query.

Contract
- ``SOURCE_COLUMNS``: the columns (name → Spark SQL type) every batch must have. ingest checks
  each batch against it and stops with a clear error on a schema break, before anything is
  written: a broken batch never reaches training.
- ``list_batches`` → the batch ids available, oldest first.
- ``read_batch`` → the rows of one batch (no label); what the execution pipeline scores.
- ``read_labels`` → the labels of one batch (id, timestamp, target), or None while they have
  not arrived: labels come later than the rows they label.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from .settings import Settings

# The model's raw inputs besides the id and timestamp columns (named in conf/project.yml).
SOURCE_COLUMNS: dict[str, str] = {
    "age": "INT",
    "income": "DOUBLE",
    "debt_ratio": "DOUBLE",
    "credit_lines": "INT",
    "late_payments_12m": "INT",
    "utilization": "DOUBLE",
    "employment_years": "DOUBLE",
    "region": "STRING",
    "product": "STRING",
}


def source_columns(settings: Settings) -> dict[str, str]:
    """Every column of a batch: id, timestamp and ``SOURCE_COLUMNS``."""
    return {settings.id_column: "STRING", settings.timestamp_column: "TIMESTAMP", **SOURCE_COLUMNS}


def target_type(settings: Settings) -> str:
    return "INT" if settings.is_classification else "DOUBLE"


def labelled_columns(settings: Settings) -> dict[str, str]:
    """A batch joined with its labels: what bronze and silver hold."""
    return {**source_columns(settings), settings.target_column: target_type(settings)}


def _landing(settings: Settings) -> Path:
    return Path(settings.landing_path)


def list_batches(spark: SparkSession, settings: Settings) -> list[str]:
    folder = _landing(settings) / "batches"
    return sorted(path.stem for path in folder.glob("*.parquet")) if folder.is_dir() else []


def read_batch(spark: SparkSession, settings: Settings, batch_id: str) -> DataFrame:
    return spark.read.parquet(str(_landing(settings) / "batches" / f"{batch_id}.parquet"))


def read_labels(spark: SparkSession, settings: Settings, batch_id: str) -> DataFrame | None:
    path = _landing(settings) / "labels" / f"{batch_id}.parquet"
    return spark.read.parquet(str(path)) if path.is_file() else None
