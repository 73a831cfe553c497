"""The sample-data simulator follows the project's declarations, whatever the data: its batches
have the declared columns and pass cleaning.py, they are reproducible, and its knobs (drift,
dirty rows, a schema break) do what they say."""

import numpy as np
import pytest
from pyspark.sql import functions as F

from {{ cookiecutter.__package_name }} import cleaning, landing, simulator, sources
from {{ cookiecutter.__package_name }}.quality import conform, flag_failures, summarize
from {{ cookiecutter.__package_name }}.settings import load_settings
from {{ cookiecutter.__package_name }}.simulator import Scenario, domain


@pytest.fixture()
def isolated(tmp_path, monkeypatch):
    """Settings whose landing folder is a fresh one of this test."""
    monkeypatch.setenv("MLOPS_LOCAL_DIR", str(tmp_path))
    return load_settings("local")


def test_same_seed_same_batch(settings):
    a = simulator.generate(settings, 3, 500)
    assert a.equals(simulator.generate(settings, 3, 500))
    assert not a.equals(simulator.generate(settings, 4, 500))


@pytest.mark.spark
def test_a_landed_batch_reads_back_with_the_declared_columns(spark, isolated):
    simulator.write_batch(isolated, 1, simulator.generate(isolated, 1, 300))
    rows = landing.read_batch(spark, isolated, "b0001")
    labels = landing.read_labels(spark, isolated, "b0001")
    keys = [isolated.id_column, isolated.timestamp_column]
    joined = conform(rows.join(labels, keys), sources.labelled_columns(isolated), "batch b0001")
    assert joined.count() == 300


@pytest.mark.spark
def test_clean_rows_pass_every_expectation(spark, settings):
    """If this fails, the simulator cannot read a rule of cleaning.py: write it in one of the forms
    listed in simulator.py (BETWEEN, comparisons and IN with literals), or give the column a
    domain through such a rule."""
    frame = spark.createDataFrame(simulator.generate(settings, 5, 3000, Scenario(dirty_fraction=0)))
    rows = cleaning.standardize(conform(frame, sources.labelled_columns(settings), "sample batch"))
    rules = cleaning.expectations(settings)
    [quality] = summarize(flag_failures(rows.withColumn("batch_id", F.lit("b0005")), rules), rules)
    assert quality.rule_failures == {}, f"sample rows failing cleaning.py: {quality.rule_failures}"


@pytest.mark.spark
def test_dirty_fraction_breaks_that_share_of_rows(spark, settings):
    if not simulator.breakable_columns(settings):
        pytest.skip("no expectation of cleaning.py checks a source column: the simulator has no way to break a row")
    frame = spark.createDataFrame(simulator.generate(settings, 2, 5000, Scenario(dirty_fraction=0.05)))
    rows = cleaning.standardize(conform(frame, sources.labelled_columns(settings), "sample batch"))
    rules = cleaning.expectations(settings)
    [quality] = summarize(flag_failures(rows.withColumn("batch_id", F.lit("b0002")), rules), rules)
    assert 0.02 < 1 - quality.pass_rate < 0.08


def test_covariate_drift_moves_every_input(settings):
    healthy = simulator.generate(settings, 1, 4000, Scenario(dirty_fraction=0))
    drifted = simulator.generate(settings, 1, 4000, Scenario(covariate_drift=1.0, dirty_fraction=0))
    for column in simulator.domains(settings):
        before, after = healthy[column.name], drifted[column.name]
        if column.is_range:
            assert after.astype(float).mean() > before.astype(float).mean() + 0.1 * (column.high - column.low), column
        elif len(column.choices) > 1:
            shares = before.value_counts(normalize=True).sub(after.value_counts(normalize=True), fill_value=0)
            assert shares.abs().sum() / 2 > 0.1, column


def test_concept_drift_changes_the_target_not_the_inputs(settings):
    healthy = simulator.generate(settings, 1, 4000, Scenario(dirty_fraction=0))
    changed = simulator.generate(settings, 1, 4000, Scenario(concept_drift=1.0, dirty_fraction=0))
    target = settings.target_column
    assert healthy.drop(columns=target).equals(changed.drop(columns=target))
    if settings.is_classification:
        assert (healthy[target] != changed[target]).mean() > 0.1
    else:
        assert np.corrcoef(healthy[target], changed[target])[0, 1] < 0.8


def test_the_target_is_learnable_and_on_the_gates_scale(settings):
    target = simulator.generate(settings, 1, 4000, Scenario(dirty_fraction=0))[settings.target_column]
    gate = settings.training_rules.gate
    if settings.is_classification:
        assert set(target.unique()) == {0, 1} and 0.1 < target.mean() < 0.6
    elif gate.primary_metric in ("rmse", "mae"):
        # The error ceiling is a fraction of the target's spread: a model must learn to pass it.
        assert gate.threshold < target.std() < 3 * gate.threshold


def test_schema_break_renames_the_first_declared_column(settings):
    first = next(iter(sources.declared_columns()))
    frame = simulator.generate(settings, 1, 50, Scenario(schema_break=True))
    assert first not in frame.columns and f"{first}_renamed" in frame.columns


def test_labels_arrive_separately(isolated):
    simulator.write_batch(isolated, 7, simulator.generate(isolated, 7, 50), labels=False)
    folder = isolated.local_dir / "landing"
    assert (folder / "batches" / "b0007.parquet").is_file()
    assert not (folder / "labels" / "b0007.parquet").exists()
    assert landing.list_batches(None, isolated) == ["b0007"]
    assert landing.read_labels(None, isolated, "b0007") is None


@pytest.mark.parametrize(("sql_type", "conditions", "expected"), [
    ("INT", ["hr BETWEEN 0 AND 23"], (0, 23, ())),
    ("INT", ["hr > 0", "hr < 24"], (1, 23, ())),
    ("DOUBLE", ["0 <= hr", "hr <= 1.5"], (0, 1.5, ())),
    ("DOUBLE", ["hr > 2"], (2, 102, ())),
    ("INT", ["hr IN (1, 2, 4)"], (0, 10, (1.0, 2.0, 4.0))),
    ("STRING", ["hr IN ('a', 'b''c')"], (0, 100, ("a", "b'c"))),
    ("STRING", ["hr NOT IN ('a')"], (0, 100, tuple(f"hr_{k}" for k in range(5)))),
    ("INT", ["hour > 5", "hr_of_day < 3"], (0, 10, ())),  # other columns' rules
])
def test_domains_come_from_the_simple_rule_forms(sql_type, conditions, expected):
    column = domain("hr", sql_type, conditions)
    assert (column.low, column.high, column.choices) == expected


def test_a_type_it_cannot_draw_is_one_clear_line():
    with pytest.raises(ValueError, match=r"^the simulator cannot draw column 'price' of type DECIMAL\(10,2\): declare"):
        domain("price", "DECIMAL(10,2)", [])


@pytest.mark.spark
def test_every_declarable_type_is_drawn_and_reads_back_as_declared(spark, settings, monkeypatch):
    from {{ cookiecutter.__package_name }} import data_source

    every = {"a_tinyint": "TINYINT", "a_smallint": "SMALLINT", "an_int": "INT", "a_bigint": "BIGINT",
             "a_float": "FLOAT", "a_double": "DOUBLE", "a_string": "STRING", "a_boolean": "BOOLEAN",
             "a_date": "DATE", "a_timestamp": "TIMESTAMP"}
    monkeypatch.setattr(data_source, "SOURCE_COLUMNS", every)
    frame = simulator.generate(settings, 1, 200, Scenario(dirty_fraction=0))
    rows = conform(spark.createDataFrame(frame), sources.labelled_columns(settings), "sample batch")
    assert rows.count() == 200
    assert rows.where(" OR ".join(f"{name} IS NULL" for name in every)).count() == 0
