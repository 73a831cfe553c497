"""promote (deploy automático): the challenger that passed the gate in this pipeline run becomes
``@champion`` and the former champion ``@previous_champion``. A candidate that failed the gate
never touches the champion: the stage succeeds, says "not promoted" and why. A promotion of the
better of two failing models (see ``evaluation.gate``) returns an ``alert``: the training
pipeline's ``promotion_alert`` fails the run on purpose, after the promotion, so a person looks.
Where the environment has a Model Serving endpoint, it serves the new champion before the stage
ends (the execution pipeline's ``deploy`` checks it again at every run)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mlflow
from mlflow import MlflowClient

from .. import registry
from ..runtime import serving

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from . import StageContext


def execute(spark: SparkSession, ctx: StageContext) -> dict[str, Any]:
    client = MlflowClient()
    name = ctx.settings.model_name
    # The version evaluate judged (handed on by the orchestrator), else the newest this run registered.
    wanted = ctx.params.get("model_version")
    candidates = [registry.get_version(client, name, wanted)] if wanted else registry.versions_of_run(
        client, name, ctx.pipeline_run_id)
    candidate = candidates[-1] if candidates else None
    challenger = registry.version_by_alias(client, name, registry.CHALLENGER)
    current = registry.version_by_alias(client, name, registry.CHAMPION)
    passed = candidate is not None and candidate.tags.get(registry.TAG_GATE) == "passed"
    if not passed or challenger is None or challenger.version != candidate.version:
        reason = (
            candidate.tags.get(registry.TAG_REASON, "not evaluated") if candidate is not None
            else f"no version was registered by run {ctx.pipeline_run_id}"
        )
        return {
            "promoted": False,
            "champion_version": current.version if current is not None else None,
            "reason": reason,
            "alert": "",
        }
    promotion = registry.promote(client, name, challenger.version)
    with mlflow.start_run(run_name=ctx.stage) as run:
        ctx.record.mlflow_run_id = run.info.run_id
        mlflow.set_tags({registry.TAG_RUN: ctx.pipeline_run_id, "stage": ctx.stage,
                         "champion_version": promotion.champion,
                         "previous_champion_version": promotion.previous_champion or ""})
    endpoint = serving.point_endpoint(ctx.settings, promotion.champion)
    alert = candidate.tags.get(registry.TAG_ALERT, "")
    return {
        "promoted": True,
        "serving_endpoint": endpoint,
        "champion_version": promotion.champion,
        "previous_champion_version": promotion.previous_champion,
        # Non-empty: the factory run fails on purpose after the promotion, so that a person looks.
        "alert": f"v{promotion.champion} promoted with an alert: {alert}" if alert else "",
    }
