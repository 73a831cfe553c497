"""Production performance computed in Spark equals the gate's scikit-learn metrics on the same rows."""

import numpy as np
import pandas as pd
import pytest

from credit_default.evaluation import compute_metrics
from credit_default.monitoring import performance

pytestmark = pytest.mark.spark


def test_classification_metrics_match_scikit_learn(spark):
    rng = np.random.default_rng(3)
    label = rng.integers(0, 2, 5_000)
    probability = np.clip(0.35 * label + rng.uniform(0, 0.7, 5_000), 0, 1).round(4)  # rounded: ties happen
    frame = pd.DataFrame({"y": label, "probability": probability, "prediction": (probability >= 0.5).astype(float)})
    measured = performance.measure(spark.createDataFrame(frame), "y", "classification")
    expected = compute_metrics("classification", label, frame["prediction"].to_numpy(), probability)
    assert measured.pop(performance.UNSCORED) == 0
    assert measured.keys() == expected.keys()
    for name, value in expected.items():
        assert measured[name] == pytest.approx(value, abs=1e-6), name


def test_regression_metrics_match_scikit_learn(spark):
    rng = np.random.default_rng(5)
    y = rng.lognormal(7, 0.5, 5_000)
    prediction = y * rng.normal(1, 0.2, 5_000)
    frame = pd.DataFrame({"y": y, "prediction": prediction, "probability": np.nan})
    measured = performance.measure(spark.createDataFrame(frame), "y", "regression")
    expected = compute_metrics("regression", y, prediction, None)
    assert measured.pop(performance.UNSCORED) == 0
    assert measured.keys() == expected.keys()
    for name, value in expected.items():
        assert measured[name] == pytest.approx(value, rel=1e-9), name


def test_auc_is_undefined_with_a_single_class(spark):
    frame = pd.DataFrame({"y": [1, 1, 1], "probability": [0.2, 0.5, 0.9], "prediction": [0.0, 1.0, 1.0]})
    assert np.isnan(performance.roc_auc(spark.createDataFrame(frame), "y"))


@pytest.mark.parametrize("problem_type", ["classification", "regression"])
def test_labels_of_rows_never_scored_are_counted_and_measured_in_nothing_else(spark, problem_type):
    schema = "y double, probability double, prediction double"
    scored = spark.createDataFrame([(1.0, 0.9, 1.0), (0.0, 0.2, 0.0), (1.0, 0.7, 1.0), (0.0, 0.4, 0.0)], schema)
    stray = spark.createDataFrame([(1.0, None, None), (1.0, None, None), (0.0, None, None)], schema)  # as a left join leaves them
    alone = performance.measure(scored, "y", problem_type)
    together = performance.measure(scored.unionByName(stray), "y", problem_type)
    assert (alone.pop(performance.UNSCORED), together.pop(performance.UNSCORED)) == (0, 3)
    assert together == pytest.approx(alone, nan_ok=True)
    assert performance.measure(stray, "y", problem_type) == {performance.UNSCORED: 3}
