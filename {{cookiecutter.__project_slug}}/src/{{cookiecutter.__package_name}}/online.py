"""Requests scored online, judged by the execution pipeline like landed batches: one batch per UTC
day (``online-<date>``) in inference_log, measured by ``metrics`` with the same drift and
performance rules once the day is over (or at once, run by hand with ``--batch online-<date>``).

Locally the API (``serve``) writes each scored row to inference_log itself. On Databricks the
serving endpoint logs every request and response to its inference table (AI Gateway payload
logging, ``<catalog>.<schema>.<model>_online_payload``); :func:`collect` copies each finished day
into inference_log, in the same shape, before the pipeline looks for batches.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import TYPE_CHECKING

from pyspark.sql import functions as F
from pyspark.sql import types as T

from . import features, inference, tables
from .runtime import on_databricks, serving

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from .settings import Settings

# Who wrote the rows of a day copied from the endpoint's inference table (the API writes ``serve-<id>``).
ENDPOINT_RUN_PREFIX = "endpoint-"


def today() -> date:
    return datetime.now(timezone.utc).date()


def refresh(spark: SparkSession, settings: Settings) -> None:
    """On Databricks, the endpoint's finished days that inference_log lacks are copied in (locally the
    API writes inference_log itself)."""
    if on_databricks():
        collect(spark, settings)


def batches(spark: SparkSession, settings: Settings) -> list[str]:
    """Every online batch in inference_log, oldest first (on Databricks, finished days collected first)."""
    refresh(spark, settings)
    return sorted(_logged(spark, settings))


def _logged(spark: SparkSession, settings: Settings) -> set[str]:
    """The online batches inference_log holds."""
    log = spark.table(settings.table("inference_log"))
    online = log.where(F.col("batch_id").startswith(inference.ONLINE_BATCH_PREFIX)).select("batch_id").distinct()
    return {row[0] for row in online.collect()}


def finished(batch: str) -> bool:
    """True once the day of ``batch`` is over (UTC): no request can join it any more."""
    return batch < inference.online_batch(today())


def count(spark: SparkSession, settings: Settings, batch: str, version: str) -> int:
    """The rows of the online ``batch`` that ``version`` scored: what an execution run judges."""
    log = spark.table(settings.table("inference_log"))
    return log.where((F.col("batch_id") == batch) & (F.col("model_version") == version)).count()


def collect(spark: SparkSession, settings: Settings) -> list[str]:
    """Copy the endpoint's finished days that inference_log lacks; the batches written."""
    endpoint = settings.serving.get("endpoint")
    if not endpoint:
        return []
    have = _logged(spark, settings)
    payload = spark.table(serving.payload_table(settings)).where(F.col("request_date") < F.lit(today()))
    days = {inference.online_batch(r[0]) for r in payload.select("request_date").distinct().collect()}
    missing = sorted(days - have)
    if not missing:
        return []
    # system.serving.served_entities names the model version behind each served entity id.
    entities = spark.table("system.serving.served_entities").where(F.col("endpoint_name") == endpoint)
    rows = payload_rows(payload, entities, settings, endpoint)
    tables.replace_batches(rows.where(F.col("batch_id").isin(missing)), settings.table("inference_log"), missing)
    return missing


def payload_rows(payload: DataFrame, entities: DataFrame, settings: Settings, endpoint: str) -> DataFrame:
    """inference_log rows from an inference table's successful requests: one row per scored input row.

    ``payload``: the AI Gateway inference table (``request_date``, ``request_time``, ``status_code``,
    ``request`` and ``response`` as JSON text, ``served_entity_id``…); ``entities``:
    system.serving.served_entities (``served_entity_id``, ``entity_version``). A request is
    ``{"dataframe_records": [...]}`` or ``{"dataframe_split": {"columns": [...], "data": [...]}}``; the
    response ``{"predictions": [...]}``: for a classifier each the probabilities of its classes (the
    model is logged with ``predict_proba`` as its pyfunc), for a regressor the value."""
    names = [settings.id_column, settings.timestamp_column, *features.FEATURE_COLUMNS]
    records = T.StructType([T.StructField("dataframe_records", T.ArrayType(
        T.StructType([T.StructField(n, T.StringType()) for n in names]))),
        T.StructField("dataframe_split", T.StructType([
            T.StructField("columns", T.ArrayType(T.StringType())),
            T.StructField("data", T.ArrayType(T.ArrayType(T.StringType())))]))])
    answer = T.ArrayType(T.ArrayType(T.DoubleType())) if settings.is_classification else T.ArrayType(T.DoubleType())
    parsed = (payload.where(F.col("status_code") == 200)
              .withColumn("_request", F.from_json("request", records))
              .withColumn("_predictions", F.from_json("response", T.StructType([T.StructField("predictions", answer)]))
                          .getField("predictions")))
    split = F.col("_request.dataframe_split")

    def column(values, name: str):  # a column the request does not name is null (array_position 0)
        at = F.array_position(split.getField("columns"), name).cast("int")
        return F.when(at > 0, F.element_at(values, at)).alias(name)

    from_split = F.transform(split.getField("data"), lambda values: F.struct(*[column(values, n) for n in names]))
    # The n-th input row of a request is answered by the n-th prediction.
    inputs = F.coalesce(F.col("_request.dataframe_records"), from_split)
    rows = parsed.select("*", F.posexplode(inputs).alias("_row", "_input"))
    prediction = F.element_at("_predictions", F.col("_row") + 1)
    if settings.is_classification:
        probability = F.element_at(prediction, -1)  # the positive class, as predict_proba orders them
        prediction = (probability >= 0.5).cast("double")
    else:
        probability = F.lit(None).cast("double")
    versions = entities.select("served_entity_id", F.col("entity_version").cast("string").alias("_version"))
    given = {
        settings.timestamp_column: F.coalesce(F.try_to_timestamp(f"_input.{settings.timestamp_column}"),
                                              F.col("request_time")),
        "prediction": prediction.cast("double"),
        "probability": probability,
        "model_name": F.lit(settings.model_name),
        "model_version": F.col("_version"),
        "batch_id": F.concat(F.lit(inference.ONLINE_BATCH_PREFIX), F.date_format("request_date", "yyyy-MM-dd")),
        "pipeline_run_id": F.lit(ENDPOINT_RUN_PREFIX + endpoint),
        "scored_at": F.col("request_time"),
    }
    columns = [(given[name] if name in given else _typed(f"_input.{name}", name)).alias(name)
               for name in inference.log_columns(settings)]
    return rows.join(versions, "served_entity_id", "left").select(*columns)


def _typed(path: str, name: str):
    """A request's value (JSON text) as its declared type: ``35`` and ``35.0`` are both an INT 35."""
    sql_type = features.FEATURE_COLUMNS.get(name, "STRING")
    if sql_type.upper().startswith(inference.NUMERIC_TYPES):
        return F.col(path).cast("double").cast(sql_type)
    return F.col(path).cast(sql_type)
