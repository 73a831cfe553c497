"""EDIT ME (1 of 4) — where the model's data comes from (Coleta).

A fresh project reads a landing folder (conf/project.yml → ``landing_path``: ``.local/landing``
locally, a Unity Catalog volume on Databricks) that the sample-data simulator fills: ``init``
lands a labelled history there, ``loop`` new batches and, later, their labels. The layout
(``landing.py``): one file per batch, CSV, Parquet or JSON, named after the batch.

To use your own data:
- files: drop them into that layout, declare their columns below and delete ``SAMPLE_DATA``;
- anything else (a table, a JDBC query): also replace the three functions' bodies, e.g.
  ``spark.read.table("main.crm.applications").where(F.col("batch") == batch_id)``.

The project's tests keep running on sample data shaped like ``SOURCE_COLUMNS`` (and valid under
``cleaning.py``); ``tests/unit/test_data_source.py`` checks your source against this contract as
soon as it has a batch to read.

Contract
- ``SOURCE_COLUMNS``: the columns (name → Spark SQL type) every batch has besides the id and
  timestamp columns named in conf/project.yml (the id is always read as a STRING). ingest checks
  each batch against them and stops with a clear error on a schema break, before anything is
  written: a broken batch never reaches training.
- ``list_batches`` → the batch ids available, oldest first.
- ``read_batch`` → the rows of one batch (no label); what the execution pipeline scores.
- ``read_labels`` → the labels of one batch (id, timestamp, target), or None while they have
  not arrived: labels come later than the rows they label.
- ``SAMPLE_DATA = True``: the simulator's sample batches are the data (``init`` writes them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import landing

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from .settings import Settings

# Delete once your own data lands: `init` then writes no sample data.
SAMPLE_DATA = True

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


def list_batches(spark: SparkSession, settings: Settings) -> list[str]:
    return landing.list_batches(spark, settings)


def read_batch(spark: SparkSession, settings: Settings, batch_id: str) -> DataFrame:
    return landing.read_batch(spark, settings, batch_id)


def read_labels(spark: SparkSession, settings: Settings, batch_id: str) -> DataFrame | None:
    return landing.read_labels(spark, settings, batch_id)
