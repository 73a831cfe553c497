"""Faults: the command running a pipeline is killed (SIGKILL: no exception, no clean-up) in the middle
of each of the ten stages in turn, then run again; and two executions run at the same time.

After each kill: the champion is unchanged unless promote had moved it (to a version that passed
the gate), no table holds a row twice, and the killed run is listed by ``status`` as unfinished.
After the rerun: it completed, and every row of every batch is where it belongs (none lost).

The kill lands mid-stage: the harness waits for the run journal to show the stage under way, then
for half of what the stage took in an earlier run, and checks afterwards that the stage had not
recorded its end; if it had (the stage was quicker this time), the case is tried again sooner.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field

from .project import Project

ATTEMPTS = 4
POLL_S = 0.02


@dataclass
class FaultCase:
    """One fault and what the project looked like after it."""

    fault: str
    pipeline: str
    hit: bool = False  # the kill landed while the stage was under way
    champion_ok: bool = False
    duplicates: int = 0
    shown_unfinished: bool = False
    rerun_completed: bool = False
    rows_lost: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def survived(self) -> bool:
        return (self.hit and self.champion_ok and not self.duplicates and self.shown_unfinished
                and self.rerun_completed and not self.rows_lost)


def _wait_for_stage(project: Project, pid: int, stage: str, process, timeout: float = 600) -> str | None:
    """The run id of ``pid``'s run once its journal shows ``stage`` under way (None: it ended first)."""
    deadline = time.monotonic() + timeout
    run_ids: set[str] = set()
    while time.monotonic() < deadline:
        for event in project.journal():
            if event["event"] == "started" and event.get("pid") == pid:
                run_ids.add(event["run_id"])
            elif event["event"] == "activity" and event["run_id"] in run_ids and event.get("activity") == stage:
                return event["run_id"]
        if process.poll() is not None:
            return None
        time.sleep(POLL_S)
    return None


def _stage_recorded(facts: dict, run_id: str, stage: str) -> bool:
    return any(r["pipeline_run_id"] == run_id and r["stage"] == stage for r in facts["stage_runs"])


def _lost(facts: dict, landed: dict[str, int], pipeline: str) -> int:
    """Rows of the healthy batches landed so far missing where they belong: silver for the labelled
    history (training), the inference log for a scored batch (execution)."""
    table = "silver" if pipeline == "training" else "inference_log"
    return sum(max(rows - facts["rows"][table].get(batch, 0), 0) for batch, rows in landed.items())


def kill_mid_stage(project: Project, stage: str, pipeline: str, seconds: float, landed: dict) -> FaultCase:
    """Kill the command in ``stage``, check, run it again, check. ``landed``: healthy batches whose
    rows must all be kept, per pipeline (updated here)."""
    case = FaultCase(f"SIGKILL in {stage}", pipeline)
    before = project.probe()
    delay = seconds / 2
    for _ in range(ATTEMPTS):
        batch = project.land("healthy")
        landed[pipeline][batch["batch"]] = batch["rows"]
        command = ("train",) if pipeline == "training" else ("execute", "--batch", batch["batch"])
        process = project.spawn(*command)
        run_id = _wait_for_stage(project, process.pid, stage, process)
        if run_id is None:
            process.communicate()
            case.notes.append(f"the run ended before {stage} started")
            continue
        time.sleep(delay)
        os.kill(process.pid, signal.SIGKILL)
        process.communicate()
        after = project.probe()
        if _stage_recorded(after, run_id, stage):
            delay /= 3  # the stage was over already: rerun (it also completes what the killed run left) and retry
            project.must(*command)
            before = project.probe()
            continue
        case.hit = True
        moved = after["champion"] != before["champion"]
        case.champion_ok = after["champion_gate"] == "passed" and (not moved or stage == "promote")
        case.duplicates = sum(after["duplicates"].values())
        case.shown_unfinished = any(r["run_id"] == run_id and not r["running"] for r in after["unfinished"])
        done = project.run(*command)
        case.rerun_completed = done.returncode == 0
        if not case.rerun_completed:
            case.notes.append(f"rerun: {done.err.strip()[-300:]}")
        final = project.probe()
        case.duplicates += sum(final["duplicates"].values())
        case.rows_lost = _lost(final, landed[pipeline], pipeline)
        case.champion_ok = case.champion_ok and final["champion_gate"] == "passed"
        break
    return case


def concurrent_executions(project: Project, landed: dict) -> FaultCase:
    """Two executions at once on two batches: both complete, or one fails in one line and completes
    when run again; no row is lost or doubled."""
    case = FaultCase("two executions at once", "execution", hit=True, shown_unfinished=True)
    batches = [project.land("healthy") for _ in range(2)]
    for batch in batches:
        landed["execution"][batch["batch"]] = batch["rows"]
    processes = [project.spawn("execute", "--batch", b["batch"]) for b in batches]
    outputs = [p.communicate() for p in processes]
    completed = True
    for batch, process, (_, err) in zip(batches, processes, outputs):
        if process.returncode == 0:
            continue
        lines = [line for line in err.splitlines() if line.strip()]
        case.notes.append(f"{batch['batch']}: {lines[-1] if lines else process.returncode}")
        completed = completed and len(lines) == 1 and project.run("execute", "--batch", batch["batch"]).returncode == 0
    case.rerun_completed = completed
    final = project.probe()
    # A retrain one of them decided may promote: the champion must still be a version that passed.
    case.champion_ok = final["champion_gate"] == "passed"
    case.duplicates = sum(final["duplicates"].values())
    case.rows_lost = _lost(final, landed["execution"], "execution")
    return case


def run(project: Project) -> list[FaultCase]:
    """Every stage killed in turn (the training pipeline's, then the execution pipeline's), then
    the concurrent executions. The project has a champion already."""
    seconds = {}
    for run in project.probe()["stage_runs"]:
        if run["status"] == "succeeded" and run["seconds"]:
            seconds[run["stage"]] = max(seconds.get(run["stage"], 0.0), float(run["seconds"]))
    landed: dict[str, dict[str, int]] = {"training": {}, "execution": {}}
    cases = [kill_mid_stage(project, stage, pipeline, seconds.get(stage, 2.0), landed)
             for stage, pipeline in project.inside("stages")]
    cases.append(concurrent_executions(project, landed))
    return cases
