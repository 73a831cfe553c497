"""Feature functions produce exactly the declared columns and types, for every row."""

import pytest
from pyspark.sql import functions as F

from credit_default import cleaning, simulator, sources
from credit_default.features import FEATURE_COLUMNS, build_features
from credit_default.quality import conform
from credit_default.simulator import Scenario

pytestmark = pytest.mark.spark


def test_features_match_their_declaration(spark, settings):
    raw = simulator.generate(settings, 1, 500, Scenario(dirty_fraction=0)).drop(columns=settings.target_column)
    silver = cleaning.standardize(conform(spark.createDataFrame(raw), sources.source_columns(settings), "sample"))
    built = build_features(silver.withColumn("batch_id", F.lit("b1")), settings)
    keys = [settings.id_column, settings.timestamp_column, "batch_id"]
    assert built.columns == keys + list(FEATURE_COLUMNS)
    declared = spark.createDataFrame([], ", ".join(f"`{k}` {v}" for k, v in FEATURE_COLUMNS.items()))
    assert dict(built.dtypes) == {**dict(built.select(*keys).dtypes), **dict(declared.dtypes)}
    rows = built.toPandas()
    assert len(rows) == 500 and set(rows[settings.id_column]) == set(raw[settings.id_column])
    always_null = [name for name in FEATURE_COLUMNS if rows[name].isna().all()]
    assert not always_null, f"features NULL in every row: {always_null}"
