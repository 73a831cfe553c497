"""Every notebook is thin Databricks source; the training notebooks, executed as Databricks would
run them (through the local dbutils shim), exit with their stage's result and leave their
pipeline_runs row. (The execution notebooks run the same way in tests/integration/test_loop.py.)"""

import json

import pytest

from credit_default import simulator
from credit_default.orchestration import pipelines, stage, stages
from credit_default.runtime.notebooks import HEADER, run_notebook
from credit_default.settings import find_project_root

pytestmark = [pytest.mark.spark, pytest.mark.integration]
ROOT = find_project_root()
TRAINING = pipelines(ROOT)["training"]


@pytest.mark.parametrize("declared", stages(ROOT), ids=lambda s: s.name)
def test_notebook_is_thin_databricks_source(declared):
    source = declared.notebook_file(ROOT).read_text()
    assert source.startswith(HEADER)
    assert f'run_stage("{declared.name}", spark, **dbutils.widgets.getAll())' in source
    assert "dbutils.notebook.exit(" in source
    # Thin: widgets, one call, exit — no pipeline logic in the notebook.
    code = [line for line in source.splitlines() if line.strip() and not line.startswith("#")]
    assert len(code) <= 16


def test_each_notebook_exits_with_its_stage_result(first_training, settings):
    outputs = first_training["outputs"]
    assert [o["stage"] for o in outputs.values()] == list(TRAINING)
    assert {o["pipeline_run_id"] for o in outputs.values()} == {first_training["pipeline_run_id"]}
    assert outputs["ingest"]["batches"] == ["b0000"] and outputs["ingest"]["rows"] == 8000
    assert outputs["clean"]["rows_passed"] + outputs["clean"]["rows_quarantined"] == 8000
    # The simulator's dirty rows (a NULL where a rule of cleaning.py looks), if any rule can catch them.
    assert (outputs["clean"]["rows_quarantined"] > 0) == bool(simulator.breakable_columns(settings))
    assert outputs["features"]["rows"] == outputs["clean"]["rows_passed"]
    assert outputs["train"]["model_version"] == "1"
    assert outputs["evaluate"]["passed"] is True
    assert outputs["promote"] == {**outputs["promote"], "promoted": True, "champion_version": "1"}


def test_each_notebook_hands_its_result_to_later_job_tasks_as_task_values(first_training):
    """A Databricks job's later tasks read each key of a stage's result as that task's task value."""
    for name, output in first_training["outputs"].items():
        assert {key: first_training["task_values"][(name, key)] for key in output} == output


def test_each_stage_recorded_its_run(first_training, spark, settings):
    rows = spark.sql(
        f"SELECT stage, status, pipeline, trigger_time, output FROM {settings.table('pipeline_runs')} "
        f"WHERE pipeline_run_id = '{first_training['pipeline_run_id']}'"
    ).collect()
    assert sorted(r["stage"] for r in rows) == sorted(TRAINING)
    assert {r["status"] for r in rows} == {"succeeded"}
    assert {r["pipeline"] for r in rows} == {"training"}
    assert {r["trigger_time"] for r in rows} == {"2026-01-01T06:00:00Z"}
    assert all(json.loads(r["output"]) for r in rows)


def test_a_notebook_without_parameters_runs_as_a_manual_run(first_training, spark, settings):
    """Opened by hand on a cluster, a notebook uses its widget defaults and tags the run 'manual-'."""
    value = run_notebook(stage(settings.root, "features").notebook_file(settings.root), spark, {})
    output = json.loads(value)
    assert output["pipeline_run_id"].startswith("manual-")
    assert output["batches"] == []  # nothing new: rerunning adds nothing
