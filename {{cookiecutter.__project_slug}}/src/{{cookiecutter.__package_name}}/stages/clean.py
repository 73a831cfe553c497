"""clean (Limpeza): bronze batches not yet cleaned → ``silver`` (good rows) and ``quarantine``
(rows failing an expectation, with the rules they failed; a key another row of the batch repeats,
or that an earlier batch brought, is one: see ``quality``). Data-quality metrics per batch go to
the metrics table; a batch under ``clean.min_pass_rate`` stops the pipeline with nothing written
to silver, so training never sees it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyspark.sql import functions as F

from .. import cleaning, tables
from ..quality import FAILED_RULES, DataQualityError, expectations, flag, summarize
from ..records import Metric, write_metrics

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from . import StageContext


def execute(spark: SparkSession, ctx: StageContext) -> dict[str, Any]:
    settings = ctx.settings
    bronze, silver, quarantine = (settings.table(t) for t in ("bronze", "silver", "quarantine"))
    pending = tables.pending_batches(spark, bronze, silver, quarantine)
    if not pending:
        return {"batches": [], "rows_passed": 0, "rows_quarantined": 0}
    rows = cleaning.standardize(spark.table(bronze).where(F.col("batch_id").isin(pending)))
    # A key silver already holds from another batch is not taken twice (quality.KEY_NEW).
    earlier = spark.table(silver).where(~F.col("batch_id").isin(pending))
    flagged = flag(rows, settings, earlier).cache()
    try:
        summaries = summarize(flagged, expectations(settings))
        floor = settings.training_rules.min_pass_rate
        write_metrics(spark, settings, ctx.stage, ctx.pipeline_run_id, _quality_metrics(summaries, floor))
        failing = [q for q in summaries if q.pass_rate < floor]
        if failing:
            raise DataQualityError(
                "; ".join(
                    f"batch {q.batch_id}: only {q.pass_rate:.0%} of rows met the expectations (floor {floor:.0%}), "
                    f"most failed: {max(q.rule_failures, key=q.rule_failures.get)}"
                    for q in failing
                )
                + " — nothing was written to silver; fix the feed or the rules and rerun"
            )
        good = flagged.where(F.size(FAILED_RULES) == 0).withColumn("cleaned_at", F.current_timestamp())
        tables.replace_batches(good.select(*spark.table(silver).columns), silver, pending)
        bad = flagged.where(F.size(FAILED_RULES) > 0).select(
            F.col(settings.id_column).cast("string").alias(settings.id_column),
            "batch_id",
            F.col(FAILED_RULES).alias("failed_rules"),
            F.to_json(F.struct(*[c for c in rows.columns])).alias("record"),
            F.current_timestamp().alias("quarantined_at"),
        )
        tables.replace_batches(bad, quarantine, pending)
    finally:
        flagged.unpersist()
    return {
        "batches": pending,
        "rows_passed": sum(q.passed for q in summaries),
        "rows_quarantined": sum(q.rows - q.passed for q in summaries),
    }


def _quality_metrics(summaries: list, floor: float) -> list[Metric]:
    metrics = []
    for q in summaries:
        metrics += [
            Metric("rows", q.rows, "bronze", batch_id=q.batch_id),
            Metric("rows_quarantined", q.rows - q.passed, "bronze", batch_id=q.batch_id),
            Metric("pass_rate", q.pass_rate, "bronze", batch_id=q.batch_id, threshold=floor, comparison=">=",
                   passed=q.pass_rate >= floor),
        ]
        metrics += [
            Metric("rule_failures", count, "bronze", batch_id=q.batch_id, feature=rule)
            for rule, count in sorted(q.rule_failures.items())
        ]
    return metrics
