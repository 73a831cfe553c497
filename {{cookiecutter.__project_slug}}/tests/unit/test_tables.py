"""The writers every stage relies on: a batch overwrite replaces exactly its batches and refuses a
row outside them, pending batches are the ones no later table holds, record rows keep their types
and nulls whichever route writes them, and the DDL runs again only when it is not current."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
from pyspark.sql import functions as F
from pyspark.sql import types as T

from {{ cookiecutter.__package_name }} import records, tables, warehouse

pytestmark = pytest.mark.spark


@pytest.fixture()
def table_name(spark):
    """A throw-away Delta table (batch_id, value), dropped after the test."""
    created = []

    def create() -> str:
        name = f"default.writers_{uuid.uuid4().hex[:8]}"
        spark.sql(f"CREATE TABLE {name} (batch_id STRING, value INT) USING DELTA")
        created.append(name)
        return name

    yield create
    for name in created:
        spark.sql(f"DROP TABLE IF EXISTS {name}")


def _rows(spark, table: str) -> list[tuple]:
    return sorted(tuple(r) for r in spark.table(table).collect())


def test_overwriting_batches_replaces_those_batches_only(spark, table_name):
    table = table_name()
    spark.sql(f"INSERT INTO {table} VALUES ('b1', 1), ('b1', 2), ('b2', 3)")
    written = tables.replace_batches(spark.createDataFrame([("b1", 10)], "batch_id string, value int"), table, ["b1"])
    assert _rows(spark, table) == [("b1", 10), ("b2", 3)]
    assert written == 1  # what the write counted, not the rows it replaced


def test_a_row_outside_the_batches_fails_the_write_and_changes_nothing(spark, table_name):
    table = table_name()
    spark.sql(f"INSERT INTO {table} VALUES ('b1', 1), ('b2', 3)")
    stray = spark.createDataFrame([("b1", 10), ("b2", 30)], "batch_id string, value int")
    with pytest.raises(Exception, match="DELTA_REPLACE_WHERE_MISMATCH"):
        tables.replace_batches(stray, table, ["b1"])
    assert _rows(spark, table) == [("b1", 1), ("b2", 3)]


def test_pending_batches_are_the_ones_no_later_table_holds(spark, table_name):
    source, done, failed = table_name(), table_name(), table_name()
    spark.sql(f"INSERT INTO {source} VALUES ('b3', 1), ('b1', 1), ('b2', 1), ('b1', 2), ('b4', 1)")
    spark.sql(f"INSERT INTO {done} VALUES ('b1', 1)")
    spark.sql(f"INSERT INTO {failed} VALUES ('b3', 1)")
    assert tables.pending_batches(spark, source, done, failed) == ["b2", "b4"]
    assert tables.pending_batches(spark, done, source) == []


def test_record_rows_built_in_the_driver_keep_types_and_nulls(spark):
    schema = T.StructType([
        T.StructField("name", T.StringType(), False),
        T.StructField("value", T.DoubleType(), True),
        T.StructField("passed", T.BooleanType(), True),
        T.StructField("bin", T.IntegerType(), False),
        T.StructField("at", T.TimestampType(), False),
    ])
    at = datetime(2026, 1, 2, 3, 4, 5)
    rows = [("a", 0.25, True, 1, at), ("b", None, None, 2, at), ("c", float("nan"), False, 3, at)]
    # Records hold naive UTC times: they stay UTC under a session in another time zone.
    zone = spark.conf.get("spark.sql.session.timeZone")
    spark.conf.set("spark.sql.session.timeZone", "America/Sao_Paulo")
    try:
        frame = tables.local_frame(spark, rows, schema)
    finally:
        spark.conf.set("spark.sql.session.timeZone", zone)
    assert frame.schema == schema
    shown = frame.orderBy("name").selectExpr("name", "value", "passed", "bin", "date_format(at, 'yyyy-MM-dd HH:mm:ss')")
    # A NaN metric is stored as null: a comparison with it would never be true or false in SQL.
    assert [tuple(r) for r in shown.collect()] == [
        ("a", 0.25, True, 1, "2026-01-02 03:04:05"), ("b", None, None, 2, "2026-01-02 03:04:05"),
        ("c", None, False, 3, "2026-01-02 03:04:05"),
    ]


def test_a_record_reads_the_same_whichever_route_wrote_it(spark, initialised):
    """Locally records go straight into the warehouse with delta-rs; on Databricks through Spark.
    Both routes must leave the same row in the table, and delta-rs must refuse what Spark refuses."""
    settings = initialised
    runs = {route: f"route-{route}-{uuid.uuid4().hex[:8]}" for route in ("local", "spark")}
    at = datetime(2026, 1, 2, 3, 4, 5)

    def metric(run_id: str, value: float | None, comparison: str | None = ">=") -> tuple:
        return (settings.model_name, "metrics", "1", "b9", "batch", "pass_rate", "", value, 0.9, comparison,
                None, None, None, run_id, at)

    rows = {route: [metric(run, 0.95), metric(run, float("nan"))] for route, run in runs.items()}
    warehouse.append(settings, "metrics_log", rows["local"], records.METRICS_SCHEMA.fieldNames())
    tables.append_with_spark(spark, settings.table("metrics_log"), rows["spark"], records.METRICS_SCHEMA)

    def read(run_id: str) -> list[tuple]:
        frame = spark.table(settings.table("metrics_log")).where(f"pipeline_run_id = '{run_id}'")
        shown = frame.drop("pipeline_run_id").withColumn("recorded_at", F.date_format("recorded_at", "yyyy-MM-dd HH:mm:ss"))
        return sorted((tuple(r) for r in shown.collect()), key=repr)

    assert read(runs["local"]) == read(runs["spark"])
    assert {r[7] for r in read(runs["local"])} == {0.95, None}  # NaN stored as null by both
    assert {r[-1] for r in read(runs["local"])} == {"2026-01-02 03:04:05"}  # naive times are UTC

    # A stage appends one row at a time: past a checkpoint (every 10 commits), Spark reads them all.
    one_by_one = f"route-many-{uuid.uuid4().hex[:8]}"
    for value in range(12):
        warehouse.append(settings, "metrics_log", [metric(one_by_one, value)], records.METRICS_SCHEMA.fieldNames())
    assert sorted(r[7] for r in read(one_by_one)) == list(range(12))

    refused = f"refused-{uuid.uuid4().hex[:8]}"
    with pytest.raises(Exception, match="metrics_comparison|validation"):  # the table's CHECK constraint
        warehouse.append(settings, "metrics_log", [metric(refused, 1.0, "bogus")], records.METRICS_SCHEMA.fieldNames())
    assert read(refused) == []
    with pytest.raises(RuntimeError, match="has no column no_such_column"):
        warehouse.append(settings, "metrics_log", [(1.0,)], ["no_such_column"])


def test_the_ddl_is_applied_again_only_when_it_changed_or_something_it_declares_is_missing(
        spark, initialised, monkeypatch):
    settings, declared = initialised, tables.ddl_statements(initialised)
    probe = f"CREATE OR REPLACE VIEW {settings.catalog}.{settings.schema}.ddl_probe AS SELECT 1 AS one"
    monkeypatch.setattr(tables, "_APPLIED", set())  # as a new command would
    assert tables.apply_ddl(spark, settings) == []  # current: no statement runs

    try:
        monkeypatch.setattr(tables, "ddl_statements", lambda _: [*declared, probe])  # sql/ edited
        constraints = sum(1 for statement in declared if tables._CONSTRAINT.match(statement))
        assert len(tables.apply_ddl(spark, settings)) == len(declared) + 1 - constraints  # constraints exist
        assert spark.catalog.tableExists(settings.table("ddl_probe"))

        spark.sql(f"DROP VIEW {settings.table('ddl_probe')}")  # dropped by hand: the next command restores it
        monkeypatch.setattr(tables, "_APPLIED", set())
        assert tables.apply_ddl(spark, settings)
        assert spark.catalog.tableExists(settings.table("ddl_probe"))
    finally:
        spark.sql(f"DROP VIEW IF EXISTS {settings.table('ddl_probe')}")
        monkeypatch.undo()
        monkeypatch.setattr(tables, "_APPLIED", set())
        tables.apply_ddl(spark, settings)
