"""The schema contract of a batch and the cleaning expectations, on real Spark."""

from datetime import datetime

import pytest
from pyspark.sql import functions as F

from credit_default import cleaning, data_source
from credit_default.quality import FAILED_RULES, SchemaBreakError, conform, flag_failures, summarize

pytestmark = pytest.mark.spark


def _row(settings, **changes):
    row = {
        settings.id_column: "c1", settings.timestamp_column: datetime(2026, 3, 1), "age": 40, "income": 5000.0,
        "debt_ratio": 0.3, "credit_lines": 3, "late_payments_12m": 0, "utilization": 0.4,
        "employment_years": 5.0, "region": "SE", "product": "card",
        settings.target_column: 0 if settings.is_classification else 0.0,
    }
    row.update(changes)
    return row


def _frame(spark, settings, rows):
    schema = ", ".join(f"{k} {v}" for k, v in data_source.labelled_columns(settings).items())
    return spark.createDataFrame([tuple(r.values()) for r in rows], schema)


def test_missing_and_mistyped_columns_are_all_named(spark, settings):
    frame = _frame(spark, settings, [_row(settings)]).drop("income").withColumn("age", F.col("age").cast("string"))
    with pytest.raises(SchemaBreakError) as error:
        conform(frame, data_source.labelled_columns(settings), "batch b0042")
    message = str(error.value)
    assert "batch b0042" in message and "'income' is missing" in message and "'age' is string, expected int" in message
    assert "\n" not in message


def test_narrower_numbers_are_widened_not_refused(spark, settings):
    frame = _frame(spark, settings, [_row(settings)]).withColumn("income", F.lit(5000))
    conformed = conform(frame, data_source.labelled_columns(settings), "batch x")
    assert dict(conformed.dtypes)["income"] == "double"
    assert conformed.columns == list(data_source.labelled_columns(settings))


def test_expectations_quarantine_each_bad_row_with_its_rules(spark, settings):
    rows = [
        _row(settings),
        _row(settings, **{settings.id_column: "c2", "age": None}),
        _row(settings, **{settings.id_column: "c3", "income": -10.0, "region": "??"}),
        _row(settings, **{settings.id_column: "c4", "region": " se "}),
    ]
    frame = cleaning.standardize(_frame(spark, settings, rows).withColumn("batch_id", F.lit("b1")))
    flagged = {r[settings.id_column]: sorted(r[FAILED_RULES]) for r in flag_failures(frame, cleaning.expectations(settings)).collect()}
    assert flagged == {"c1": [], "c2": ["age_in_range"], "c3": ["income_positive", "region_known"], "c4": []}
    [quality] = summarize(flag_failures(frame, cleaning.expectations(settings)))
    assert (quality.rows, quality.passed) == (4, 2)
    assert quality.rule_failures == {"age_in_range": 1, "income_positive": 1, "region_known": 1}
