"""metrics (Calcular as métricas): measure the batch predict scored in this run — schema, data
quality, drift of every feature and of the prediction against the champion's baseline — and the
production performance of every scored batch whose labels have arrived since. Rows go to the
metrics table (stage ``metrics``) with their thresholds and pass/fail; evaluate_metrics decides.
The batches measured on their labels join the training history (bronze) as ingest lands them.

A day of online requests (``online-<date>``) is measured the same way on the rows the run's
version scored, except its quality: the API refused what did not fit, and logged the model's
inputs, not the source's columns, so its labelled rows never join the training history.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyspark.sql import functions as F

from .. import evaluation, inference, online, sources
from ..monitoring import baseline as baselines
from ..monitoring import drift, performance
from ..monitoring.rules import Rules
from ..quality import SchemaBreakError, conform
from ..records import Metric, write_metrics
from . import ingest, predict
from .deploy import version_of_run

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from ..settings import Settings
    from . import StageContext

# The metrics table's datasets this stage measures: the batch scored, the scored batches on their
# labels, and the labels themselves.
BATCH, PRODUCTION, LABELS = "batch", "production", "labels"


def execute(spark: SparkSession, ctx: StageContext) -> dict[str, Any]:
    settings = ctx.settings
    rules = Rules.from_settings(settings)
    # What predict handed on (by hand: the batch to measure; the rest is read from inference_log,
    # and the batch is checked again).
    batch, broken = ctx.params.get("batch_id") or None, ctx.params.get("schema_break") or None
    version = ctx.params.get("model_version") or (
        version_of_run(ctx) if inference.is_online(batch) else _scored_by(spark, settings, batch) if batch else None)
    rows: list[Metric] = []
    output: dict[str, Any] = {"batch_id": batch or ""}
    if batch:
        if inference.is_online(batch):
            rows += _online_rows(spark, settings, batch, version, ctx.params.get("rows_scored"))
            scored = bool(rows)
        else:
            rows += _schema_and_quality(spark, settings, rules, batch, version or "", broken, ctx.params.get("quality"))
            scored = ctx.params.get("rows_scored") != "0"
        extra = next((m.details for m in rows if m.metric_name == "extra_columns"), None)
        if extra:
            output["extra_columns"] = extra  # read and left out: said, so a renamed column is noticed
        if not broken and version and scored:
            drifts = _drift(spark, settings, rules, batch, version)
            rows += _drift_rows(drifts, batch, version, rules)
            output["drifted_features"] = [d.feature for d in drifts if d.drifted and d.kind != "prediction"]
            output["max_psi"] = round(max(d.psi for d in drifts if d.kind != "prediction"), 4)
            output["prediction_psi"] = round(next(d.psi for d in drifts if d.kind == "prediction"), 4)
    labelled = _performance(spark, settings, rules)
    rows += labelled
    write_metrics(spark, settings, ctx.stage, ctx.pipeline_run_id, rows)
    broken = {m.batch_id: m.details for m in labelled if m.metric_name == "labels_schema_break"}
    if broken:
        output["labels_schema_break"] = broken
    output["labelled_batches"] = sorted({m.batch_id for m in labelled} - set(broken))
    unscored = {m.batch_id: int(m.metric_value) for m in labelled if m.metric_name == performance.UNSCORED and m.metric_value}
    if unscored:
        output["labels_never_scored"] = unscored
    # Labelled batches join the training history now, whatever the decision: the next retrain
    # trains on every one of them (a batch never reaches bronze before its labels do).
    landed = [b for b in output["labelled_batches"] if not inference.is_online(b)]
    output["ingested"] = ingest.land(spark, settings, landed).batches
    return output


def _scored_by(spark, settings: Settings, batch: str) -> str | None:
    """The version that scored ``batch`` (None if it was never scored)."""
    row = spark.table(settings.table("inference_log")).where(F.col("batch_id") == batch).select("model_version").first()
    return row[0] if row else None


def _online_rows(spark, settings: Settings, batch: str, version: str, counted: str | None) -> list[Metric]:
    """How many rows of the day the run's version scored. The rest, if a promotion came that day,
    were judged with the version that scored them, or never will be: it is no longer in charge."""
    rows = int(counted) if counted not in (None, "") else online.count(spark, settings, batch, version)
    return [Metric("rows", rows, BATCH, model_version=version, batch_id=batch)] if rows else []


def _schema_and_quality(spark, settings: Settings, rules: Rules, batch: str, version: str, broken: str | None,
                        handed: str | None) -> list[Metric]:
    rows = [Metric("schema_break", 1.0 if broken else 0.0, BATCH, model_version=version, batch_id=batch,
                   threshold=0.0, comparison="<=", passed=not broken, details=broken)]
    if broken:
        return rows
    if handed:  # counted by predict as it scored the batch
        quality, extra = predict.received_quality(handed)
    else:  # run by hand: the batch is checked again
        flagged, extra = predict.checked_rows(spark, settings, batch)
        quality = predict.counted(flagged, settings, batch)
    rows.append(Metric("extra_columns", len(extra), BATCH, model_version=version, batch_id=batch,
                       details=", ".join(extra) or None))
    if not quality.rows:  # an empty batch
        return rows + [Metric("rows", 0.0, BATCH, model_version=version, batch_id=batch)]
    rows += [
        Metric("rows", quality.rows, BATCH, model_version=version, batch_id=batch),
        Metric("pass_rate", quality.pass_rate, BATCH, model_version=version, batch_id=batch,
               threshold=rules.min_pass_rate, comparison=">=", passed=quality.pass_rate >= rules.min_pass_rate),
    ]
    rows += [
        Metric("rule_failure_rate", count / quality.rows, BATCH, model_version=version, batch_id=batch, feature=rule)
        for rule, count in sorted(quality.rule_failures.items())
    ]
    return rows


def _drift(spark, settings: Settings, rules: Rules, batch: str, version: str) -> list[drift.FeatureDrift]:
    log = spark.table(settings.table("inference_log"))
    frame = log.where((F.col("batch_id") == batch) & (F.col("model_version") == version))
    prediction = "probability" if settings.is_classification else "prediction"
    return drift.measure(
        frame, baselines.load(spark, settings, version), prediction,
        rules.psi_threshold, rules.js_threshold, rules.prediction_psi_threshold,
    )


def _drift_rows(drifts: list[drift.FeatureDrift], batch: str, version: str, rules: Rules) -> list[Metric]:
    rows = []
    for d in drifts:
        common = {"model_version": version, "batch_id": batch, "feature": d.feature}
        measured = {"population_stability_index": d.psi, "js_distance": d.js_distance, "ks_test": d.ks_statistic}
        for name, value in measured.items():
            if value is None:
                continue
            deciding = name == d.deciding_metric
            rows.append(Metric(name, value, BATCH, **common,
                               threshold=d.threshold if deciding else None,
                               comparison="<=" if deciding else None,
                               passed=(not d.drifted) if deciding else None,
                               details="statistic at the baseline's percentiles" if name == "ks_test" else None))
    inputs = [d for d in drifts if d.kind != "prediction"]
    share = sum(d.drifted for d in inputs) / len(inputs) if inputs else 0.0
    rows.append(Metric("drifted_share", share, BATCH, model_version=version, batch_id=batch,
                       threshold=rules.max_drifted_share, comparison="<=", passed=share <= rules.max_drifted_share,
                       details=", ".join(d.feature for d in inputs if d.drifted) or None))
    return rows


def _performance(spark, settings: Settings, rules: Rules) -> list[Metric]:
    """Performance of every scored batch whose labels are present and not yet measured."""
    metrics = settings.table("metrics")
    done = {
        (r["batch_id"], r["model_version"])
        for r in spark.table(metrics)
        .where((F.col("stage") == "metrics") & (F.col("dataset") == PRODUCTION) & (F.col("metric_name") == rules.metric))
        .select("batch_id", "model_version")
        .collect()
    }
    log = spark.table(settings.table("inference_log"))
    scored = [(r["batch_id"], r["model_version"]) for r in log.select("batch_id", "model_version").distinct().collect()]
    keys = [settings.id_column, settings.timestamp_column]
    thresholds = {**settings.training_rules.gate.secondary_thresholds, rules.metric: rules.threshold}
    rows = []
    for batch, version in sorted(scored):
        if (batch, version) in done:
            continue
        labels = sources.active().read_labels(spark, settings, batch)
        if labels is None:
            continue  # labels arrive later than predictions: measured by a later run
        target = settings.target_column
        scored_rows = (log.where((F.col("batch_id") == batch) & (F.col("model_version") == version))
                       .select(*keys, "prediction", "probability"))
        try:
            labels = conform(labels, sources.label_columns(settings), f"the labels of batch {batch}")
        except SchemaBreakError as broken:
            # Not measured, and not taken into the training history, until its labels are fixed; the
            # next runs try again. Said here, without stopping the runs that score new batches.
            rows.append(Metric("labels_schema_break", 1.0, LABELS, model_version=version, batch_id=batch,
                               threshold=0.0, comparison="<=", passed=False, details=str(broken)))
            continue
        # A day of online requests may have been scored by two versions: each is measured on its rows.
        joined = labels.where(F.col(target).isNotNull()).join(scored_rows, keys,
                                                              "inner" if inference.is_online(batch) else "left")
        measured = performance.measure(joined, target, settings.problem_type)
        unscored = measured.pop(performance.UNSCORED)
        rows.append(Metric(performance.UNSCORED, unscored, LABELS, model_version=version, batch_id=batch,
                           threshold=0.0, comparison="<=", passed=not unscored,
                           details="labels whose id and timestamp match no scored row of the batch "
                                   "(quarantined before scoring, or never in it)" if unscored else None))
        for name, value in measured.items():
            limit = thresholds.get(name)
            rows.append(Metric(
                name, value, PRODUCTION, model_version=version, batch_id=batch, threshold=limit,
                comparison=evaluation.comparison(settings.problem_type, name) if limit is not None else None,
                passed=evaluation.meets(settings.problem_type, name, value, limit) if limit is not None else None,
            ))
    return rows
