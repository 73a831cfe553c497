"""Feature functions produce exactly the declared columns and types, and the right values."""

import math
from datetime import datetime

import pytest
from pyspark.sql import functions as F

from credit_default import data_source
from credit_default.features import FEATURE_COLUMNS, build_features

pytestmark = pytest.mark.spark


def test_features_match_their_declaration(spark, settings):
    schema = ", ".join(f"{k} {v}" for k, v in data_source.source_columns(settings).items())
    row = ("c1", datetime(2026, 3, 1), 40, 999.0, 0.3, 3, 2, 0.4, 5.0, "SE", "card")
    silver = spark.createDataFrame([row], schema).withColumn("batch_id", F.lit("b1"))
    [out] = build_features(silver, settings).collect()
    keys = [settings.id_column, settings.timestamp_column, "batch_id"]
    assert list(out.asDict()) == keys + list(FEATURE_COLUMNS)
    types = dict(build_features(silver, settings).dtypes)
    assert {name: types[name] for name in FEATURE_COLUMNS} == {
        name: {"INT": "int", "DOUBLE": "double", "STRING": "string"}[t] for name, t in FEATURE_COLUMNS.items()
    }
    assert out["income_log"] == pytest.approx(math.log1p(999.0))
    assert out["income_per_credit_line"] == pytest.approx(999.0 / 4)
    assert out["has_late_payment"] == 1
