"""Faults: the command running a pipeline is killed (SIGKILL: no exception, no clean-up) in the middle
of each of the ten stages in turn, and two executions run at the same time.

The kills of a pipeline form one chain, as a bad day would: the command is killed in its first
stage, run again and killed in its second, and so on; the run after the kill in the last stage is
left to finish. So each run after a kill must first complete what the killed one left undone.

After each kill: the champion is unchanged unless promote had moved it (to a version that passed
the gate), no table holds a row twice, and the killed run is listed by ``status`` as unfinished.
The next run completed the killed stage (the last one: the whole pipeline), and after the last run
every row of every batch the chain landed is where it belongs (none lost).

The kill lands mid-stage: the harness waits for the run journal to show the stage under way, then
for half of what the stage took in an earlier run, and checks afterwards that the stage had not
recorded its end; if it had (the stage was quicker this time), the stage is tried again sooner by
the next run of the chain.
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
    rerun_completed: bool = False  # the next run completed the killed stage (the last: the pipeline)
    rows_lost: int = 0  # of the batches landed for this fault, after the chain's last run
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


def _stage_recorded(facts: dict, run_id: str, stage: str, status: str | None = None) -> bool:
    return any(r["pipeline_run_id"] == run_id and r["stage"] == stage and status in (None, r["status"])
               for r in facts["stage_runs"])


def _lost(facts: dict, landed: dict[str, int], pipeline: str) -> int:
    """Rows of ``landed`` healthy batches missing where they belong: silver for the labelled
    history (training), the inference log for a scored batch (execution)."""
    table = "silver" if pipeline == "training" else "inference_log"
    return sum(max(rows - facts["rows"][table].get(batch, 0), 0) for batch, rows in landed.items())


class Chain:
    """The runs of one pipeline's command, each killed in the next stage, until the last."""

    def __init__(self, project: Project, pipeline: str, seconds: dict[str, float]) -> None:
        self.project, self.pipeline, self.seconds = project, pipeline, seconds
        self.batch: str | None = None  # execution: the one batch every run of the chain scores
        self.landed: dict[int, dict[str, int]] = {}  # fault index → the healthy batches landed for it
        self.pending: tuple[FaultCase, str] | None = None  # the last kill whose next run is not checked yet

    def _command(self, index: int | None) -> tuple[str, ...]:
        """Training: a new labelled batch for each killed run (``train`` takes every new one).
        Execution: the same ``execute --batch`` every time, as a person reruns a failed run."""
        if index is not None and (self.pipeline == "training" or self.batch is None):
            batch = self.project.land("healthy")
            self.landed.setdefault(index, {})[batch["batch"]] = batch["rows"]
            self.batch = self.batch or batch["batch"]
        return ("train",) if self.pipeline == "training" else ("execute", "--batch", self.batch)

    def _check_next_run(self, facts: dict, run_id: str) -> None:
        """The run after a kill: did it complete the stage the kill hit?"""
        if self.pending is not None:
            case, stage = self.pending
            case.rerun_completed = _stage_recorded(facts, run_id, stage, "succeeded")
            self.pending = None

    def kill(self, index: int, stage: str) -> FaultCase:
        case = FaultCase(f"SIGKILL in {stage}", self.pipeline)
        project = self.project
        before = project.probe()
        delay = self.seconds.get(stage, 2.0) / 2
        for _ in range(ATTEMPTS):
            process = project.spawn(*self._command(index))
            run_id = _wait_for_stage(project, process.pid, stage, process)
            if run_id is None:
                process.communicate()
                case.notes.append(f"the run ended before {stage} started")
                continue
            time.sleep(delay)
            os.kill(process.pid, signal.SIGKILL)
            process.communicate()
            after = project.probe()
            self._check_next_run(after, run_id)
            if _stage_recorded(after, run_id, stage):
                delay /= 3  # the stage was over already: the next run of the chain tries it again sooner
                before = after
                continue
            case.hit = True
            moved = after["champion"] != before["champion"]
            case.champion_ok = after["champion_gate"] == "passed" and (not moved or stage == "promote")
            case.duplicates = sum(after["duplicates"].values())
            case.shown_unfinished = any(r["run_id"] == run_id and not r["running"] for r in after["unfinished"])
            self.pending = (case, stage)
            break
        return case

    def finish(self, cases: list[FaultCase]) -> None:
        """The last run, to the end; then every batch the chain landed must be whole where it belongs."""
        project = self.project
        done = project.run(*self._command(None))
        final = project.probe()
        if self.pending is not None:  # the pipeline completed: so did the stage the last kill hit
            self.pending[0].rerun_completed = done.returncode == 0
        if done.returncode != 0:
            cases[-1].notes.append(f"last run: {done.err.strip()[-300:]}")
        for index, case in enumerate(cases):
            case.duplicates += sum(final["duplicates"].values())
            case.champion_ok = case.champion_ok and final["champion_gate"] == "passed"
            case.rows_lost = _lost(final, self.landed.get(index, {}), self.pipeline)


def concurrent_executions(project: Project) -> FaultCase:
    """Two executions at once on two batches: both complete, or one fails in one line and completes
    when run again; no row is lost or doubled."""
    case = FaultCase("two executions at once", "execution", hit=True, shown_unfinished=True)
    batches = [project.land("healthy") for _ in range(2)]
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
    case.rows_lost = _lost(final, {b["batch"]: b["rows"] for b in batches}, "execution")
    return case


def run(project: Project) -> list[FaultCase]:
    """The training pipeline's chain of kills, then the execution pipeline's, then the concurrent
    executions. The project has a champion already."""
    seconds: dict[str, float] = {}
    for record in project.probe()["stage_runs"]:
        if record["status"] == "succeeded" and record["seconds"]:
            seconds[record["stage"]] = max(seconds.get(record["stage"], 0.0), float(record["seconds"]))
    stages = project.inside("stages")
    cases = []
    for pipeline in dict.fromkeys(p for _, p in stages):
        chain = Chain(project, pipeline, seconds)
        chained = [chain.kill(index, stage) for index, stage in enumerate(s for s, p in stages if p == pipeline)]
        chain.finish(chained)
        cases += chained
    cases.append(concurrent_executions(project))
    return cases
