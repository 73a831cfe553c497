"""Training at scale: the training pipeline on histories of growing size, with the project's own
model (``model.py``: a scikit-learn estimator or a Spark ML pipeline), and the driver's peak memory.

For each size, a project of its own (schema, registered model, landing folder) lands a 90-day
history of that many rows (not timed), then the six training notebooks run once and register its
first champion. The figures: the pipeline's seconds, the ``train`` notebook's, and the peak resident
memory of the driver's two processes over the run, the Spark JVM and this Python process (their
high-water marks, reset after the history is landed). A scikit-learn model is fitted on a pandas
frame collected into this process; a Spark ML one is fitted on the engine, its data never collected.

A size that fails is reported with the pipeline's one-line error, and the sizes after it still run:
what a library does at a size it cannot handle is a figure too. The peaks are read from Linux's
``/proc``; elsewhere they are not measured.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from credit_default import model, modelling, simulator
from credit_default.orchestration.runner import PipelineFailed, run_pipeline
from credit_default.settings import Settings


def library(settings: Settings) -> str:
    """The library ``model.py`` builds with: what ``train`` fits."""
    return modelling.library_of(model.build_model(settings, dict(settings.training_rules.model_params)))


def _spark_jvms() -> list[int]:
    """The JVMs this process started: an in-process Spark session's driver. None through Spark
    Connect, whose driver is the engine's process, shared with other clients."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # "pid (command) state ppid …": the command may hold spaces, not the closing ") ".
            head, _, rest = stat.read_text().rpartition(") ")
        except OSError:
            continue
        if head.partition("(")[2] == "java" and int(rest.split()[1]) == os.getpid():
            found.append(int(stat.parent.name))
    return found


def _reset_peak(pid: int) -> None:
    """Start the process's high-water mark of resident memory again from its current size."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        pass


def _peak_mb(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    kilobytes = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), None)
    return None if kilobytes is None else kilobytes / 1024


def bench_training(spark, project: Callable[[str], Settings], sizes: list[int], log: Callable[[str], None]) -> list[dict[str, Any]]:
    """``project(name)``: the settings of a fresh project of its own, its tables and MLflow set up."""
    results = []
    for rows in sizes:
        settings = project(f"train{rows}")
        log(f"training at scale: landing a history of {rows:,} rows")
        simulator.write_history(settings, rows)
        gc.collect()
        processes = {"jvm": _spark_jvms(), "python": [os.getpid()]}
        for pids in processes.values():
            for pid in pids:
                _reset_peak(pid)
        began, error, stages = time.perf_counter(), None, {}
        try:
            outcomes = run_pipeline(spark, settings, "training", echo=lambda line: log(f"  {line}"))
            stages = {outcome.stage: outcome.seconds for outcome in outcomes}
        except PipelineFailed as failed:
            error = str(failed).splitlines()[0] if str(failed) else "failed"
        seconds = time.perf_counter() - began
        peaks = {name: max((p for p in map(_peak_mb, pids) if p is not None), default=None)
                 for name, pids in processes.items()}
        results.append({"rows": rows, "library": library(settings), "seconds": seconds, "train_seconds": stages.get("train"),
                        "peak_jvm_mb": peaks["jvm"], "peak_python_mb": peaks["python"], "error": error})
        log(f"training pipeline, {rows:,} rows: {seconds:.1f}s" + (f", failed: {error}" if error else ""))
    return results
