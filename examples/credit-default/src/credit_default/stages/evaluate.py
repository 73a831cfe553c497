"""evaluate: the candidate trained in this pipeline run against the thresholds and against the
current ``@champion``, both scored on the same holdout (the candidate's pinned data versions).
Passing makes it ``@challenger``; failing leaves the registry alone. A candidate that passes only
by replacing a champion that fails the thresholds further (``conf/training.yml`` →
``gate.replace_failing_champion``) carries an ``alert`` that promote hands on. Either way every metric,
its threshold and the gate's reason go to the metrics table, the MLflow run and the version's tags.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mlflow
from mlflow import MlflowClient

from .. import evaluation, modelling, registry
from ..records import Metric, write_metrics
from ..training import load_training_set

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from . import StageContext


def execute(spark: SparkSession, ctx: StageContext) -> dict[str, Any]:
    settings = ctx.settings
    client = MlflowClient()
    name = settings.model_name
    candidates = registry.versions_of_run(client, name, ctx.pipeline_run_id)
    wanted = ctx.params.get("model_version") or (candidates[-1].version if candidates else "")
    if not wanted:
        raise LookupError(f"no version of {name} was registered by run {ctx.pipeline_run_id}: run train first")
    candidate = registry.get_version(client, name, wanted)
    candidate_model = modelling.load(f"models:/{name}/{wanted}")
    data = load_training_set(
        spark, settings, candidate.tags.get("features_version"), candidate.tags.get("silver_version"),
        library=modelling.library_of(candidate_model),
    )
    candidate_metrics = modelling.score_holdout(candidate_model, data, settings).metrics
    champion = registry.version_by_alias(client, name, registry.CHAMPION)
    champion_metrics = None
    if champion is not None and champion.version != wanted:
        champion_model = modelling.load(f"models:/{name}@{registry.CHAMPION}")
        champion_metrics = modelling.score_holdout(champion_model, data, settings).metrics
    data.release()
    result = evaluation.gate(settings.problem_type, settings.training_rules.gate, candidate_metrics, champion_metrics)

    client.set_model_version_tag(name, wanted, registry.TAG_GATE, "passed" if result.passed else "failed")
    client.set_model_version_tag(name, wanted, registry.TAG_REASON, result.reason[:5000])
    if result.alert:
        client.set_model_version_tag(name, wanted, registry.TAG_ALERT, result.alert[:5000])
    already_champion = champion is not None and champion.version == wanted
    if result.passed and not already_champion:
        client.set_registered_model_alias(name, registry.CHALLENGER, wanted)

    with mlflow.start_run(run_name=ctx.stage) as run:
        ctx.record.mlflow_run_id = run.info.run_id
        mlflow.set_tags({registry.TAG_RUN: ctx.pipeline_run_id, "stage": ctx.stage, "model_version": wanted,
                         "gate": "passed" if result.passed else "failed", "gate_reason": result.reason[:5000]})
        mlflow.log_metrics({f"candidate_{k}": v for k, v in candidate_metrics.items()})
        if champion_metrics:
            mlflow.log_metrics({f"champion_{k}": v for k, v in champion_metrics.items()})

    write_metrics(spark, settings, ctx.stage, ctx.pipeline_run_id,
                  _rows(settings, wanted, champion, candidate_metrics, champion_metrics, result, data.data_version))
    return {
        "model_version": wanted,
        "champion_version": champion.version if champion is not None else None,
        "passed": result.passed,
        "reason": result.reason,
        "alert": result.alert,
        settings.primary_metric: round(candidate_metrics[settings.primary_metric], 6),
    }


def _rows(settings, version, champion, candidate_metrics, champion_metrics, result, data_version) -> list[Metric]:
    problem = settings.problem_type
    rows = []
    for metric, value in candidate_metrics.items():
        threshold = result.thresholds.get(metric)
        rows.append(
            Metric(
                metric, value, "holdout", model_version=version, data_version=data_version,
                threshold=threshold,
                comparison=evaluation.comparison(problem, metric) if threshold is not None else None,
                passed=evaluation.meets(problem, metric, value, threshold) if threshold is not None else None,
            )
        )
    if champion_metrics is not None:
        rows += [
            Metric(metric, value, "champion_on_holdout", model_version=version, feature=f"champion_v{champion.version}",
                   data_version=data_version)
            for metric, value in champion_metrics.items()
        ]
    rows.append(Metric("gate", 1.0 if result.passed else 0.0, "holdout", model_version=version,
                       passed=result.passed, details=result.reason, data_version=data_version))
    return rows
