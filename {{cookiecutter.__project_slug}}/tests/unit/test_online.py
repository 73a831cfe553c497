"""Online requests become batches of the execution pipeline: a day is one batch, judged once it is
over; on Databricks the endpoint's inference table (AI Gateway payload logging) is read back into
inference_log rows, whichever request format the client used, with the version that answered."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest
from pyspark.sql import types as T

from {{ cookiecutter.__package_name }} import features, inference, online
from {{ cookiecutter.__package_name }}.runtime import serving
from {{ cookiecutter.__package_name }}.settings import load_settings

# The AI Gateway inference table's columns, as Databricks documents them.
PAYLOAD = T.StructType([
    T.StructField("request_date", T.DateType()), T.StructField("databricks_request_id", T.StringType()),
    T.StructField("client_request_id", T.StringType()), T.StructField("request_time", T.TimestampType()),
    T.StructField("status_code", T.IntegerType()), T.StructField("sampling_fraction", T.DoubleType()),
    T.StructField("execution_duration_ms", T.LongType()), T.StructField("request", T.StringType()),
    T.StructField("response", T.StringType()), T.StructField("served_entity_id", T.StringType()),
    T.StructField("logging_error_codes", T.ArrayType(T.StringType())), T.StructField("requester", T.StringType()),
])


def _value(sql_type: str, n: int):
    """A request's value for a feature of ``sql_type`` (the example's or any project's columns)."""
    kind = sql_type.upper()
    if kind.startswith(("INT", "BIGINT", "SMALLINT", "TINYINT")):
        return n
    if kind.startswith(inference.NUMERIC_TYPES):
        return n + 0.5
    return f"v{n}" if kind == "STRING" else None


def test_a_day_is_a_batch_judged_once_it_is_over():
    today = datetime.now(timezone.utc).date()
    assert inference.online_batch(date(2026, 12, 3)) == "online-2026-12-03"
    assert inference.is_online("online-2026-12-03") and not inference.is_online("batch-0001")
    assert online.finished(inference.online_batch(today - timedelta(days=1)))
    assert not online.finished(inference.online_batch(today))


def test_the_endpoint_logs_requests_into_the_environments_schema():
    prod = load_settings("prod")
    gateway = serving.ai_gateway_config(prod)["inference_table_config"]
    assert gateway["enabled"] and (gateway["catalog_name"], gateway["schema_name"]) == (prod.catalog, prod.schema)
    assert serving.payload_table(prod) == prod.table(f"{gateway['table_name_prefix']}_payload")


@pytest.mark.spark
def test_the_endpoints_inference_table_becomes_inference_log_rows(spark, settings):
    id_, stamp = settings.id_column, settings.timestamp_column
    names = list(features.FEATURE_COLUMNS)
    first = {id_: "a1", stamp: "2026-12-01T10:00:00Z", **{n: _value(t, 1) for n, t in features.FEATURE_COLUMNS.items()}}
    second = {id_: "a2", **{n: _value(t, 2) for n, t in features.FEATURE_COLUMNS.items()}}  # no time: the request's
    third = {id_: "a3", **{n: _value(t, 3) for n, t in features.FEATURE_COLUMNS.items()}}
    columns = list(reversed([id_, *names]))  # dataframe_split names its columns: any order
    split = {"dataframe_split": {"columns": columns, "data": [[third[c] for c in columns]]}}
    if settings.is_classification:
        answers, expected = [[[0.8, 0.2], [0.3, 0.7]], [[0.1, 0.9]]], [(0.0, 0.2), (1.0, 0.7), (1.0, 0.9)]
    else:
        answers, expected = [[10.0, 20.0], [30.0]], [(10.0, None), (20.0, None), (30.0, None)]
    at = [datetime(2026, 12, 1, 10, 0, 5), datetime(2026, 12, 2, 9, 0), datetime(2026, 12, 2, 9, 1)]
    payload = spark.createDataFrame([
        (date(2026, 12, 1), "r1", None, at[0], 200, 1.0, 12, json.dumps({"dataframe_records": [first, second]}),
         json.dumps({"predictions": answers[0]}), "entity-3", [], "someone"),
        (date(2026, 12, 2), "r2", None, at[1], 200, 1.0, 9, json.dumps(split),
         json.dumps({"predictions": answers[1]}), "entity-4", [], "someone"),
        # Refused by the endpoint (a missing column): nothing was scored, nothing is logged.
        (date(2026, 12, 2), "r3", None, at[2], 400, 1.0, 2, json.dumps({"dataframe_records": [{id_: "a4"}]}),
         json.dumps({"error_code": "BAD_REQUEST"}), "entity-4", [], "someone"),
    ], PAYLOAD)
    entities = spark.createDataFrame([("entity-3", "3"), ("entity-4", "4")], "served_entity_id string, entity_version string")

    rows = online.payload_rows(payload, entities, settings, "credit-endpoint")

    assert rows.columns == inference.log_columns(settings)
    got = sorted(rows.collect(), key=lambda r: r[id_])
    assert [r[id_] for r in got] == ["a1", "a2", "a3"]
    assert [r["batch_id"] for r in got] == ["online-2026-12-01", "online-2026-12-01", "online-2026-12-02"]
    assert [r["model_version"] for r in got] == ["3", "3", "4"]
    assert [(r["prediction"], r["probability"]) for r in got] == expected
    # The time a row carries, else when its request arrived (Spark's session time zone is UTC).
    assert [r[stamp] for r in got] == [datetime(2026, 12, 1, 10, 0), at[0], at[1]]
    assert {r["pipeline_run_id"] for r in got} == {"endpoint-credit-endpoint"}
    for row, sent in zip(got, (first, second, third)):
        assert {n: row[n] for n in names} == {n: sent[n] for n in names}
