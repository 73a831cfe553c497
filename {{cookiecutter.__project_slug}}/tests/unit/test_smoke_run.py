"""The CD's smoke run (scripts/smoke_run.py) reports a deployed factory's run as the team needs it.

No factory is reachable from a test, so the factory's service is played by a small stand-in that
answers with the SDK's own models (``CreateRunResponse``, ``PipelineRun``) the statuses a real run
goes through; the clock is the stand-in's too, so a one-hour timeout takes no time.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from azure.mgmt.datafactory.models import CreateRunResponse, PipelineRun

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "smoke_run.py"
ARGS = [
    "--subscription-id", "00000000-0000-0000-0000-000000000000", "--resource-group", "rg-model-uat",
    "--factory", "adf-model-uat", "--pipeline", "pl_model_training", "--timeout-minutes", "60",
]  # fmt: skip


@pytest.fixture(scope="module")
def smoke_run():
    spec = importlib.util.spec_from_file_location("smoke_run_under_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Factory:
    """A factory whose one run goes through ``statuses``, one per status check, 30 s apart."""

    def __init__(self, *statuses: str, message: str = "") -> None:
        self.statuses, self.message = list(statuses), message
        self.now, self.started, self.cancelled = 0.0, [], []
        self.pipelines, self.pipeline_runs = self, self

    def create_run(self, resource_group: str, factory: str, pipeline: str) -> CreateRunResponse:
        self.started.append((resource_group, factory, pipeline))
        return CreateRunResponse(run_id="run-1")

    def get(self, resource_group: str, factory: str, run_id: str) -> PipelineRun:
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        message = self.message if status in ("Failed", "Cancelled") else ""
        return PipelineRun.from_dict({"runId": run_id, "status": status, "message": message})

    def cancel(self, resource_group: str, factory: str, run_id: str, is_recursive: bool) -> None:
        self.cancelled.append((run_id, is_recursive))

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def smoke(smoke_run, factory: Factory, argv=ARGS) -> int:
    args = smoke_run.parse_args(argv)
    return smoke_run.smoke(factory, args, clock=lambda: factory.now, sleep=factory.sleep)


def test_a_run_that_succeeds_passes_and_shows_each_status(smoke_run, capsys):
    factory = Factory("Queued", "InProgress", "InProgress", "Succeeded")

    assert smoke(smoke_run, factory) == 0

    assert factory.started == [("rg-model-uat", "adf-model-uat", "pl_model_training")]
    out = capsys.readouterr().out
    assert [line.split(" (")[0].rsplit(" ", 1)[-1] for line in out.splitlines()] == [
        "started", "Queued", "InProgress", "Succeeded"
    ]  # fmt: skip
    assert "Succeeded (1.5 min)" in out and factory.cancelled == []


def test_a_failed_run_fails_the_stage_with_the_pipelines_own_message_on_one_line(smoke_run, capsys):
    message = "Operation on target train failed: No rows to train on:\n  the history is empty"
    factory = Factory("InProgress", "Failed", message=message)

    assert smoke(smoke_run, factory) == 1

    captured = capsys.readouterr()
    expected = (
        "pl_model_training run run-1 in adf-model-uat Failed: Operation on target train failed: "
        "No rows to train on: the history is empty"
    )
    assert captured.err == f"error: {expected}\n"
    assert f"##vso[task.logissue type=error]{expected}\n" in captured.out


def test_a_cancelled_run_fails_the_stage(smoke_run, capsys):
    assert smoke(smoke_run, Factory("InProgress", "Cancelled", message="Cancelled by someone@contoso.com")) == 1
    assert "Cancelled: Cancelled by someone@contoso.com" in capsys.readouterr().err


def test_a_run_past_its_timeout_is_cancelled_and_fails_the_stage(smoke_run, capsys):
    factory = Factory("Queued", "InProgress")

    assert smoke(smoke_run, factory, [*ARGS, "--timeout-minutes", "5", "--poll-seconds", "60"]) == 1

    assert factory.cancelled == [("run-1", True)]
    assert factory.now == 5 * 60, "checked once a minute, it gives up at the first check past 5 minutes"
    assert "still InProgress after 5 min: cancelled" in capsys.readouterr().err


def test_the_factory_and_pipeline_are_required(smoke_run, capsys):
    with pytest.raises(SystemExit):
        smoke_run.parse_args(["--subscription-id", "s", "--resource-group", "rg"])
    assert "--factory" in capsys.readouterr().err
