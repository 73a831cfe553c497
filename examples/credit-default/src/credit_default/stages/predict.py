"""predict (Acionamento, Predição, Gravar os dados): score the next landed batch with the version
deploy chose and write it to ``inference_log`` (replacing the batch's rows if it was scored
before). Rows failing cleaning.py's expectations are not scored; metrics reports how many. A
batch that breaks the schema is not scored at all: the stage succeeds and says so, so that
evaluate_metrics can raise an alert instead of the run dying silently. With no landed batch
waiting, the next batch is a finished day of online requests (``online.py``): scored already,
request by request, so predict only counts the rows the run's version scored.

Its result always has ``batch_id``, ``model_version``, ``rows_scored``, ``schema_break`` and
``quality`` (empty strings when there is no batch or no break): the factory hands them to metrics
and evaluate_metrics as parameters. ``quality`` is the batch's counts under the expectations and
its extra columns, as JSON, counted while the batch was scored: metrics does not check the batch
again.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from pyspark.sql import functions as F

from .. import cleaning, features, inference, online, sources, tables
from ..quality import FAILED_RULES, BatchQuality, SchemaBreakError, conform, expectations, flag, summarize
from .deploy import version_of_run

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from ..settings import Settings
    from . import StageContext


def next_batch(spark: SparkSession, settings: Settings) -> str | None:
    """The oldest landed batch with no decision yet and not used for training; when none waits, the
    oldest finished day of online requests with no decision yet."""
    done = tables.batch_ids(spark, settings.table("monitoring_decisions"), settings.table("bronze"))
    pending = [b for b in sources.active().list_batches(spark, settings) if b not in done]
    if not pending:
        pending = [b for b in online.batches(spark, settings) if online.finished(b) and b not in done]
    return pending[0] if pending else None


def checked_rows(spark: SparkSession, settings: Settings, batch: str) -> tuple[DataFrame, list[str]]:
    """The batch's rows, standardised, with the expectations each fails (``_failed_rules``; a key an
    earlier scored batch brought is one), and the columns it has beyond the declared ones (read, and
    left out). Raises SchemaBreakError. predict scores the passing rows; metrics measures the same."""
    raw = sources.active().read_batch(spark, settings, batch)
    declared = sources.source_columns(settings)
    extra = [name for name in raw.columns if name not in declared]
    rows = cleaning.standardize(conform(raw, declared, f"batch {batch}")).withColumn("batch_id", F.lit(batch))
    earlier = spark.table(settings.table("inference_log")).where(F.col("batch_id") != batch)
    return flag(rows, settings, earlier, labelled=False), extra


def scoring_rows(flagged: DataFrame, settings: Settings) -> DataFrame:
    """The rows of :func:`checked_rows` that meet the expectations, as model inputs."""
    return features.build_features(flagged.where(F.size(FAILED_RULES) == 0).drop(FAILED_RULES), settings)


def counted(flagged: DataFrame, settings: Settings, batch: str) -> BatchQuality:
    """The counts of :func:`checked_rows`' batch under the expectations it applied (no rows: empty)."""
    (quality,) = summarize(flagged, expectations(settings, labelled=False)) or [BatchQuality(batch, 0, 0, {})]
    return quality


def handed_quality(quality: BatchQuality, extra: list[str]) -> str:
    """What predict hands metrics about the batch it checked: its counts and its extra columns."""
    return json.dumps({**asdict(quality), "extra_columns": extra}, sort_keys=True)


def received_quality(handed: str) -> tuple[BatchQuality, list[str]]:
    values = json.loads(handed)
    extra = values.pop("extra_columns")
    return BatchQuality(**values), extra


def execute(spark: SparkSession, ctx: StageContext) -> dict[str, Any]:
    settings = ctx.settings
    version = version_of_run(ctx)
    batch = ctx.params.get("batch_id") or next_batch(spark, settings)
    result = {"batch_id": batch or "", "model_version": version, "rows_scored": 0, "schema_break": "", "quality": ""}
    if batch is None:
        return result
    if inference.is_online(batch):
        online.refresh(spark, settings)  # named by hand on Databricks: copied from the endpoint first
        return {**result, "rows_scored": online.count(spark, settings, batch, version)}
    try:
        flagged, extra = checked_rows(spark, settings, batch)
    except SchemaBreakError as error:
        return {**result, "schema_break": str(error)}
    # Counted, then scored: the batch is read and checked once for both. (A Spark observation
    # would count it within the write, but Spark Connect reports only the outermost one of a write.)
    flagged = flagged.cache()
    try:
        quality = counted(flagged, settings, batch)
        scored = inference.score(scoring_rows(flagged, settings), inference.load(settings, version), settings)
        scored = scored.select(*_log_columns(settings, version, ctx.pipeline_run_id))
        count = tables.replace_batches(scored, settings.table("inference_log"), [batch])
    finally:
        flagged.unpersist()
    return {**result, "rows_scored": count, "quality": handed_quality(quality, extra)}


def _log_columns(settings: Settings, version: str, pipeline_run_id: str) -> list:
    given = {"model_name": F.lit(settings.model_name), "model_version": F.lit(version),
             "pipeline_run_id": F.lit(pipeline_run_id), "scored_at": F.current_timestamp()}
    return [given[name].alias(name) if name in given else name for name in inference.log_columns(settings)]
