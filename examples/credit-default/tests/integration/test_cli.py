"""The command line: status for people and machines (read without a JVM), one stage by name;
errors are one line and exit 1."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import credit_default
from credit_default.cli import main
from credit_default.orchestration import stages

pytestmark = [pytest.mark.spark, pytest.mark.integration]


def test_status_json_reports_champion_and_row_counts(first_training, capsys):
    assert main(["status", "--json"]) == 0
    state = json.loads(capsys.readouterr().out)
    assert state["aliases"]["champion"] is not None
    assert state["primary_metric"] in state["champion_metrics"]
    assert state["row_counts"]["bronze"] >= 8000
    assert state["last_stage_run"]["status"] in ("succeeded", "failed")
    if state["last_stage_run"]["status"] == "succeeded":
        assert state["last_stage_run"]["error"] is None  # null in JSON, not the string "None"


def test_status_needs_no_java(first_training, spark, settings):
    """status reads the Delta tables itself: with no java on the PATH it still answers, and its
    numbers are the ones Spark reads."""
    source = Path(credit_default.__file__).resolve().parents[1]
    env = {key: value for key, value in os.environ.items() if key not in ("JAVA_HOME", "SPARK_HOME")}
    env.update(PATH=str(Path(sys.executable).parent), PYTHONPATH=str(source))
    done = subprocess.run([sys.executable, "-m", "credit_default", "status", "--json"],
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    state = json.loads(done.stdout)
    assert state["row_counts"]["bronze"] == spark.table(settings.table("bronze")).count()
    assert state["row_counts"]["metrics_log"] == spark.table(settings.table("metrics_log")).count()
    champion = state["aliases"]["champion"]
    expected = {r["metric_name"]: r["metric_value"] for r in spark.table(settings.table("metrics")).where(
        f"stage = 'evaluate' AND dataset = 'holdout' AND model_version = '{champion}' AND metric_name != 'gate'"
    ).collect()}
    assert state["champion_metrics"] == pytest.approx(expected)


def test_status_text_names_the_champion(first_training, capsys):
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "@champion" in out and "rows: bronze=" in out


def test_databricks_environment_outside_databricks_is_one_line(capsys):
    assert main(["status", "--env", "dev"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: environment 'dev' runs on Databricks") and "\n" not in err


def test_unknown_environment_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--env", "qa"])
    assert exit_.value.code == 2
    assert "invalid choice: 'qa'" in capsys.readouterr().err


def test_one_stage_runs_by_name_in_this_process(first_training, capsys):
    assert main(["stage", "features"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["stage"] == "features" and result["pipeline_run_id"].startswith("manual-")
    assert result["batches"] == []  # nothing new since the training run: a rerun adds nothing


def test_a_parameter_the_stage_does_not_take_is_refused_in_one_line(settings, capsys):
    assert main(["stage", "clean", "--batch", "b0001"]) == 1
    assert capsys.readouterr().err.strip() == "error: stage clean has no parameter batch_id; its parameters are none"
    assert main(["stage", "predict", "--param", "rows=5"]) == 1
    assert capsys.readouterr().err.strip() == (
        "error: stage predict has no parameter rows; its parameters are batch_id, model_version"
    )


def test_an_unknown_stage_is_one_line_listing_the_stages(settings, capsys):
    assert main(["stage", "fit"]) == 1
    names = ", ".join(s.name for s in stages(settings.root))
    assert capsys.readouterr().err.strip() == f"error: unknown stage 'fit'; stages are {names}"
