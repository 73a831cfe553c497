"""The users' test case (docs/test-case.md), run through the closed loop exactly as ``loop`` runs
it: a healthy batch, a batch from a drifted regime, another one, and one whose feed broke.

Expected: satisfactory and no training; retrain and a new champion; satisfactory with the new
champion; alert, no retrain, champion unchanged. Then what the loop left in the tables, and the
commands that read it (report, serve, rollback).
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from mlflow import MlflowClient
from pyspark.sql import functions as F

import {{ cookiecutter.__package_name }}
from {{ cookiecutter.__package_name }} import features, modelling, registry, simulator, sources
from {{ cookiecutter.__package_name }}.cli import main
from {{ cookiecutter.__package_name }}.loop import run_loop, table
from {{ cookiecutter.__package_name }}.orchestration.runner import PipelineFailed, run_factory_pipeline, run_pipeline
from {{ cookiecutter.__package_name }}.simulator import Scenario
from {{ cookiecutter.__package_name }}.stages import run_stage

pytestmark = [pytest.mark.spark, pytest.mark.integration]
ROWS = 2500


@pytest.fixture(scope="module")
def project(isolated_project):
    return isolated_project


@pytest.fixture(scope="module")
def steps(spark, project):
    return run_loop(spark, project, batches=4, drift_at=2, strength=0.5, rows=ROWS, break_schema_at=4,
                    echo=lambda line: None)


def _training_runs(spark, settings):
    return spark.table(settings.table("pipeline_runs")).where("pipeline = 'training'").select("pipeline_run_id").distinct().count()


def test_execution_without_a_champion_fails_at_deploy_in_one_line(spark, project):
    with pytest.raises(PipelineFailed) as failure:
        run_pipeline(spark, project, "execution", pipeline_run_id="no-champion", echo=lambda line: None)
    assert failure.value.stage == "deploy"
    assert str(failure.value) == (
        f"execution pipeline failed at deploy: model {project.model_name} has no @champion yet: "
        "run the training pipeline first (run no-champion)"
    )


def test_healthy_batch_is_satisfactory_and_trains_nothing(steps):
    healthy = steps[0]
    assert (healthy.data, healthy.decision, healthy.rule) == ("healthy", "satisfactory", "none")
    assert healthy.scored_by == healthy.champion == "1"
    assert healthy.metric is not None and healthy.max_psi < 0.25


def test_drifted_batch_is_retrained_into_a_new_champion(steps, project):
    drifted = steps[1]
    assert drifted.data.startswith("drifted") and drifted.decision == "retrain"
    assert drifted.rule in ("performance", "feature_drift", "prediction_drift")
    assert (drifted.scored_by, drifted.champion) == ("1", "2")
    client = MlflowClient()
    assert registry.version_by_alias(client, project.model_name, registry.PREVIOUS).version == "1"
    assert registry.get_version(client, project.model_name, "2").tags[registry.TAG_GATE] == "passed"


def test_next_batch_of_the_new_regime_is_satisfactory_with_the_new_champion(steps):
    after = steps[2]
    assert (after.decision, after.rule, after.scored_by, after.champion) == ("satisfactory", "none", "2", "2")


def test_broken_schema_alerts_without_retraining_and_keeps_the_champion(steps, spark, project):
    broken = steps[3]
    assert (broken.data, broken.decision, broken.rule) == ("schema break", "alert", "schema_break")
    assert broken.scored_by == broken.champion == "2"
    assert spark.table(project.table("inference_log")).where(F.col("batch_id") == broken.batch).count() == 0
    [row] = spark.table(project.table("metrics")).where(
        (F.col("batch_id") == broken.batch) & (F.col("metric_name") == "schema_break")
    ).collect()
    first = next(iter(sources.declared_columns()))
    assert row["passed"] is False and f"'{first}' is missing" in row["details"]


def test_only_the_retrain_decision_started_a_training_run(steps, spark, project):
    assert _training_runs(spark, project) == 2  # the first champion's, and the retrain's
    decisions = spark.table(project.table("monitoring_decisions")).orderBy("decided_at").collect()
    assert [(d["batch_id"], d["decision"]) for d in decisions] == [(s.batch, s.decision) for s in steps]
    [latest] = spark.table(project.table("latest_decision")).collect()
    assert (latest["batch_id"], latest["decision"]) == (steps[-1].batch, "alert")
    inputs = json.loads(decisions[1]["inputs"])
    assert inputs["champion_version"] == "1" and inputs["fired"] and inputs["rules"]["metric"] == project.primary_metric


def test_every_scored_batch_is_in_the_inference_log_with_its_model_version(steps, spark, project):
    log = spark.table(project.table("inference_log"))
    counts = {r["batch_id"]: (r["count"], r["model_version"]) for r in log.groupBy("batch_id", "model_version").count().collect()}
    for step in steps[:3]:
        rows, version = counts[step.batch]
        assert 0.95 * ROWS <= rows <= ROWS and version == step.scored_by  # rows failing expectations are not scored
    assert set(log.columns) >= {project.id_column, *features.FEATURE_COLUMNS, "prediction", "probability",
                                "model_name", "model_version", "batch_id", "pipeline_run_id", "scored_at"}
    if project.is_classification:
        assert log.where("probability IS NULL OR probability < 0 OR probability > 1").count() == 0
    else:
        assert log.where("probability IS NOT NULL").count() == 0


def test_metrics_rows_carry_thresholds_and_verdicts(steps, spark, project):
    rows = spark.table(project.table("metrics")).where(
        (F.col("stage") == "metrics") & (F.col("batch_id") == steps[1].batch)
    ).collect()
    names = {(r["dataset"], r["metric_name"]) for r in rows}
    assert {("batch", "population_stability_index"), ("batch", "js_distance"), ("batch", "ks_test"),
            ("batch", "pass_rate"), ("batch", "drifted_share"), ("production", project.primary_metric)} <= names
    deciding = [r for r in rows if r["metric_name"] in ("population_stability_index", "js_distance") and r["threshold"] is not None]
    assert {r["feature"] for r in deciding} == {*features.FEATURE_COLUMNS, "prediction"}
    assert any(r["passed"] is False for r in deciding)  # the drift that triggered the retrain


def test_summary_table_has_a_line_per_batch(steps, project):
    lines = table(steps, project.primary_metric).splitlines()
    assert lines[0].split() == ["batch", "data", "decision", "rule", "champion", project.primary_metric, "max", "PSI"]
    assert len(lines) == 1 + len(steps)
    assert "v1 → v2" in lines[2] and "retrain" in lines[2]


def test_status_shows_the_champions_production_metrics_next_to_its_holdout_ones(steps, project, capsys):
    assert main(["status", "--json"]) == 0
    state = json.loads(capsys.readouterr().out)
    # v2 scored batches 3 and 4; batch 4 broke its schema, so batch 3 is its newest labelled one.
    production = state["champion_production"]
    assert production["batch_id"] == steps[2].batch
    assert production["metrics"][project.primary_metric] == pytest.approx(steps[2].metric)
    assert main(["status"]) == 0
    text = capsys.readouterr().out
    assert "champion holdout metrics: " in text and f"champion production metrics (batch {steps[2].batch}): " in text


def test_execute_prints_the_batch_metrics_and_the_evidence(steps, project, capsys):
    number = simulator.next_number(project)
    batch = simulator.write_batch(project, number, simulator.generate(project, number, 1000, Scenario.drifted(0.5)))
    assert main(["execute"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert f"decision for batch {batch}: satisfactory (none)" in lines
    production = next(line for line in lines if line.startswith("  production metrics"))
    assert production.startswith(f"  production metrics (labels of {batch}): {project.primary_metric}=")
    evidence = next(line for line in lines if line.startswith("  evidence: "))
    assert "pass rate " in evidence and f"of {len(features.FEATURE_COLUMNS)} features drifted" in evidence
    assert evidence.endswith("rules fired: none")


def test_an_empty_batch_alerts_in_one_line_and_scores_nothing(steps, spark, project, capsys):
    import pyarrow.parquet as pq

    folder = Path(project.landing_path) / "batches"
    name = simulator.batch_id(simulator.next_number(project))
    pq.write_table(pq.read_table(sorted(folder.glob("b*.parquet"))[-1]).slice(0, 0), folder / f"{name}.parquet")
    assert main(["execute"]) == 1
    captured = capsys.readouterr()
    assert f"decision for batch {name}: alert (empty_batch)" in captured.out
    assert captured.err.strip().startswith("error: monitoring decision alert (rule empty_batch) on batch ")
    assert spark.table(project.table("inference_log")).where(F.col("batch_id") == name).count() == 0


def test_execute_says_what_broke_in_a_schema_break(steps, spark, project, capsys):
    number = simulator.next_number(project)
    name = simulator.write_batch(project, number, simulator.generate(project, number, 50, Scenario(schema_break=True)))
    assert main(["execute", "--batch", name]) == 1
    out = capsys.readouterr().out
    assert f"decision for batch {name}: alert (schema_break)" in out
    first = next(iter(sources.declared_columns()))
    assert f"  schema break in batch {name}: column '{first}' is missing" in out.splitlines()
    assert spark.table(project.table("inference_log")).where(F.col("batch_id") == name).count() == 0


def test_metrics_run_by_hand_checks_the_batch_as_predict_counted_it(steps, spark, project):
    """In a factory run, metrics takes the batch's quality from predict's counts; run by hand, it
    checks the batch again. Both give the same rows. (A retrain's clean measures the batch too,
    once labelled: its rows are not the execution's.)"""
    batch = steps[0].batch
    run_stage("metrics", spark, env="local", pipeline_run_id=f"by-hand-{batch}", batch_id=batch)
    quality = ("rows", "pass_rate", "rule_failure_rate", "extra_columns")
    measured = (spark.table(project.table("metrics_log"))
                .where((F.col("stage") == "metrics") & (F.col("batch_id") == batch) & F.col("metric_name").isin(*quality))
                .select("pipeline_run_id", "metric_name", "feature", "metric_value", "details").collect())
    by_run: dict[str, set] = {}
    for row in measured:
        by_run.setdefault(row["pipeline_run_id"], set()).add(tuple(row)[1:])
    factory = [rows for run, rows in by_run.items() if run != f"by-hand-{batch}"]
    assert len(factory) == 1 and {"rows", "pass_rate", "extra_columns"} <= {name for name, *_ in factory[0]}
    assert by_run[f"by-hand-{batch}"] == factory[0]


def test_rerunning_predict_replaces_the_batch_rows(steps, spark, project):
    batch = steps[0].batch
    log = spark.table(project.table("inference_log")).where(F.col("batch_id") == batch)
    before = log.count()
    for _ in range(2):
        run_stage("predict", spark, env="local", pipeline_run_id=f"rerun-{batch}", batch_id=batch)
    assert log.count() == before
    assert {r[0] for r in log.select("model_version").distinct().collect()} == {"2"}  # rescored by today's champion


def test_labels_arriving_later_are_measured_by_a_later_run(steps, spark, project):
    later = run_loop(spark, project, batches=2, drift_at=1, strength=0.5, rows=ROWS, label_delay=1,
                     echo=lambda line: None)
    first, second = later
    assert first.metric is not None and second.metric is None  # the second batch's labels are still due
    scored_in = spark.table(project.table("inference_log")).where(F.col("batch_id") == first.batch).first()
    [measured] = spark.table(project.table("metrics")).where(
        (F.col("batch_id") == first.batch) & (F.col("dataset") == "production")
        & (F.col("metric_name") == project.primary_metric)
    ).collect()
    assert measured["pipeline_run_id"] != scored_in["pipeline_run_id"]


def test_report_has_its_charts_and_is_logged_to_mlflow(steps, project, tmp_path, capsys):
    output = tmp_path / "report.html"
    assert main(["report", "--output", str(output)]) == 0
    page = output.read_text()
    assert page.count("data:image/png;base64,") == 3
    assert all(step.batch in page for step in steps) and "schema_break" in page
    # The gate history: v1 (no champion yet) and the retrain v2, judged against v1 on its holdout.
    history = page.split("<h2>Gate history</h2>", 1)[1]
    assert "<tr><td>v1</td>" in history and "no champion yet" in history
    v2 = history.split("<tr><td>v2</td>", 1)[1].split("</tr>", 1)[0]
    assert "(v1)</td>" in v2 and ">promoted</td>" in v2
    run_id = capsys.readouterr().out.strip().rsplit(" ", 1)[-1].rstrip(")")
    artifacts = [a.path for a in MlflowClient().list_artifacts(run_id, "report")]
    assert artifacts == ["report/report.html"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _post(port: int, payload: object) -> tuple[int, dict]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", data=body,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def test_serve_answers_logs_every_request_and_follows_a_promotion_without_a_failed_request(steps, spark, project):
    port = _free_port()
    command = [sys.executable, "-m", "{{ cookiecutter.__package_name }}", "serve", "--port", str(port), "--poll-seconds", "0.5"]
    # The package from this checkout, installed or not.
    env = {**os.environ, "PYTHONPATH": str(Path({{ cookiecutter.__package_name }}.__file__).resolve().parents[1])}
    if modelling.library_of_version(f"models:/{project.model_name}/2") == modelling.SPARK_ML:
        # The API serves scikit-learn models only: a Spark ML champion is refused before the port
        # opens, in one line that says where its rows are scored instead.
        refused = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
        lines = (refused.stderr or refused.stdout).strip().splitlines()
        assert refused.returncode != 0 and len(lines) == 1, refused.stderr[-2000:]
        assert "Spark ML model" in lines[0] and "execute" in lines[0]
        return
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              start_new_session=True)
    client = MlflowClient()
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as ready:
                    assert json.loads(ready.read())["model_version"] == "2"
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(server.stdout.read().decode(errors="replace")[-2000:]) from None
                time.sleep(0.5)
        # Traffic like a batch the champion scored in the loop and judged satisfactory: its rows'
        # id, time and model inputs, five per request.
        healthy = spark.table(project.table("monitoring_decisions")).where(
            "decision = 'satisfactory' AND model_version = '2'").select("batch_id").first()[0]
        columns = [project.id_column, project.timestamp_column, *features.FEATURE_COLUMNS]
        sample = (spark.table(project.table("inference_log")).where(F.col("batch_id") == healthy)
                  .select(*columns).toPandas())
        payloads = [{"dataframe_split": json.loads(sample.iloc[start:start + 5].to_json(
            orient="split", index=False, date_format="iso"))} for start in range(0, len(sample) - 4, 5)]
        payload, rows = payloads[0], sample.head(5)
        status, answer = _post(port, payload)
        assert status == 200 and answer["model_version"] == "2"
        assert [p[project.id_column] for p in answer["predictions"]] == list(rows[project.id_column])

        # A request that does not fit: a 4xx and one line, never a traceback.
        first = next(iter(features.FEATURE_COLUMNS))
        refused = [_post(port, b"{not json"), _post(port, {"rows": []}),
                   _post(port, {"dataframe_records": [{project.id_column: "x"}]}),
                   _post(port, {"dataframe_records": [{**payload_row, first: "many"} for payload_row in
                                                      json.loads(rows.head(1).to_json(orient="records"))]})]
        assert [status for status, _ in refused] == [400, 400, 422, 422]
        assert all(set(body) == {"error"} and "\n" not in body["error"] for _, body in refused)
        assert refused[2][1]["error"].startswith("missing column")

        # A promotion while a client keeps sending: every request answered, the new version picked up.
        answers: list[tuple[int, str]] = []
        sending = True

        def keep_sending() -> None:
            while sending:
                status, body = _post(port, payloads[len(answers) % len(payloads)])
                answers.append((status, body.get("model_version")))

        sender = threading.Thread(target=keep_sending)
        sender.start()
        try:
            for version in ("1", "2"):
                client.set_registered_model_alias(project.model_name, "champion", version)
                deadline = time.monotonic() + 30
                while not answers or answers[-1][1] != version:
                    assert time.monotonic() < deadline, f"still serving {answers[-1:]} after moving @champion to {version}"
                    time.sleep(0.2)
        finally:
            sending = False
            sender.join(timeout=60)
            client.set_registered_model_alias(project.model_name, "champion", "2")
        assert {status for status, _ in answers} == {200}
        served = [version for _, version in answers]
        assert "1" in served and served[0] == "2" and served[-1] == "2"
        # The rest of the batch in one request: enough of the day's rows for the judgement below.
        status, answer = _post(port, {"dataframe_split": json.loads(sample.to_json(orient="split", index=False,
                                                                                   date_format="iso"))})
        assert status == 200 and answer["model_version"] == "2" and len(answer["predictions"]) == len(sample)
    finally:
        try:
            os.killpg(server.pid, signal.SIGTERM)  # a clean stop: the buffered rows are written
        except ProcessLookupError:
            pass  # it had already stopped (the assertion above says why)
        server.wait(timeout=60)
    output = server.stdout.read().decode(errors="replace")
    assert server.returncode == 0, output[-2000:]
    scored = 5 * (1 + len(answers)) + len(sample)
    assert f"stopped: {scored} scored rows logged" in output, output[-2000:]
    logged = spark.table(project.table("inference_log")).where(F.col("pipeline_run_id").startswith("serve-"))
    assert logged.count() == scored
    assert {r["batch_id"] for r in logged.select("batch_id").distinct().collect()} <= {
        "online-" + day for day in {time.strftime("%Y-%m-%d", time.gmtime()), time.strftime("%Y-%m-%d", time.gmtime(time.time() - 3600))}
    }
    assert {r["model_version"] for r in logged.select("model_version").distinct().collect()} == {"1", "2"}

    # The day's requests, judged by the execution pipeline like a landed batch (the day is not over:
    # named by hand) on the rows the champion scored, as the loop judged the batch they came from.
    batch = max(r["batch_id"] for r in logged.select("batch_id").distinct().collect())
    by_champion = logged.where((F.col("batch_id") == batch) & (F.col("model_version") == "2")).count()
    outcomes = {o.stage: o.output for o in run_pipeline(spark, project, "execution", parameters={"batch_id": batch},
                                                         echo=lambda line: None)}
    assert outcomes["predict"]["rows_scored"] == by_champion > 0
    measured = spark.table(project.table("metrics")).where((F.col("batch_id") == batch) & (F.col("stage") == "metrics"))
    assert measured.where("metric_name = 'rows'").first()["metric_value"] == by_champion
    drifts = measured.where("metric_name = 'population_stability_index'").select("feature").collect()
    assert {r["feature"] for r in drifts} >= {"prediction"} and len(drifts) > 1
    assert outcomes["evaluate_metrics"]["batch_id"] == batch
    assert outcomes["evaluate_metrics"]["decision"] == "satisfactory", outcomes["evaluate_metrics"]


def test_rollback_restores_the_previous_champion_once(steps, project, capsys):
    client = MlflowClient()
    assert registry.champion(client, project.model_name).version == "2"
    assert main(["rollback"]) == 0
    assert "@champion is version 1 again (was 2)" in capsys.readouterr().out
    assert registry.champion(client, project.model_name).version == "1"
    assert registry.get_version(client, project.model_name, "2").tags["rolled_back"] == "true"
    assert main(["rollback"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == f"error: model {project.model_name} has no @previous_champion: nothing to roll back to"


def test_the_decision_the_lookup_reads_is_the_one_evaluate_metrics_returns(steps, spark, project):
    """What the factory's Lookup reads back from latest_decision is in evaluate_metrics' own result:
    where no Lookup runs (the Databricks jobs of resources/), later tasks read it there."""
    run = run_factory_pipeline(spark, project, "execution", echo=lambda line: None)
    assert run.succeeded, run.failure
    row = run.lookups["latest_decision"]
    returned = next(o.output for o in run.outcomes if o.stage == "evaluate_metrics")
    read = {column: value for column, value in row.items() if column != "pipeline_run_id"}
    assert read and {column: returned[column] for column in read} == read
