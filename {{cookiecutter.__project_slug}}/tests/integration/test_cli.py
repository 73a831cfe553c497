"""The command line: status for people and machines; errors are one line and exit 1."""

import json

import pytest

from {{ cookiecutter.__package_name }}.cli import main

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
