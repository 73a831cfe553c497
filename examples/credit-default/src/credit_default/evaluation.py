"""Model metrics and the promotion gate.

One implementation of each metric serves the gate (holdout) and, later, production monitoring.
The gate itself is MLflow's: ``mlflow.validate_evaluation_results`` with ``MetricThreshold``s —
absolute thresholds from ``conf/training.yml`` and, when a champion exists, "at least as good as
the champion" (or better by ``min_improvement_over_champion``) on the primary metric.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .training_rules import Gate


class _ScikitMetrics:
    """``sklearn.metrics``, imported at the first metric computed: reading the metric names (the
    configuration check, ``status``) does not pay the 2.5 s scikit-learn import."""

    def __getattr__(self, name: str) -> Callable[..., float]:
        from sklearn import metrics

        return getattr(metrics, name)


skm = _ScikitMetrics()

# name → (function of y_true, y_pred, y_score, greater_is_better). y_score is the probability of
# the positive class for classifiers (None for regressors).
Scorer = Callable[[np.ndarray, np.ndarray, "np.ndarray | None"], float]
CLASSIFICATION: dict[str, tuple[Scorer, bool]] = {
    "roc_auc": (lambda y, p, s: skm.roc_auc_score(y, s) if len(np.unique(y)) > 1 else float("nan"), True),
    "f1": (lambda y, p, s: skm.f1_score(y, p, zero_division=0), True),
    "precision": (lambda y, p, s: skm.precision_score(y, p, zero_division=0), True),
    "recall": (lambda y, p, s: skm.recall_score(y, p, zero_division=0), True),
    "accuracy": (lambda y, p, s: skm.accuracy_score(y, p), True),
    "log_loss": (lambda y, p, s: skm.log_loss(y, np.clip(s, 1e-15, 1 - 1e-15), labels=[0, 1]), False),
}
REGRESSION: dict[str, tuple[Scorer, bool]] = {
    "rmse": (lambda y, p, s: float(np.sqrt(skm.mean_squared_error(y, p))), False),
    "mae": (lambda y, p, s: skm.mean_absolute_error(y, p), False),
    "r2": (lambda y, p, s: skm.r2_score(y, p), True),
    "mape": (lambda y, p, s: skm.mean_absolute_percentage_error(y, p), False),
}


def scorers(problem_type: str) -> dict[str, tuple[Scorer, bool]]:
    return CLASSIFICATION if problem_type == "classification" else REGRESSION


def greater_is_better(problem_type: str, metric: str) -> bool:
    return scorers(problem_type)[metric][1]


def comparison(problem_type: str, metric: str) -> str:
    """How a value must relate to its threshold: a floor (>=) or a ceiling (<=)."""
    return ">=" if greater_is_better(problem_type, metric) else "<="


def compute_metrics(
    problem_type: str, y_true: np.ndarray, y_pred: np.ndarray, y_score: np.ndarray | None = None
) -> dict[str, float]:
    """Every metric of the problem type."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return {name: float(fn(y_true, y_pred, y_score)) for name, (fn, _) in scorers(problem_type).items()}


def meets(problem_type: str, metric: str, value: float, threshold: float) -> bool:
    if value is None or np.isnan(value):
        return False
    return value >= threshold if greater_is_better(problem_type, metric) else value <= threshold


@dataclass(frozen=True)
class GateResult:
    passed: bool
    reason: str
    thresholds: dict[str, float]
    # Set when the candidate passed only as the better of two failing models: a person should look.
    alert: str = ""


def gate(
    problem_type: str,
    rules: Gate,
    candidate: dict[str, float],
    champion: dict[str, float] | None,
) -> GateResult:
    """Run MLflow's validation of ``candidate`` against the thresholds and the ``champion``."""
    import mlflow
    from mlflow.exceptions import MlflowException
    from mlflow.models import MetricThreshold
    from mlflow.models.evaluation import EvaluationResult

    primary, absolute, improvement = rules.primary_metric, rules.thresholds, rules.min_improvement_over_champion
    thresholds = {}
    for metric, value in absolute.items():
        change = {}
        if champion is not None and metric == primary:
            # MLflow refuses min_absolute_change=0; "at least as good" is a relative change of 0.
            change = {"min_absolute_change": improvement} if improvement > 0 else {"min_relative_change": 0.0}
        thresholds[metric] = MetricThreshold(
            threshold=value, greater_is_better=greater_is_better(problem_type, metric), **change
        )
    try:
        mlflow.validate_evaluation_results(
            thresholds,
            EvaluationResult(metrics=candidate, artifacts={}),
            EvaluationResult(metrics=champion, artifacts={}) if champion is not None else None,
        )
    except MlflowException as failure:  # ModelValidationFailedException is one
        reason = " ".join(str(failure).split())
        rescue = _replaces_a_failing_champion(problem_type, rules, candidate, champion)
        if rescue:
            return GateResult(True, rescue, absolute, alert=f"{rescue}; the gate said: {reason}")
        return GateResult(False, reason, absolute)
    versus = " and at least as good as the champion" if champion is not None and improvement == 0 else (
        f" and better than the champion by {improvement}" if champion is not None else " (no champion yet)"
    )
    return GateResult(True, f"met every threshold{versus}", absolute)


def _replaces_a_failing_champion(
    problem_type: str, rules: Gate, candidate: dict[str, float], champion: dict[str, float] | None
) -> str:
    """Why a candidate that missed a threshold replaces the champion anyway, or "" if it may not.

    It may when ``rules.replace_failing_champion`` and the champion, scored on the same holdout,
    misses the primary threshold too, while the candidate beats it there by the required
    improvement (strictly, when that is 0) and is no worse on any secondary metric: serving the
    better of two failing models while a person looks at the data beats keeping the worse one.
    """
    primary = rules.primary_metric
    if not rules.replace_failing_champion or champion is None:
        return ""
    if meets(problem_type, primary, champion.get(primary), rules.threshold):
        return ""
    better = greater_is_better(problem_type, primary)
    gain = (candidate[primary] - champion[primary]) * (1 if better else -1)
    if not (gain > 0 and gain >= rules.min_improvement_over_champion):
        return ""
    for metric in rules.secondary_thresholds:
        sign = 1 if greater_is_better(problem_type, metric) else -1
        if (candidate[metric] - champion[metric]) * sign < 0:
            return ""
    bound = "floor" if better else "ceiling"
    return (f"replaces a failing champion: {primary} {candidate[primary]:.6g} misses its {bound} "
            f"{rules.threshold:g}, but the champion scores {champion[primary]:.6g} on the same holdout")
