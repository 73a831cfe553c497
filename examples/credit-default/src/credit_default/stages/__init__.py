"""One module per stage of the loop; a stage's name is its module, its notebook, its Data Factory
activity, its MLflow run name and its ``pipeline_runs.stage`` value.

Every notebook makes one call, :func:`run_stage`, which resolves the settings of the environment,
records the stage in ``pipeline_runs`` (started → succeeded / failed) and returns the stage's
result: the JSON the notebook hands to ``dbutils.notebook.exit``.
"""

from __future__ import annotations

import importlib
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..records import StageRecord, recorded_stage
from ..runtime.tracking import configure_mlflow
from ..settings import Settings, load_settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# Stage → pipeline it belongs to (Esteira 1: training, Esteira 2: execution).
PIPELINE_OF = {
    "ingest": "training",
    "clean": "training",
    "features": "training",
    "train": "training",
    "evaluate": "training",
    "promote": "training",
    "deploy": "execution",
    "predict": "execution",
    "metrics": "execution",
    "evaluate_metrics": "execution",
}


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
    """Run ``stage`` for ``env`` as part of ``pipeline_run_id`` and return its result."""
    if stage not in PIPELINE_OF:
        raise ValueError(f"unknown stage {stage!r}; stages are {', '.join(PIPELINE_OF)}")
    settings = load_settings(env)
    # A notebook run by hand has no orchestrator run id: give it one that says so.
    run_id = pipeline_run_id or f"manual-{uuid.uuid4()}"
    configure_mlflow(settings)
    module = importlib.import_module(f"{__name__}.{stage}")
    with recorded_stage(
        spark, settings, pipeline=PIPELINE_OF[stage], stage=stage, pipeline_run_id=run_id, trigger_time=trigger_time
    ) as record:
        context = StageContext(settings, stage, PIPELINE_OF[stage], run_id, trigger_time, params, record)
        record.output = module.execute(spark, context)
    return {"stage": stage, "pipeline_run_id": run_id, **record.output}
