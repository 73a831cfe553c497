"""The schema contract of a batch and the cleaning expectations, on real Spark and on rows shaped
like the declared columns."""

import pytest
from pyspark.sql import functions as F

from credit_default import cleaning, simulator, sources
from credit_default.quality import (
    FAILED_RULES, KEY_UNIQUE, SchemaBreakError, conform, expectations, flag_failures, summarize,
)
from credit_default.simulator import Scenario

pytestmark = pytest.mark.spark


def _sample(settings, rows=20):
    return simulator.generate(settings, 3, rows, Scenario(dirty_fraction=0))


def test_missing_and_mistyped_columns_are_all_named(spark, settings):
    declared = sources.declared_columns()
    first = next(iter(declared))
    typed = next((name for name, t in declared.items() if name != first and t.upper() != "STRING"), None)
    frame = spark.createDataFrame(_sample(settings)).drop(first)
    if typed:
        frame = frame.withColumn(typed, F.col(typed).cast("string"))
    with pytest.raises(SchemaBreakError) as error:
        conform(frame, sources.labelled_columns(settings), "batch b0042")
    message = str(error.value)
    assert message.startswith("schema break in batch b0042: ") and f"column '{first}' is missing" in message
    if typed:
        assert f"column '{typed}' is string, expected {declared[typed].lower()}" in message
    assert "\n" not in message


def test_narrower_types_are_widened_not_refused(spark, settings):
    frame = spark.createDataFrame(_sample(settings)).withColumn(settings.id_column, F.lit(42).cast("bigint"))
    conformed = conform(frame, sources.labelled_columns(settings), "batch x")
    assert conformed.columns == list(sources.labelled_columns(settings))
    assert dict(conformed.dtypes)[settings.id_column] == "string"  # an integer id is read as its text
    assert {r[0] for r in conformed.select(settings.id_column).collect()} == {"42"}


def test_expectations_quarantine_each_bad_row_with_its_rules(spark, settings):
    rules = cleaning.expectations(settings)
    breakable = simulator.breakable_columns(settings)
    sample = _sample(settings, rows=len(breakable) + 5)
    for row, column in enumerate(breakable):
        sample.loc[row, column] = None
    frame = cleaning.standardize(conform(spark.createDataFrame(sample), sources.labelled_columns(settings), "b1"))
    flagged = flag_failures(frame.withColumn("batch_id", F.lit("b1")), rules)
    failed = {r[settings.id_column]: r[FAILED_RULES] for r in flagged.collect()}
    for row, column in enumerate(breakable):
        names = failed[sample.loc[row, settings.id_column]]
        assert names and all(column in rules[name] for name in names), (column, names)
    assert all(not failed[i] for i in sample[settings.id_column][len(breakable):])
    [quality] = summarize(flagged)
    assert (quality.rows, quality.passed) == (len(sample), 5)
    assert sum(quality.rule_failures.values()) >= len(breakable)


def test_rows_repeating_a_key_within_a_batch_are_all_quarantined(spark, settings):
    sample = _sample(settings, rows=6)
    sample.loc[1, [settings.id_column, settings.timestamp_column]] = sample.loc[0, [settings.id_column,
                                                                                  settings.timestamp_column]].values
    frame = conform(spark.createDataFrame(sample), sources.labelled_columns(settings), "b1")
    flagged = flag_failures(frame.withColumn("batch_id", F.lit("b1")), expectations(settings))
    failed = {r[settings.id_column]: r[FAILED_RULES] for r in flagged.collect() if r[FAILED_RULES]}
    assert failed == {sample.loc[0, settings.id_column]: [KEY_UNIQUE]}
    [quality] = summarize(flagged)
    assert (quality.rows, quality.passed, quality.rule_failures) == (6, 4, {KEY_UNIQUE: 2})
