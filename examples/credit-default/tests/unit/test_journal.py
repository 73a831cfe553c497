"""The local runner's journal: a run that started and never ended (its process killed) is listed
as unfinished, at the activity it reached; ended runs are not."""

import os
import subprocess
import sys

from credit_default.orchestration import journal
from credit_default.settings import load_settings


def test_a_killed_run_is_unfinished_at_its_activity_until_a_later_run_completes(tmp_path, monkeypatch):
    monkeypatch.setenv("MLOPS_LOCAL_DIR", str(tmp_path))
    settings = load_settings("local")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    journal.record(settings, "killed", "started", pipeline="training", pid=gone.pid)
    journal.record(settings, "killed", "activity", activity="clean")
    journal.record(settings, "ended", "started", pipeline="execution", pid=gone.pid)
    journal.record(settings, "ended", "activity", activity="deploy")
    journal.record(settings, "ended", "ended", status="failed")
    journal.record(settings, "running", "started", pipeline="execution", pid=os.getppid())
    unfinished = {run["run_id"]: run for run in journal.unfinished(settings)}
    assert set(unfinished) == {"killed", "running"}
    assert (unfinished["killed"]["pipeline"], unfinished["killed"]["activity"]) == ("training", "clean")
    assert unfinished["killed"]["running"] is False and unfinished["running"]["running"] is True
    assert journal.runs(settings)["ended"]["status"] == "failed"
    assert not unfinished["killed"]["completed_since"]
    journal.record(settings, "rerun", "started", pipeline="training", pid=gone.pid)
    journal.record(settings, "rerun", "ended", status="succeeded")
    with (tmp_path / "runs.jsonl").open("a") as handle:
        handle.write('{"run_id": "half-written", "ev')  # a line another command is writing
    assert {r["run_id"]: r["completed_since"] for r in journal.unfinished(settings)} == {"killed": True, "running": False}
