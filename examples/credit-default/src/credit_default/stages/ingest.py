"""ingest (Coleta): new labelled batches from the data source → ``bronze``.

A batch is taken once its labels have arrived, checked against the source's schema contract
(a schema break stops here, before anything is written) and written with its ``batch_id`` and
``ingested_at``. Batches already in bronze are skipped, so a rerun adds nothing twice. The
execution pipeline's ``metrics`` lands the batches it measures the same way, as their labels arrive.
"""

from __future__ import annotations

from functools import reduce
from typing import TYPE_CHECKING, Any

from pyspark.sql import functions as F

from .. import sources, tables
from ..quality import conform

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from ..settings import Settings
    from . import StageContext


def execute(spark: SparkSession, ctx: StageContext) -> dict[str, Any]:
    settings = ctx.settings
    taken, waiting, count = land(spark, settings, sources.active().list_batches(spark, settings))
    return {"batches": taken, "rows": count, "waiting_for_labels": waiting}


def land(spark: SparkSession, settings: Settings, batches: list[str]) -> tuple[list[str], list[str], int]:
    """Write the labelled ones of ``batches`` that bronze lacks into bronze, in one commit:
    (batches written, batches still waiting for their labels, rows written). Also called by
    ``metrics`` for the batches whose labels it has just measured, so that history keeps up."""
    bronze = settings.table("bronze")
    done = tables.batch_ids(spark, bronze)
    keys = [settings.id_column, settings.timestamp_column]
    source = sources.active()
    frames, taken, waiting = [], [], []
    for batch in batches:
        if batch in done:
            continue
        labels = source.read_labels(spark, settings, batch)
        if labels is None:
            waiting.append(batch)
            continue
        rows = source.read_batch(spark, settings, batch).join(
            labels.select(*keys, settings.target_column), keys, "left"
        )
        rows = conform(rows, sources.labelled_columns(settings), f"batch {batch}")
        frames.append(rows.withColumn("batch_id", F.lit(batch)))
        taken.append(batch)
    count = 0
    if frames:
        new_rows = reduce(lambda a, b: a.unionByName(b), frames).withColumn("ingested_at", F.current_timestamp())
        count = tables.replace_batches(new_rows, bronze, taken)
    return taken, waiting, count
