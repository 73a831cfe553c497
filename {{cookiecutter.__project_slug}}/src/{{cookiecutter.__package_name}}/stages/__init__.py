"""One module per stage of the loop; a stage's name is its module, its notebook, its Data Factory
activity, its MLflow run name and its ``pipeline_runs.stage`` value. Which pipeline a stage belongs
to, and in what order, the factory JSON declares (see ``orchestration``).

Every notebook makes one call, :func:`run_stage`, which resolves the settings of the environment,
records the stage in ``pipeline_runs`` (succeeded / failed, when it ends) and returns the stage's
result: the JSON the notebook hands to ``dbutils.notebook.exit``, which Data Factory hands to the
next stages as their parameters.
"""

from __future__ import annotations

import importlib
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import orchestration
from ..records import StageRecord, recorded_stage
from ..runtime.tracking import configure_mlflow
from ..settings import Settings, load_settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


@dataclass
class StageContext:
    """What every stage receives: the settings, the run it belongs to and its parameters."""

    settings: Settings
    stage: str
    pipeline: str
    pipeline_run_id: str
    trigger_time: str
    params: dict[str, str]
    record: StageRecord


def run_stage(
    stage: str,
    spark: SparkSession,
    *,
    env: str = "local",
    pipeline_run_id: str = "",
    trigger_time: str = "",
    **params: str,
) -> dict[str, Any]:
    """Run ``stage`` for ``env`` as part of ``pipeline_run_id`` and return its result.

    ``params`` are the stage's own widgets (e.g. ``batch_id``); an empty one means "not given"."""
    settings = load_settings(env)
    pipeline = orchestration.stage(settings.root, stage).pipeline
    # A notebook run by hand has no orchestrator run id: give it one that says so.
    run_id = pipeline_run_id or f"manual-{uuid.uuid4()}"
    configure_mlflow(settings)
    module = importlib.import_module(f"{__name__}.{stage}")
    with recorded_stage(
        spark, settings, pipeline=pipeline, stage=stage, pipeline_run_id=run_id, trigger_time=trigger_time
    ) as record:
        context = StageContext(settings, stage, pipeline, run_id, trigger_time, params, record)
        record.output = module.execute(spark, context)
    return {"stage": stage, "pipeline_run_id": run_id, **record.output}
