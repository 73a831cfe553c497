"""Runs a pipeline locally: its notebooks in order, in one Spark session, like one job cluster.

Each notebook gets the parameters an orchestrator gives it (environment, pipeline run id,
trigger time); the first failing stage stops the run and is reported in one line, with its
``pipeline_runs`` row already marked failed by the stage itself.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..runtime.notebooks import NotebookError, run_notebook
from . import PIPELINES, notebook_path

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from ..settings import Settings


class PipelineFailed(RuntimeError):
    """A stage failed; the message names the pipeline, the stage and the cause in one line."""

    def __init__(self, pipeline: str, stage: str, cause: BaseException) -> None:
        cause = cause.cause if isinstance(cause, NotebookError) else cause
        detail = " ".join(str(cause).split()) or cause.__class__.__name__
        super().__init__(f"{pipeline} pipeline failed at {stage}: {detail}")
        self.pipeline, self.stage, self.cause = pipeline, stage, cause


@dataclass(frozen=True)
class StageOutcome:
    stage: str
    output: dict[str, Any]
    seconds: float


def run_pipeline(
    spark: SparkSession,
    settings: Settings,
    pipeline: str,
    *,
    pipeline_run_id: str | None = None,
    echo: Callable[[str], None] = print,
) -> list[StageOutcome]:
    run_id = pipeline_run_id or str(uuid.uuid4())
    parameters = {
        "env": settings.env,
        "pipeline_run_id": run_id,
        "trigger_time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    echo(f"{pipeline} pipeline · run {run_id}")
    outcomes = []
    for stage in PIPELINES[pipeline]:
        started = time.monotonic()
        try:
            value = run_notebook(notebook_path(settings.root, pipeline, stage), spark, parameters)
        except NotebookError as failure:
            echo(f"  {stage:<16} failed")
            raise PipelineFailed(pipeline, stage, failure) from failure
        output = json.loads(value) if value else {}
        outcomes.append(StageOutcome(stage, output, time.monotonic() - started))
        echo(f"  {stage:<16} ok  {outcomes[-1].seconds:5.1f}s  {summary(output)}")
    return outcomes


@dataclass(frozen=True)
class ExecutionRun:
    """An execution pipeline run and, when it decided so, the training run it started."""

    outcomes: list[StageOutcome]
    retraining: list[StageOutcome] | None

    @property
    def decision(self) -> dict[str, Any]:
        return self.outcomes[-1].output

    @property
    def promotion(self) -> dict[str, Any] | None:
        return self.retraining[-1].output if self.retraining else None


def run_execution(
    spark: SparkSession, settings: Settings, *, echo: Callable[[str], None] = print, pipeline_run_id: str | None = None
) -> ExecutionRun:
    """The execution pipeline, then, as the factory's If Condition and Execute Pipeline do, the
    training pipeline when the decision is ``retrain`` (waiting for it: promote ends the retrain)."""
    outcomes = run_pipeline(spark, settings, "execution", pipeline_run_id=pipeline_run_id, echo=echo)
    retraining = None
    if outcomes[-1].output.get("decision") == "retrain":
        retraining = run_pipeline(spark, settings, "training", echo=echo)
    return ExecutionRun(outcomes, retraining)


def summary(output: dict[str, Any]) -> str:
    """The stage's result without the bookkeeping keys, for a one-line progress report."""
    shown = {k: v for k, v in output.items() if k not in ("stage", "pipeline_run_id", "mlflow_run_id")}
    return ", ".join(f"{k}={v}" for k, v in shown.items())
