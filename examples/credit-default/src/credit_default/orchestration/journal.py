"""The local runner's own record of its pipeline runs, as a factory's monitoring keeps one: a run
is in progress from its start until it ends (succeeded or failed), at the activity it reached.

A stage writes its ``pipeline_runs`` row when it ends; a process killed in the middle of a stage
(SIGKILL, a machine switched off) writes nothing more. This journal says what was under way then:
one line per event appended to ``<local state>/runs.jsonl`` (an append of one short line is atomic,
so concurrent commands share the file), no table commit. ``status`` lists the runs that started
and never ended and whose process is gone. In the factory, its own monitoring shows the same
(a run whose cluster died fails there).
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..runtime.engine import alive

if TYPE_CHECKING:
    from ..settings import Settings


def _file(settings: Settings) -> Path:
    return settings.local_dir / "runs.jsonl"


def record(settings: Settings, run_id: str, event: str, **fields: Any) -> None:
    """Append one event of ``run_id``: ``started`` (pipeline, pid), ``activity`` (its name), ``ended`` (status)."""
    line = {"run_id": run_id, "event": event, "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            **fields}
    path = _file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as journal:
        journal.write(json.dumps(line) + "\n")


def runs(settings: Settings) -> dict[str, dict[str, Any]]:
    """Every run in the journal, oldest first: run id → {pipeline, pid, started, activity, status}."""
    found: dict[str, dict[str, Any]] = {}
    try:
        lines = _file(settings).read_text(encoding="utf-8").splitlines()
    except OSError:
        return found
    for text in lines:
        try:
            event = json.loads(text)
        except ValueError:
            continue  # the end of a line being written
        run = found.setdefault(event["run_id"], {"run_id": event["run_id"], "status": "in progress", "activity": None})
        if event["event"] == "started":
            run.update(pipeline=event.get("pipeline"), pid=event.get("pid"), started=event["at"])
        elif event["event"] == "activity":
            run["activity"] = event.get("activity")
        elif event["event"] == "ended":
            run.update(status=event.get("status"), ended=event["at"])
    return found


def unfinished(settings: Settings) -> list[dict[str, Any]]:
    """Runs that started and never ended, newest first; ``running`` says whether their process is
    alive, ``completed_since`` whether a later run of the same pipeline succeeded (it did the work)."""
    every = [run for run in runs(settings).values() if run.get("started")]
    open_runs = [run for run in every if run["status"] == "in progress"]
    for run in open_runs:
        run["running"] = bool(run.get("pid")) and run["pid"] != os.getpid() and alive(int(run["pid"]))
        run["completed_since"] = any(later["pipeline"] == run["pipeline"] and later["status"] == "succeeded"
                                     and later["started"] >= run["started"] for later in every)
    return sorted(open_runs, key=lambda run: run["started"], reverse=True)
