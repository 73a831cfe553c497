"""EDIT ME (3 of 4) — the features (Feature Store).

``build_features`` turns silver rows into model inputs with PySpark, so the same code runs on a
laptop and on a cluster, at training time and at scoring time (no train/serve skew). The result
is written to the ``features`` Delta table keyed by the id and timestamp columns; on Unity Catalog
that table carries a primary key, which makes it a feature table.

``FEATURE_COLUMNS`` declares each output column and its Spark SQL type: the DDL of the features
and inference_log tables is generated from it, and ``build_features`` casts to it.
``CATEGORICAL_FEATURES`` tells the model which inputs are categories.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark.sql import functions as F

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from .settings import Settings

FEATURE_COLUMNS: dict[str, str] = {
    "age": "INT",
    "income_log": "DOUBLE",
    "debt_ratio": "DOUBLE",
    "utilization": "DOUBLE",
    "credit_lines": "INT",
    "late_payments_12m": "INT",
    "has_late_payment": "INT",
    "employment_years": "DOUBLE",
    "income_per_credit_line": "DOUBLE",
    "region": "STRING",
    "product": "STRING",
}
CATEGORICAL_FEATURES: tuple[str, ...] = ("region", "product")


def build_features(df: DataFrame, settings: Settings) -> DataFrame:
    """Model inputs for every row of ``df`` (silver rows, or a batch to score).

    Keeps the id and timestamp columns (the feature table's key) and ``batch_id``.
    """
    derived = {
        "income_log": F.log1p("income"),
        "has_late_payment": (F.col("late_payments_12m") > 0).cast("int"),
        "income_per_credit_line": F.col("income") / (F.col("credit_lines") + 1),
    }
    keys = [settings.id_column, settings.timestamp_column, "batch_id"]
    columns = [
        (derived[name] if name in derived else F.col(name)).cast(sql_type).alias(name)
        for name, sql_type in FEATURE_COLUMNS.items()
    ]
    return df.select(*keys, *columns)
