"""EDIT ME (1 of 4) — where the model's data comes from (Coleta).
{% if cookiecutter.data_source == "simulator" %}
A fresh project reads a landing folder (conf/project.yml → ``landing_path``: ``.local/landing``
locally, a Unity Catalog volume on Databricks) that the sample-data simulator fills: ``init``
lands a labelled history there, ``loop`` new batches and, later, their labels. The layout
(``landing.py``): one file per batch, CSV, Parquet or JSON, named after the batch.

To use your own data:
- files: drop them into that layout, declare their columns below and delete ``SAMPLE_DATA``;
- anything else (a table, a JDBC query): also replace the three functions' bodies, e.g.
  ``spark.read.table("main.crm.applications").where(F.col("batch") == batch_id)``.
{%- elif cookiecutter.data_source == "files" %}
Batches arrive as files in a landing folder (conf/project.yml → ``landing_path``: ``.local/landing``
locally, a Unity Catalog volume on Databricks), read as ``landing.py`` describes: one CSV (with a
header row), Parquet or JSON-lines file per batch in ``batches/``, named after the batch, in time
order (``2026-03.csv``); the target column in the same file, or the labels later in ``labels/``
under the same name. Declare the files' columns below.
{%- else %}
Batches are the rows of a table: ``SOURCE_TABLE`` (in this environment's catalog and schema, or
a full Unity Catalog name; locally a table of the project's metastore), one batch per value of
``BATCH_COLUMN`` (a load date, a month),
taken in that column's order. The target column is in the same table and stays NULL until the
label is known: a batch's labels have arrived once one of its rows has a target. Declare the
table's columns below, and set the two names.
{%- endif %}

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
{%- if cookiecutter.data_source == "simulator" %}
- ``SAMPLE_DATA = True``: the simulator's sample batches are the data (``init`` writes them).
{%- endif %}
"""

from __future__ import annotations

from typing import TYPE_CHECKING
{% if cookiecutter.data_source == "table" %}
from pyspark.sql import functions as F
{% else %}
from . import landing
{% endif %}
if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from .settings import Settings
{% if cookiecutter.data_source == "simulator" %}
# Delete once your own data lands: `init` then writes no sample data.
SAMPLE_DATA = True
{% elif cookiecutter.data_source == "table" %}
# The table the rows come from: a name in this environment's catalog and schema (conf/project.yml),
# or a full catalog.schema.table name, used as it is. And its column naming each row's batch.
SOURCE_TABLE = "source_rows"
BATCH_COLUMN = "batch"
{% endif %}
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
{% if cookiecutter.data_source == "table" %}

def _table(settings: Settings) -> str:
    return SOURCE_TABLE if SOURCE_TABLE.count(".") == 2 else settings.table(SOURCE_TABLE)


def _rows(spark: SparkSession, settings: Settings, batch_id: str) -> DataFrame:
    return spark.table(_table(settings)).where(F.col(BATCH_COLUMN).cast("string") == batch_id)


def list_batches(spark: SparkSession, settings: Settings) -> list[str]:
    batches = spark.table(_table(settings)).select(F.col(BATCH_COLUMN).cast("string").alias("batch")).distinct()
    return [row["batch"] for row in batches.orderBy("batch").collect()]


def read_batch(spark: SparkSession, settings: Settings, batch_id: str) -> DataFrame:
    return _rows(spark, settings, batch_id).drop(BATCH_COLUMN, settings.target_column)


def read_labels(spark: SparkSession, settings: Settings, batch_id: str) -> DataFrame | None:
    target = settings.target_column
    labelled = _rows(spark, settings, batch_id).where(F.col(target).isNotNull())
    if labelled.isEmpty():
        return None
    return labelled.select(settings.id_column, settings.timestamp_column, target)
{% else %}

def list_batches(spark: SparkSession, settings: Settings) -> list[str]:
    return landing.list_batches(spark, settings)


def read_batch(spark: SparkSession, settings: Settings, batch_id: str) -> DataFrame:
    return landing.read_batch(spark, settings, batch_id)


def read_labels(spark: SparkSession, settings: Settings, batch_id: str) -> DataFrame | None:
    return landing.read_labels(spark, settings, batch_id)
{% endif -%}
