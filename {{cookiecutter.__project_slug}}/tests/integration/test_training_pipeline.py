"""init → train → a champion with its metrics; reruns never duplicate; a worse model is refused;
a broken batch stops the pipeline and loses nothing."""

import json

import pytest
from mlflow import MlflowClient

from {{ cookiecutter.__package_name }} import evaluation, model, modelling, readers, registry, simulator, sources, tables
from {{ cookiecutter.__package_name }}.orchestration.runner import PipelineFailed, run_pipeline
from {{ cookiecutter.__package_name }}.stages import run_stage
from {{ cookiecutter.__package_name }}.training import load_training_set

pytestmark = [pytest.mark.spark, pytest.mark.integration]


def _count(spark, table):
    return spark.table(table).count()


def test_champion_exists_with_its_metrics_rows(first_training, spark, settings):
    client = MlflowClient()
    champion = registry.champion(client, settings.model_name)
    assert champion.version == "1"
    assert champion.tags[registry.TAG_RUN] == first_training["pipeline_run_id"]
    assert champion.tags[registry.TAG_GATE] == "passed"
    rows = spark.sql(
        f"SELECT metric_name, metric_value, threshold, comparison, passed FROM {settings.table('metrics')} "
        "WHERE stage = 'evaluate' AND model_version = '1' AND dataset = 'holdout'"
    ).collect()
    by_name = {r["metric_name"]: r for r in rows}
    primary = by_name[settings.primary_metric]
    assert primary["threshold"] == pytest.approx(settings.training_rules.gate.threshold)
    assert primary["comparison"] == evaluation.comparison(settings.problem_type, settings.primary_metric)
    assert primary["passed"] is True and by_name["gate"]["passed"] is True
    quality = spark.sql(
        f"SELECT metric_name FROM {settings.table('metrics')} WHERE stage = 'clean' AND batch_id = 'b0000'"
    ).collect()
    assert {"rows", "pass_rate", "rows_quarantined", "rule_failures"} <= {r[0] for r in quality}


def test_training_is_reproducible_from_what_mlflow_recorded(first_training, spark, settings):
    """Pinned Delta versions + seed + params from the run give the very same holdout metrics."""
    client = MlflowClient()
    version = registry.champion(client, settings.model_name)
    run = client.get_run(version.run_id)
    sources = [json.loads(i.dataset.source) for i in run.inputs.dataset_inputs]
    pinned = {s["delta_table_name"]: str(s.get("delta_table_version")) for s in sources}
    assert pinned == {
        settings.table("features"): run.data.params["features_version"],
        settings.table("silver"): run.data.params["silver_version"],
    }
    estimator = model.build_model(settings, settings.training_rules.model_params)
    data = load_training_set(spark, settings, run.data.params["features_version"], run.data.params["silver_version"],
                             library=modelling.library_of(estimator))
    metrics = modelling.score_holdout(modelling.fit(estimator, data, settings), data, settings).metrics
    assert metrics[settings.primary_metric] == pytest.approx(run.data.metrics[f"holdout_{settings.primary_metric}"], abs=1e-12)
    if "mlflow.source.git.commit" in run.data.tags:
        assert len(run.data.tags["mlflow.source.git.commit"]) == 40


def test_rerunning_stages_duplicates_nothing(first_training, spark, settings):
    tables = ("bronze", "silver", "quarantine", "features", "metrics", "pipeline_runs")
    before = {t: _count(spark, settings.table(t)) for t in tables}
    logged = _count(spark, settings.table("metrics_log"))
    run_id = first_training["pipeline_run_id"]
    for stage in ("ingest", "clean", "features", "evaluate"):
        run_stage(stage, spark, env="local", pipeline_run_id=run_id, trigger_time="2026-01-01T06:00:00Z")
    assert {t: _count(spark, settings.table(t)) for t in tables} == before
    # The records were appended again (no rewrite); the views show each key once.
    assert _count(spark, settings.table("metrics_log")) > logged


def test_the_views_and_the_reader_without_a_jvm_show_the_same_rows(first_training, spark, settings):
    """Each record view keeps the newest row per key of its log; status and report apply the same
    rule to the log with deltalake. Evaluating again appends rows the views must resolve."""
    run_stage("evaluate", spark, env="local", pipeline_run_id=first_training["pipeline_run_id"],
              trigger_time="2026-01-01T06:00:00Z")
    for view, (keys, order) in tables.LATEST.items():
        columns = [*keys, order]
        rows = spark.table(settings.table(view)).select(*columns).collect()
        through_spark = sorted(tuple(str(v) for v in row) for row in rows)
        read = readers.read_view(settings, view)[columns]
        through_reader = sorted(tuple(str(v) for v in row) for row in read.astype(str).itertuples(index=False))
        assert len(through_spark) == len(through_reader), view
        assert [r[:-1] for r in through_spark] == [r[:-1] for r in through_reader], view
    assert _count(spark, settings.table("metrics_log")) > _count(spark, settings.table("metrics"))


def test_worse_model_is_not_promoted_and_says_why(first_training, spark, settings, monkeypatch):
    # A model that predicts the prior (the mean), whatever model.py builds: a scikit-learn one, so a
    # Spark ML champion is also compared with a candidate of the other library on the same holdout.
    from sklearn.dummy import DummyClassifier, DummyRegressor

    worse = DummyClassifier(strategy="prior") if settings.is_classification else DummyRegressor(strategy="mean")
    monkeypatch.setattr(model, "build_model", lambda settings, params: worse)
    outcomes = run_pipeline(spark, settings, "training", echo=lambda line: None)
    result = {o.stage: o.output for o in outcomes}
    client = MlflowClient()
    assert result["evaluate"]["passed"] is False
    assert settings.primary_metric in result["evaluate"]["reason"]
    assert result["promote"]["promoted"] is False
    assert result["promote"]["reason"] == result["evaluate"]["reason"]
    assert registry.champion(client, settings.model_name).version == "1"
    assert registry.version_by_alias(client, settings.model_name, registry.CHALLENGER) is None
    version = result["train"]["model_version"]
    gate_row = spark.sql(
        f"SELECT passed, details FROM {settings.table('metrics')} WHERE stage = 'evaluate' "
        f"AND model_version = '{version}' AND metric_name = 'gate'"
    ).collect()
    assert gate_row[0]["passed"] is False and gate_row[0]["details"] == result["evaluate"]["reason"]
    assert registry.get_version(client, settings.model_name, version).tags[registry.TAG_GATE] == "failed"


def test_broken_schema_stops_before_bronze_and_loses_nothing(first_training, spark, settings):
    # An upstream change: a number column now arrives as text (the first declared one that is not
    # text), with a value that is no number (text that all reads as numbers would be read so).
    column, declared = next((n, t) for n, t in sources.declared_columns().items() if t.upper() != "STRING")
    frame = simulator.generate(settings, 90, 300)
    frame[column] = frame[column].astype(str)
    frame.loc[0, column] = "n/a"
    simulator.write_batch(settings, 90, frame)
    bronze_before = _count(spark, settings.table("bronze"))
    client = MlflowClient()
    champion_before = registry.champion(client, settings.model_name).version
    try:
        with pytest.raises(PipelineFailed) as failure:
            run_pipeline(spark, settings, "training", pipeline_run_id="broken-run", echo=lambda line: None)
        assert failure.value.stage == "ingest"
        assert "schema break in batch b0090" in str(failure.value) and f"'{column}' is string, expected {declared.lower()}: " in str(failure.value)
        assert "cannot be read as" in str(failure.value) and "e.g. 'n/a'" in str(failure.value)
        assert _count(spark, settings.table("bronze")) == bronze_before
        [row] = spark.sql(
            f"SELECT status, error FROM {settings.table('pipeline_runs')} WHERE pipeline_run_id = 'broken-run'"
        ).collect()
        assert row["status"] == "failed" and "schema break" in row["error"]
        assert registry.champion(client, settings.model_name).version == champion_before
    finally:
        for folder in ("batches", "labels"):
            (settings.local_dir / "landing" / folder / "b0090.parquet").unlink(missing_ok=True)


def test_new_labelled_batch_is_ingested_and_retrained(first_training, spark, settings):
    simulator.write_batch(settings, 1, simulator.generate(settings, 1, 2000))
    simulator.write_batch(settings, 2, simulator.generate(settings, 2, 500), labels=False)
    outcomes = {o.stage: o.output for o in run_pipeline(spark, settings, "training", echo=lambda line: None)}
    assert outcomes["ingest"]["batches"] == ["b0001"]
    assert outcomes["ingest"]["waiting_for_labels"] == ["b0002"]
    assert outcomes["train"]["data_version"] != first_training["outputs"]["train"]["data_version"]
    client = MlflowClient()
    champion = registry.champion(client, settings.model_name).version
    if outcomes["promote"]["promoted"]:
        assert champion == outcomes["train"]["model_version"]
        assert registry.version_by_alias(client, settings.model_name, registry.PREVIOUS).version == "1"
    else:
        assert champion == "1"
