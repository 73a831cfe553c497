"""The metrics and the promotion gate (MLflow's validate_evaluation_results underneath)."""

import dataclasses

import numpy as np
import pytest

from {{ cookiecutter.__package_name }} import evaluation
from {{ cookiecutter.__package_name }}.training_rules import Gate


def test_classification_metrics_match_hand_computed_values():
    y = np.array([0, 0, 1, 1])
    score = np.array([0.1, 0.6, 0.4, 0.9])
    metrics = evaluation.compute_metrics("classification", y, (score >= 0.5).astype(int), score)
    assert metrics["roc_auc"] == pytest.approx(0.75)
    assert metrics["accuracy"] == pytest.approx(0.5)
    assert metrics["precision"] == pytest.approx(0.5)
    assert metrics["recall"] == pytest.approx(0.5)
    assert metrics["log_loss"] > 0


def test_regression_metrics_match_hand_computed_values():
    y = np.array([100.0, 200.0, 300.0])
    p = np.array([110.0, 190.0, 330.0])
    metrics = evaluation.compute_metrics("regression", y, p)
    assert metrics["mae"] == pytest.approx(50 / 3)
    assert metrics["rmse"] == pytest.approx(np.sqrt((100 + 100 + 900) / 3))
    assert metrics["mape"] == pytest.approx((0.1 + 0.05 + 0.1) / 3)


GATE = Gate("roc_auc", 0.7, {"recall": 0.3}, 0.0)


def test_first_model_is_judged_on_thresholds_only():
    result = evaluation.gate("classification", GATE, {"roc_auc": 0.8, "recall": 0.5}, None)
    assert result.passed and "no champion" in result.reason


def test_primary_metric_below_threshold_fails_and_says_which():
    result = evaluation.gate("classification", GATE, {"roc_auc": 0.65, "recall": 0.5}, None)
    assert not result.passed
    assert "roc_auc" in result.reason and "0.7" in result.reason


def test_secondary_threshold_is_enforced():
    result = evaluation.gate("classification", GATE, {"roc_auc": 0.8, "recall": 0.1}, None)
    assert not result.passed and "recall" in result.reason


def test_challenger_as_good_as_champion_passes_worse_fails():
    assert evaluation.gate("classification", GATE, {"roc_auc": 0.8, "recall": 0.5}, {"roc_auc": 0.8, "recall": 0.5}).passed
    worse = evaluation.gate("classification", GATE, {"roc_auc": 0.79, "recall": 0.5}, {"roc_auc": 0.8, "recall": 0.5})
    assert not worse.passed and "baseline" in worse.reason


def test_minimum_improvement_over_champion():
    gate = dataclasses.replace(GATE, min_improvement_over_champion=0.02)
    champion = {"roc_auc": 0.80, "recall": 0.5}
    assert not evaluation.gate("classification", gate, {"roc_auc": 0.81, "recall": 0.5}, champion).passed
    assert evaluation.gate("classification", gate, {"roc_auc": 0.83, "recall": 0.5}, champion).passed


def test_error_metrics_are_ceilings():
    gate = Gate("rmse", 100.0)
    assert evaluation.gate("regression", gate, {"rmse": 90.0}, {"rmse": 95.0}).passed
    assert not evaluation.gate("regression", gate, {"rmse": 96.0}, {"rmse": 95.0}).passed
    assert not evaluation.gate("regression", gate, {"rmse": 120.0}, None).passed
    assert evaluation.comparison("regression", "rmse") == "<="


def test_a_better_model_replaces_a_failing_champion_with_an_alert():
    """The bike-rentals case: the champion scores 103.9 on the current holdout, the retrained
    candidate 72.4, the ceiling is 70. Keeping the champion serves the worse of two failing models."""
    gate = Gate(primary_metric="rmse", threshold=70.0, secondary_thresholds={"r2": 0.4})
    result = evaluation.gate("regression", gate, {"rmse": 72.4, "r2": 0.5}, {"rmse": 103.9, "r2": 0.2})
    assert result.passed
    assert result.reason == ("replaces a failing champion: rmse 72.4 misses its ceiling 70, "
                             "but the champion scores 103.9 on the same holdout")
    assert result.alert.startswith(result.reason + "; the gate said: ") and "rmse" in result.alert


@pytest.mark.parametrize(("candidate", "champion", "changes"), [
    ({"rmse": 72.4, "r2": 0.5}, {"rmse": 69.0, "r2": 0.5}, {}),  # the champion meets the ceiling
    ({"rmse": 104.0, "r2": 0.5}, {"rmse": 103.9, "r2": 0.2}, {}),  # the candidate is no better
    ({"rmse": 72.4, "r2": 0.1}, {"rmse": 103.9, "r2": 0.2}, {}),  # worse on a secondary metric
    ({"rmse": 100.0, "r2": 0.5}, {"rmse": 103.9, "r2": 0.2}, {"min_improvement_over_champion": 5.0}),
    ({"rmse": 72.4, "r2": 0.5}, {"rmse": 103.9, "r2": 0.2}, {"replace_failing_champion": False}),
    ({"rmse": 72.4, "r2": 0.5}, None, {}),  # no champion to replace
])
def test_a_failing_candidate_is_refused_otherwise(candidate, champion, changes):
    gate = Gate(primary_metric="rmse", threshold=70.0, secondary_thresholds={"r2": 0.4}, **changes)
    result = evaluation.gate("regression", gate, candidate, champion)
    assert not result.passed and result.alert == ""
