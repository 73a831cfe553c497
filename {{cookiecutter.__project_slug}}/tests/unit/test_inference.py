"""Scoring in Spark gives what the estimator gives in pandas, row for row, and deserialises the
model once per Python worker, not once per Arrow batch."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import cloudpickle
import numpy as np
import pandas as pd
import pytest
from pyspark.sql import functions as F

from {{ cookiecutter.__package_name }} import cleaning, features, inference, simulator

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def batch(spark, settings):
    """A clean simulated batch as model inputs (Spark), its rows in pandas, and a model fitted on them."""
    raw = simulator.generate(settings, 1, 3_000, simulator.Scenario(dirty_fraction=0.0))
    frame = features.build_features(
        cleaning.standardize(spark.createDataFrame(raw)).withColumn("batch_id", F.lit("b0001")), settings
    ).repartition(4)
    rows = frame.toPandas().set_index(settings.id_column)
    target = raw.set_index(settings.id_column).loc[rows.index, settings.target_column]
    fitted = scikit_learn_model(settings).fit(rows[list(features.FEATURE_COLUMNS)], target)
    return frame, rows, fitted


def scikit_learn_model(settings):
    """A scikit-learn model of the declared features, built here rather than by model.py: a champion
    may be a scikit-learn model whichever library model.py uses now."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OrdinalEncoder

    categorical = list(features.CATEGORICAL_FEATURES)
    numeric = [name for name in features.FEATURE_COLUMNS if name not in categorical]
    encode = ColumnTransformer([
        ("categories", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), categorical),
        ("numbers", "passthrough", numeric),
    ])
    estimator = HistGradientBoostingClassifier if settings.is_classification else HistGradientBoostingRegressor
    return Pipeline([("encode", encode), ("model", estimator(max_iter=20, random_state=0))])


def test_spark_scores_equal_the_estimators_row_for_row(batch, settings):
    frame, rows, fitted = batch
    scored = inference.score(frame, inference.LoadedModel("m", "1", fitted), settings)
    assert scored.columns == [*frame.columns, "prediction", "probability"]
    result = scored.toPandas().set_index(settings.id_column).loc[rows.index]
    x = rows[list(features.FEATURE_COLUMNS)]
    if settings.is_classification:
        expected = fitted.predict_proba(x)[:, 1]
        np.testing.assert_allclose(result["probability"], expected, rtol=0, atol=1e-12)
        assert (result["prediction"] == (expected >= 0.5).astype(float)).all()
    else:
        np.testing.assert_allclose(result["prediction"], fitted.predict(x), rtol=0, atol=1e-9)
        assert result["probability"].isna().all()
    # The other columns come back as they went in.
    pd.testing.assert_frame_equal(result[rows.columns], rows, check_like=True)


class CountedLoads:
    """Wraps the estimator; every deserialisation appends a line to ``log``."""

    def __init__(self, estimator, log: str) -> None:
        self.estimator, self.log = estimator, log

    def __setstate__(self, state) -> None:
        self.__dict__.update(state)
        with open(self.log, "a", encoding="utf-8") as handle:
            handle.write("loaded\n")

    def predict_proba(self, x):
        return self.estimator.predict_proba(x)

    def predict(self, x):
        return self.estimator.predict(x)


def test_the_model_is_deserialised_once_per_worker_not_per_arrow_batch(batch, settings, spark, tmp_path):
    frame, rows, fitted = batch
    log = tmp_path / "loads.log"
    # Workers cannot import this test module: ship the wrapper's code inside the payload.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    previous = spark.conf.get("spark.sql.execution.arrow.maxRecordsPerBatch")
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "100")  # 30 Arrow batches
    try:
        loaded = inference.LoadedModel("m", "counted", CountedLoads(fitted, str(log)))
        assert inference.score(frame, loaded, settings).where(F.col("prediction").isNotNull()).count() == len(rows)
    finally:
        spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", previous)
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    loads = Path(log).read_text(encoding="utf-8").count("loaded")
    assert 1 <= loads <= (os.cpu_count() or 1)  # local[*]: at most one Python worker per core
