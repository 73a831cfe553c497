"""evaluate_metrics (Avaliar as métricas): apply the rules of ``conf/monitoring.yml`` to what
metrics measured and write one row to ``monitoring_decisions``: satisfactory, retrain or alert,
the rule that fired and every number it looked at. Data Factory reads that row (view
``latest_decision``) and calls the training pipeline on ``retrain``.
{%- if cookiecutter.observability == 'datadog' %}
Once the row is written, the run's figures go to Datadog (``monitoring/datadog.py``).
{%- endif %}
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pyspark.sql import functions as F
from pyspark.sql import types as T

from .. import tables
{%- if cookiecutter.observability == 'datadog' %}
from ..monitoring import datadog
{%- endif %}
from ..monitoring.rules import Evidence, Rules, decide, retrain_history
from ..records import now
from .deploy import version_of_run

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from ..settings import Settings
    from . import StageContext

DECISIONS_SCHEMA = T.StructType(
    [
        T.StructField("model_name", T.StringType(), False),
        T.StructField("model_version", T.StringType(), False),
        T.StructField("batch_id", T.StringType(), False),
        T.StructField("decision", T.StringType(), False),
        T.StructField("rule", T.StringType(), False),
        T.StructField("inputs", T.StringType(), False),
        T.StructField("pipeline_run_id", T.StringType(), False),
        T.StructField("decided_at", T.TimestampType(), False),
    ]
)


def execute(spark: SparkSession, ctx: StageContext) -> dict[str, Any]:
    settings = ctx.settings
    rules = Rules.from_settings(settings)
    champion = version_of_run(ctx)
    # What predict handed on: the batch it scored (or why it could not).
    scored = {"batch_id": ctx.params.get("batch_id") or None, "schema_break": ctx.params.get("schema_break") or None}
    evidence = gather(spark, settings, rules, ctx.pipeline_run_id, champion, scored)
    decision = decide(evidence, rules)
    row = (settings.model_name, champion, evidence.batch_id or "", decision.decision, decision.rule,
           json.dumps(decision.inputs, default=str, sort_keys=True), ctx.pipeline_run_id, now())
    tables.append_rows(spark, settings, "monitoring_decisions_log", [row], DECISIONS_SCHEMA)
{%- if cookiecutter.observability == 'datadog' %}
    datadog.report(settings, evidence, decision, rules)
{%- endif %}
    return {"decision": decision.decision, "rule": decision.rule, "batch_id": evidence.batch_id or "",
            "model_version": champion, "production": evidence.batch_production,
            "evidence": summary(evidence, decision.inputs.get("fired", []))}


def summary(evidence: Evidence, fired: list[str]) -> dict[str, Any]:
    """The numbers behind the decision, small enough for the notebook's exit value."""
    return {"fired": fired, "pass_rate": evidence.pass_rate, "drifted_features": len(evidence.drifted_features),
            "features": evidence.feature_count, "max_psi": evidence.max_psi,
            "prediction_psi": evidence.prediction_psi, "rule_failure_rates": evidence.rule_failure_rates,
            "extra_columns": evidence.extra_columns, "schema_break": evidence.schema_break}


def gather(spark: SparkSession, settings: Settings, rules: Rules, run_id: str, champion: str,
           scored: dict[str, Any]) -> Evidence:
    """The evidence for this run, from the metrics table and earlier decisions."""
    batch = scored.get("batch_id")
    evidence = Evidence(champion_version=champion, batch_id=batch, schema_break=scored.get("schema_break"))
    # One query for all: this batch's measures, its production metrics (once labelled) and the
    # champion's production performance.
    this_batch = (F.col("batch_id") == (batch or "")) & F.col("dataset").isin("batch", "production")
    production = ((F.col("dataset") == "production") & (F.col("metric_name") == rules.metric)
                  & (F.col("model_version") == champion))
    measured = spark.table(settings.table("metrics")).where(
        (F.col("model_name") == settings.model_name) & (F.col("stage") == "metrics") & (this_batch | production)
    ).collect()
    if batch and not evidence.schema_break:
        rows = [r for r in measured if r["dataset"] == "batch"]
        by_name = {(r["metric_name"], r["feature"]): r for r in rows}
        if ("rows", "") in by_name:
            evidence.rows = int(by_name[("rows", "")]["metric_value"])
        if ("pass_rate", "") in by_name:
            evidence.pass_rate = by_name[("pass_rate", "")]["metric_value"]
        if ("extra_columns", "") in by_name:
            evidence.extra_columns = by_name[("extra_columns", "")]["details"]
        evidence.rule_failure_rates = {r["feature"]: r["metric_value"] for r in rows if r["metric_name"] == "rule_failure_rate"}
        deciding = [r for r in rows if r["threshold"] is not None and r["metric_name"] in
                    ("population_stability_index", "js_distance")]
        inputs = [r for r in deciding if r["feature"] != "prediction"]
        evidence.feature_count = len(inputs)
        evidence.drifted_features = sorted(r["feature"] for r in inputs if r["passed"] is False)
        psi = [r["metric_value"] for r in rows if r["metric_name"] == "population_stability_index" and r["feature"] != "prediction"]
        evidence.max_psi = max(psi) if psi else None
        prediction = by_name.get(("population_stability_index", "prediction"))
        if prediction is not None:
            evidence.prediction_psi = prediction["metric_value"]
            evidence.prediction_drifted = prediction["passed"] is False
    evidence.batch_production = {r["metric_name"]: r["metric_value"] for r in measured
                                 if r["dataset"] == "production" and r["batch_id"] == (batch or "")
                                 and r["model_version"] == champion}
    performance = sorted((r for r in measured if r["dataset"] == "production" and r["metric_name"] == rules.metric
                          and r["model_version"] == champion), key=lambda r: r["batch_id"], reverse=True)[: rules.window]
    evidence.performance = [(r["batch_id"], r["metric_value"]) for r in performance]
    history = (
        spark.table(settings.table("monitoring_decisions"))
        .where((F.col("model_name") == settings.model_name) & (F.col("pipeline_run_id") != run_id))
        .orderBy("decided_at")
        .select("decision", "model_version")
        .collect()
    )
    evidence.runs_since_promotion, evidence.failed_retrains_in_a_row = retrain_history(
        [(r["decision"], r["model_version"]) for r in history], champion
    )
    return evidence
