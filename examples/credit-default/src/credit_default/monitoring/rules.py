"""The decision of ``evaluate_metrics``: satisfactory, retrain or alert, and the rule that fired.

Pure Python over numbers already measured (``Evidence``), so every rule is unit-tested without
Spark. The rules and their order are documented in ``conf/monitoring.yml``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .. import evaluation
from ..settings import ConfigError, Settings, flag

SATISFACTORY, RETRAIN, ALERT = "satisfactory", "retrain", "alert"


@dataclass(frozen=True)
class Rules:
    """``conf/monitoring.yml`` read and checked (a wrong value is a one-line ConfigError)."""

    metric: str
    problem_type: str
    threshold: float
    window: int
    breaches: int
    psi_threshold: float
    js_threshold: float
    prediction_psi_threshold: float
    bins: int
    max_drifted_share: float
    min_pass_rate: float
    cooldown_batches: int
    drift_alerts_in_cooldown: bool
    max_failed_retrains: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Rules:
        conf = settings.monitoring
        where = f"{settings.conf_dir / 'monitoring.yml'}"

        def number(section: str, key: str, default: Any, kind=float, low=0.0, high=None):
            value = (conf.get(section) or {}).get(key, default)
            try:
                value = kind(value)
            except (TypeError, ValueError):
                raise ConfigError(f"{where}: {section}.{key} must be a number, got {value!r}") from None
            if value < low or (high is not None and value > high):
                bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
                raise ConfigError(f"{where}: {section}.{key} must be {bounds}, got {value}")
            return value

        performance = conf.get("performance") or {}
        threshold = performance.get("threshold")
        window = number("performance", "window", 1, int, 1)
        breaches = number("performance", "breaches", 1, int, 1)
        if breaches > window:
            raise ConfigError(f"{where}: performance.breaches ({breaches}) cannot exceed performance.window ({window})")
        psi_threshold = number("drift", "psi_threshold", 0.25)
        return cls(
            metric=settings.primary_metric,
            problem_type=settings.problem_type,
            threshold=settings.training_rules.gate.threshold if threshold is None else number("performance", "threshold", 0, float, float("-inf")),
            window=window,
            breaches=breaches,
            psi_threshold=psi_threshold,
            js_threshold=number("drift", "js_threshold", 0.1, float, 0.0, 1.0),
            prediction_psi_threshold=number("drift", "prediction_psi_threshold", psi_threshold),
            bins=number("drift", "bins", 10, int, 2, 100),
            max_drifted_share=number("drift", "max_drifted_share", 0.3, float, 0.0, 1.0),
            min_pass_rate=number("quality", "min_pass_rate", 0.9, float, 0.0, 1.0),
            cooldown_batches=number("retrain", "cooldown_batches", 1, int, 0),
            drift_alerts_in_cooldown=flag((conf.get("retrain") or {}).get("drift_alerts_in_cooldown", False), where,
                                          "retrain.drift_alerts_in_cooldown"),
            max_failed_retrains=number("retrain", "max_failed_retrains", 2, int, 1),
        )


@dataclass
class Evidence:
    """What evaluate_metrics looks at for one execution run."""

    champion_version: str
    batch_id: str | None = None
    schema_break: str | None = None
    rows: int | None = None  # rows in the batch (0: an empty feed)
    pass_rate: float | None = None
    # Share of the batch's rows failing each expectation (those rows were not scored).
    rule_failure_rates: dict[str, float] = field(default_factory=dict)
    # Columns the batch has beyond the declared ones (read and left out), comma-separated.
    extra_columns: str | None = None
    # Primary metric of the latest labelled batches scored by the champion, newest first.
    performance: list[tuple[str, float]] = field(default_factory=list)
    drifted_features: list[str] = field(default_factory=list)
    feature_count: int = 0
    max_psi: float | None = None
    prediction_psi: float | None = None
    prediction_drifted: bool = False
    # Executions since the last retrain that promoted a new champion (None: none did).
    runs_since_promotion: int | None = None
    failed_retrains_in_a_row: int = 0
    # Every production metric of this batch, once its labels arrived (what `execute` prints).
    batch_production: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    decision: str
    rule: str
    inputs: dict[str, Any]


def retrain_rules_fired(evidence: Evidence, rules: Rules) -> list[str]:
    """The retrain rules that fire, in order: performance, feature_drift, prediction_drift."""
    fired = []
    recent = evidence.performance[: rules.window]
    missed = [b for b, value in recent if not evaluation.meets(rules.problem_type, rules.metric, value, rules.threshold)]
    if len(recent) >= rules.breaches and len(missed) >= rules.breaches:
        fired.append("performance")
    if evidence.feature_count and len(evidence.drifted_features) / evidence.feature_count > rules.max_drifted_share:
        fired.append("feature_drift")
    if evidence.prediction_drifted:
        fired.append("prediction_drift")
    return fired


def decide(evidence: Evidence, rules: Rules) -> Decision:
    inputs: dict[str, Any] = {
        **asdict(evidence),
        "performance": [{"batch_id": b, rules.metric: v} for b, v in evidence.performance[: rules.window]],
        "rules": asdict(rules),
    }
    if evidence.schema_break:
        return Decision(ALERT, "schema_break", inputs)
    if evidence.batch_id and evidence.rows == 0:
        return Decision(ALERT, "empty_batch", inputs)  # nothing to score or measure: the feed is broken
    if evidence.pass_rate is not None and evidence.pass_rate < rules.min_pass_rate:
        return Decision(ALERT, "data_quality", inputs)
    fired = retrain_rules_fired(evidence, rules)
    inputs["fired"] = fired
    if not fired:
        return Decision(SATISFACTORY, "none", inputs)
    if evidence.failed_retrains_in_a_row >= rules.max_failed_retrains:
        return Decision(ALERT, "escalation", inputs)
    if evidence.runs_since_promotion is not None and evidence.runs_since_promotion < rules.cooldown_batches:
        # A champion just promoted is judged on labelled batches, not on drift from its own baseline.
        if "performance" not in fired and _performance_within(evidence, rules) and not rules.drift_alerts_in_cooldown:
            return Decision(SATISFACTORY, "drift_in_cooldown", inputs)
        return Decision(ALERT, "cooldown", inputs)
    return Decision(RETRAIN, fired[0], inputs)


def _performance_within(evidence: Evidence, rules: Rules) -> bool:
    """The champion's latest labelled batch (window) is measured and meets the threshold."""
    recent = evidence.performance[: rules.window]
    missed = [v for _, v in recent if not evaluation.meets(rules.problem_type, rules.metric, v, rules.threshold)]
    return bool(recent) and len(missed) < rules.breaches


def retrain_history(decisions: list[tuple[str, str]], champion_version: str) -> tuple[int | None, int]:
    """From past decisions ``(decision, champion version then)``, oldest first, and today's
    champion: (executions since the last retrain that promoted a new champion, retrains in a row
    that left the champion unchanged). A retrain failed when the version in charge after it is the
    same: no cooldown follows it (the champion in charge was judged already)."""

    def after(index: int) -> str:
        return decisions[index + 1][1] if index + 1 < len(decisions) else champion_version

    since = None
    for index in range(len(decisions) - 1, -1, -1):
        if decisions[index][0] == RETRAIN and after(index) != decisions[index][1]:
            since = len(decisions) - 1 - index
            break
    failed = 0
    for index in range(len(decisions) - 1, -1, -1):
        decision, version = decisions[index]
        if decision != RETRAIN:
            continue
        if after(index) != version:
            break
        failed += 1
    return since, failed
