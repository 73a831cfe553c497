"""ingest (Coleta): new labelled batches from the data source → ``bronze``.

A batch is taken once its labels have arrived, checked against the source's schema contract
(a schema break stops here, before anything is written) and written with its ``batch_id`` and
``ingested_at``; columns beyond the declared ones are left out, and named in the stage's output.
Batches already in bronze are skipped, so a rerun adds nothing twice. The
execution pipeline's ``metrics`` lands the batches it measures the same way, as their labels arrive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
    landed = land(spark, ctx.settings, sources.active().list_batches(spark, ctx.settings))
    output = {"batches": landed.batches, "rows": landed.rows, "waiting_for_labels": landed.waiting}
    if landed.extra_columns:
        output["extra_columns"] = landed.extra_columns
    return output


@dataclass
class Landed:
    """What :func:`land` wrote: the batches, their rows, the batches still waiting for their labels,
    and per batch the columns it had beyond the declared ones (read, and left out)."""

    batches: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    rows: int = 0
    extra_columns: dict[str, str] = field(default_factory=dict)


def land(spark: SparkSession, settings: Settings, batches: list[str]) -> Landed:
    """Write the labelled ones of ``batches`` that bronze lacks into bronze, in one commit. Also
    called by ``metrics`` for the batches whose labels it has just measured, so that history keeps up."""
    bronze = settings.table("bronze")
    done = tables.batch_ids(spark, bronze)
    keys = [settings.id_column, settings.timestamp_column]
    declared = sources.labelled_columns(settings)
    source = sources.active()
    frames, landed = [], Landed()
    for batch in batches:
        if batch in done:
            continue
        labels = source.read_labels(spark, settings, batch)
        if labels is None:
            landed.waiting.append(batch)
            continue
        rows = source.read_batch(spark, settings, batch)
        extra = [name for name in rows.columns if name not in declared]
        if extra:
            landed.extra_columns[batch] = ", ".join(extra)
        # Each side read as declared before they meet: a key that does not parse is a schema break,
        # not a failed comparison inside the join.
        rows = conform(rows, sources.source_columns(settings), f"batch {batch}")
        labels = conform(labels, sources.label_columns(settings), f"the labels of batch {batch}")
        rows = rows.join(labels, keys, "left").select(*declared)
        frames.append(rows.withColumn("batch_id", F.lit(batch)))
        landed.batches.append(batch)
    if frames:
        new_rows = reduce(lambda a, b: a.unionByName(b), frames).withColumn("ingested_at", F.current_timestamp())
        landed.rows = tables.replace_batches(new_rows, bronze, landed.batches)
    return landed
