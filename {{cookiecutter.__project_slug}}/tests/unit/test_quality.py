"""The schema contract of a batch and the cleaning expectations, on real Spark and on rows shaped
like the declared columns."""

import re

import pytest
from pyspark.sql import functions as F

from {{ cookiecutter.__package_name }} import cleaning, simulator, sources
from {{ cookiecutter.__package_name }}.quality import (
    FAILED_RULES, KEY_NEW, KEY_UNIQUE, BatchQuality, SchemaBreakError, conform, expectations, flag,
    flag_failures, summarize,
)
from {{ cookiecutter.__package_name }}.simulator import Scenario

pytestmark = pytest.mark.spark


def _sample(settings, rows=20):
    return simulator.generate(settings, 3, rows, Scenario(dirty_fraction=0))


def test_missing_and_mistyped_columns_are_all_named(spark, settings):
    declared = sources.declared_columns()
    first = next(iter(declared))
    typed = next((name for name, t in declared.items() if name != first and t.upper() != "STRING"), None)
    frame = spark.createDataFrame(_sample(settings)).drop(first)
    if typed:  # text, one value of which is no number or time at all
        frame = frame.withColumn(typed, F.when(F.monotonically_increasing_id() == 0, F.lit("n/a"))
                                 .otherwise(F.col(typed).cast("string")))
    with pytest.raises(SchemaBreakError) as error:
        conform(frame, sources.labelled_columns(settings), "batch b0042")
    message = str(error.value)
    assert message.startswith("schema break in batch b0042: ") and f"column '{first}' is missing" in message
    if typed:
        expected = declared[typed].lower()
        assert f"column '{typed}' is string, expected {expected}: 1 value(s) cannot be read as {expected}, e.g. 'n/a'" in message
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
    [quality] = summarize(flagged, rules)
    assert (quality.rows, quality.passed) == (len(sample), 5)
    assert sum(quality.rule_failures.values()) >= len(breakable)


def test_the_summary_counts_rows_passes_and_each_rule_per_batch(spark):
    flagged = spark.createDataFrame([("b1", []), ("b1", ["r1"]), ("b1", ["r1", "r2"]), ("b2", ["r2"])],
                                    f"batch_id string, {FAILED_RULES} array<string>")
    assert summarize(flagged, ["r1", "r2", "r3"]) == [
        BatchQuality("b1", 3, 1, {"r1": 2, "r2": 1}), BatchQuality("b2", 1, 0, {"r2": 1})]


def test_a_rule_named_like_one_of_the_pipeline_is_refused(settings, monkeypatch):
    for name in (KEY_UNIQUE, KEY_NEW):
        monkeypatch.setattr(cleaning, "expectations", lambda settings, labelled=True, name=name: {name: "true"})
        with pytest.raises(ValueError, match=f"cleaning.py names a rule '{re.escape(name)}'"):
            expectations(settings)


def _keyed(spark, settings, sample, batch):
    frame = conform(spark.createDataFrame(sample), sources.labelled_columns(settings), batch)
    return frame.withColumn("batch_id", F.lit(batch))


def _failed(flagged, settings):
    return {(r["batch_id"], r[settings.id_column]): r[FAILED_RULES] for r in flagged.collect() if r[FAILED_RULES]}


def test_rows_repeating_a_key_within_a_batch_are_all_quarantined(spark, settings):
    sample = _sample(settings, rows=6)
    keys = [settings.id_column, settings.timestamp_column]
    sample.loc[1, keys] = sample.loc[0, keys].values
    flagged = flag(_keyed(spark, settings, sample, "b1"), settings, None)
    assert _failed(flagged, settings) == {("b1", sample.loc[0, settings.id_column]): [KEY_UNIQUE]}
    [quality] = summarize(flagged, expectations(settings))
    assert (quality.rows, quality.passed, quality.rule_failures) == (6, 4, {KEY_UNIQUE: 2})


def test_a_key_an_earlier_batch_brought_is_quarantined_in_the_later_batch_only(spark, settings):
    first, second = _sample(settings, rows=5), simulator.generate(settings, 4, 5, Scenario(dirty_fraction=0))
    keys = [settings.id_column, settings.timestamp_column]
    second.loc[0, keys] = first.loc[0, keys].values  # resent in b2
    second.loc[1, keys] = first.loc[1, keys].values
    both = _keyed(spark, settings, first, "b1").unionByName(_keyed(spark, settings, second, "b2"))
    # Checked together (two pending batches): the earlier batch keeps the key.
    repeated = {("b2", first.loc[i, settings.id_column]): [KEY_NEW] for i in (0, 1)}
    assert _failed(flag(both, settings, None), settings) == repeated
    # Checked against a table of batches already taken: any key it holds is taken.
    taken = _keyed(spark, settings, first, "b1")
    assert _failed(flag(_keyed(spark, settings, second, "b2"), settings, taken), settings) == repeated
    # The pipeline's own columns are gone once checked.
    assert flag(taken, settings, None).columns == [*taken.columns, FAILED_RULES]


def test_text_where_a_time_is_declared_is_read_when_every_value_reads(spark, settings):
    frame = spark.createDataFrame(_sample(settings)).withColumn(
        settings.timestamp_column, F.date_format(settings.timestamp_column, "yyyy-MM-dd HH:mm:ss"))
    conformed = conform(frame, sources.labelled_columns(settings), "batch x")
    assert dict(conformed.dtypes)[settings.timestamp_column] == "timestamp"
    broken = frame.withColumn(settings.timestamp_column, F.when(F.monotonically_increasing_id() == 3, F.lit("yesterday"))
                              .otherwise(F.col(settings.timestamp_column)))
    with pytest.raises(SchemaBreakError) as error:
        conform(broken, sources.labelled_columns(settings), "batch x")
    assert str(error.value) == (f"schema break in batch x: column '{settings.timestamp_column}' is string, expected "
                                "timestamp: 1 value(s) cannot be read as timestamp, e.g. 'yesterday'")


def test_a_column_with_no_value_at_all_is_a_schema_break_unless_the_batch_is_empty(spark, settings):
    column, declared = next(iter(sources.declared_columns().items()))
    frame = spark.createDataFrame(_sample(settings)).withColumn(column, F.lit(None).cast(declared))
    with pytest.raises(SchemaBreakError) as error:
        conform(frame, sources.labelled_columns(settings), "batch x")
    assert str(error.value) == (f"schema break in batch x: column '{column}' holds no value at all "
                                "(an empty or all-NULL column)")
    assert conform(frame.limit(0), sources.labelled_columns(settings), "batch x").count() == 0
