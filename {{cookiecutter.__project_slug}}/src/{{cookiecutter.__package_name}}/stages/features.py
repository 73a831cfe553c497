"""features (Feature Store): silver batches not yet featurised → the ``features`` table, MERGEd
on the id and timestamp columns (its primary key), so recomputing a batch updates its rows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyspark.sql import Window
from pyspark.sql import functions as F

from .. import features, tables

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from . import StageContext


def execute(spark: SparkSession, ctx: StageContext) -> dict[str, Any]:
    settings = ctx.settings
    silver, table = settings.table("silver"), settings.table("features")
    pending = tables.pending_batches(spark, silver, table)
    if not pending:
        return {"batches": [], "rows": 0, "table_version": tables.table_version(spark, table)}
    keys = [settings.id_column, settings.timestamp_column]
    rows = features.build_features(spark.table(silver).where(F.col("batch_id").isin(pending)), settings)
    # MERGE needs one source row per key: a key seen in several batches keeps the latest batch.
    newest_first = Window.partitionBy(*keys).orderBy(F.col("batch_id").desc())
    rows = (
        rows.withColumn("_rank", F.row_number().over(newest_first))
        .where("_rank = 1")
        .drop("_rank")
        .withColumn("computed_at", F.current_timestamp())
    )
    tables.merge_rows(spark, rows.select(*spark.table(table).columns), table, keys)
    return {
        "batches": pending,
        "rows": spark.table(table).where(F.col("batch_id").isin(pending)).count(),
        "table_version": tables.table_version(spark, table),
    }
