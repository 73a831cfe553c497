"""Drift statistics: PSI, Jensen-Shannon and KS match their textbook definitions (scipy where it
has them), and the Spark measurement equals the same computation done in numpy."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial import distance

from {{ cookiecutter.__package_name }}.monitoring import baseline as baselines
from {{ cookiecutter.__package_name }}.monitoring import drift


def test_psi_is_zero_for_the_same_distribution_and_matches_the_formula():
    shares = {0: 0.2, 1: 0.5, 2: 0.3}
    assert drift.psi(shares, shares) == 0
    moved = {0: 0.1, 1: 0.5, 2: 0.4}
    expected = (0.1 - 0.2) * math.log(0.1 / 0.2) + (0.4 - 0.3) * math.log(0.4 / 0.3)
    assert drift.psi(shares, moved) == pytest.approx(expected, abs=1e-12)


def test_psi_smooths_an_empty_bin_instead_of_dividing_by_zero():
    value = drift.psi({0: 0.5, 1: 0.5}, {0: 1.0})
    assert math.isfinite(value) and value > 1


def test_js_distance_matches_scipy_in_base_2():
    p, q = {"a": 0.7, "b": 0.2, "c": 0.1}, {"a": 0.3, "b": 0.3, "d": 0.4}
    keys = sorted(set(p) | set(q))
    expected = distance.jensenshannon([p.get(k, 0) for k in keys], [q.get(k, 0) for k in keys], base=2)
    assert drift.js_distance(p, q) == pytest.approx(expected, abs=1e-12)
    assert drift.js_distance(p, p) == pytest.approx(0, abs=1e-7)
    assert drift.js_distance({"a": 1.0}, {"b": 1.0}) == pytest.approx(1.0)


def test_baseline_bins_are_quantiles_deduplicated_with_a_null_bin():
    values = pd.Series([0, 0, 0, 0, 1, 1, 2, None] * 50, dtype="float64")
    numeric = baselines.numeric_baseline(values, bins=10)
    assert numeric.edges == sorted(set(numeric.edges)) and len(numeric.edges) < 9  # few values, fewer bins
    assert sum(numeric.proportions.values()) == pytest.approx(1.0)
    assert numeric.proportions[baselines.NULL_BIN] == pytest.approx(1 / 8)
    assert numeric.proportions[0] == pytest.approx(4 / 8)  # the zeros: up to the first edge


@pytest.mark.spark
def test_spark_measurement_equals_numpy_and_ks_matches_scipy(spark, settings):
    rng = np.random.default_rng(7)
    reference = pd.DataFrame({"x": rng.normal(0, 1, 20_000), "region": rng.choice(["N", "S", "SE"], 20_000, p=[0.2, 0.3, 0.5])})
    shifted = pd.DataFrame({"x": rng.normal(0.4, 1.2, 10_000), "region": rng.choice(["N", "S", "SE"], 10_000, p=[0.4, 0.3, 0.3])})
    base = baselines.Baseline(
        "1", len(reference),
        numeric={"x": baselines.numeric_baseline(reference["x"], 10)},
        categorical={"region": baselines.categorical_baseline(reference["region"])},
    )
    frame = spark.createDataFrame(shifted.assign(prediction=0.0))
    measured = {d.feature: d for d in drift.measure(frame, base, "prediction", 0.25, 0.1, 0.25)}

    edges = base.numeric["x"].edges
    actual = np.bincount(np.searchsorted(edges, shifted["x"], side="left"), minlength=len(edges) + 1) / len(shifted)
    expected_psi = drift.psi(base.numeric["x"].proportions, dict(enumerate(actual)))
    assert measured["x"].psi == pytest.approx(expected_psi, abs=1e-12)
    assert measured["x"].drifted == (expected_psi > 0.25)
    # KS at the baseline's percentiles is within about one percentile of the exact two-sample statistic.
    exact = stats.ks_2samp(reference["x"], shifted["x"]).statistic
    assert measured["x"].ks_statistic == pytest.approx(exact, abs=0.015)
    observed = shifted["region"].value_counts(normalize=True).to_dict()
    assert measured["region"].js_distance == pytest.approx(drift.js_distance(base.categorical["region"], observed), abs=1e-12)
    assert measured["region"].kind == "categorical" and measured["region"].drifted is True


@pytest.mark.spark
def test_a_batch_like_its_baseline_does_not_drift(spark, settings):
    rng = np.random.default_rng(11)
    reference, same = rng.gamma(2.0, 0.2, 20_000), rng.gamma(2.0, 0.2, 5_000)
    base = baselines.Baseline("1", 20_000, numeric={"x": baselines.numeric_baseline(reference, 10)}, categorical={})
    [result] = drift.measure(spark.createDataFrame(pd.DataFrame({"x": same, "prediction": 0.0})), base, "prediction", 0.25, 0.1, 0.25)
    assert result.psi < 0.02 and result.ks_statistic < 0.05 and result.drifted is False


@pytest.mark.spark
def test_values_on_an_edge_count_in_the_bin_that_edge_closes(spark, settings):
    """Whole-number features put many rows exactly on an edge: Spark bins them as numpy's
    searchsorted(side="left") does, nulls in their own bin, for the PSI bins and the CDF points."""
    rng = np.random.default_rng(3)
    reference = rng.integers(0, 7, 5_000).astype(float)
    batch = pd.Series(rng.integers(0, 9, 3_000).astype(float))
    batch[rng.random(3_000) < 0.05] = np.nan
    numeric = baselines.numeric_baseline(reference, 10)
    base = baselines.Baseline("1", len(reference), numeric={"x": numeric}, categorical={})
    frame = spark.createDataFrame(pd.DataFrame({"x": batch, "prediction": 0.0})).replace(float("nan"), None)
    counts = drift.bin_counts(frame, base, "prediction")
    present = batch.dropna().to_numpy()
    for kind, edges in (("bin", numeric.edges), ("cdf", numeric.cdf_points)):
        expected = dict(enumerate(np.bincount(np.searchsorted(edges, present, side="left"), minlength=len(edges) + 1)))
        expected = {k: int(v) for k, v in expected.items() if v} | {baselines.NULL_BIN: int(batch.isna().sum())}
        assert counts[("x", kind)] == expected
