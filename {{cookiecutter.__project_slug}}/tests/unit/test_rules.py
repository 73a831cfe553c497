"""The decision rules: which rule fires, in which order, and how retrain storms are bounded."""

import dataclasses

import pytest
import yaml

from {{ cookiecutter.__package_name }}.monitoring.rules import (
    ALERT, RETRAIN, SATISFACTORY, Evidence, Rules, decide, retrain_history,
)
from {{ cookiecutter.__package_name }}.settings import ConfigError, load_settings


@pytest.fixture()
def rules(settings):
    return Rules.from_settings(settings)


def _below(rules):
    """A value of the primary metric that misses its threshold (a floor, or a ceiling)."""
    from {{ cookiecutter.__package_name }} import evaluation

    step = abs(rules.threshold) * 0.1 or 0.1
    return rules.threshold - step if evaluation.greater_is_better(rules.problem_type, rules.metric) else rules.threshold + step


def _healthy(rules, **changes):
    # Exactly at the threshold meets it.
    evidence = Evidence(champion_version="3", batch_id="b0007", pass_rate=0.99, performance=[("b0007", rules.threshold)],
                        feature_count=10, drifted_features=[], prediction_psi=0.01)
    for key, value in changes.items():
        setattr(evidence, key, value)
    return evidence


def test_nothing_fired_is_satisfactory(rules):
    decision = decide(_healthy(rules), rules)
    assert (decision.decision, decision.rule) == (SATISFACTORY, "none")
    assert decision.inputs["champion_version"] == "3" and decision.inputs["fired"] == []


def test_schema_break_alerts_even_when_everything_else_would_retrain(rules):
    evidence = _healthy(rules, schema_break="schema break in batch b0007: column 'income' is missing",
                        drifted_features=[f"f{i}" for i in range(10)], prediction_drifted=True)
    assert (decide(evidence, rules).decision, decide(evidence, rules).rule) == (ALERT, "schema_break")


def test_an_empty_batch_alerts_and_never_retrains(rules):
    decision = decide(_healthy(rules, rows=0, pass_rate=None, prediction_drifted=True), rules)
    assert (decision.decision, decision.rule) == (ALERT, "empty_batch")
    assert decide(_healthy(rules, rows=5000), rules).decision == SATISFACTORY


def test_data_quality_below_its_floor_alerts_and_never_retrains(rules):
    evidence = _healthy(rules, pass_rate=rules.min_pass_rate - 0.01, prediction_drifted=True)
    decision = decide(evidence, rules)
    assert (decision.decision, decision.rule) == (ALERT, "data_quality")


def test_primary_metric_below_its_floor_retrains(rules):
    decision = decide(_healthy(rules, performance=[("b0007", _below(rules))]), rules)
    assert (decision.decision, decision.rule) == (RETRAIN, "performance")


def test_k_of_n_batches_must_miss_the_threshold(rules):
    windowed = dataclasses.replace(rules, window=3, breaches=2)
    once = [("b3", _below(rules)), ("b2", rules.threshold), ("b1", rules.threshold)]
    twice = [("b3", _below(rules)), ("b2", rules.threshold), ("b1", _below(rules))]
    assert decide(_healthy(rules, performance=once), windowed).decision == SATISFACTORY
    assert decide(_healthy(rules, performance=twice), windowed).rule == "performance"


def test_share_of_drifted_features_over_the_limit_retrains(rules):
    over = int(rules.max_drifted_share * 10) + 1
    at = int(rules.max_drifted_share * 10)
    assert decide(_healthy(rules, drifted_features=[f"f{i}" for i in range(over)]), rules).rule == "feature_drift"
    assert decide(_healthy(rules, drifted_features=[f"f{i}" for i in range(at)]), rules).decision == SATISFACTORY


def test_prediction_drift_retrains(rules):
    decision = decide(_healthy(rules, prediction_drifted=True, prediction_psi=0.9), rules)
    assert (decision.decision, decision.rule) == (RETRAIN, "prediction_drift")


def test_cooldown_alerts_instead_of_retraining_again(rules):
    assert rules.cooldown_batches >= 1
    evidence = _healthy(rules, performance=[("b0007", _below(rules))], runs_since_promotion=rules.cooldown_batches - 1)
    decision = decide(evidence, rules)
    assert (decision.decision, decision.rule) == (ALERT, "cooldown")
    assert decision.inputs["fired"] == ["performance"]
    after = _healthy(rules, performance=[("b0007", _below(rules))], runs_since_promotion=rules.cooldown_batches)
    assert decide(after, rules).decision == RETRAIN


def test_drift_alone_in_cooldown_with_performance_within_is_satisfactory(rules):
    drifted = _healthy(rules, prediction_drifted=True, runs_since_promotion=0)
    decision = decide(drifted, rules)
    assert (decision.decision, decision.rule) == (SATISFACTORY, "drift_in_cooldown")
    assert decision.inputs["fired"] == ["prediction_drift"]
    # Without a measured batch, drift in cooldown still asks a person.
    assert decide(_healthy(rules, prediction_drifted=True, runs_since_promotion=0, performance=[]), rules).rule == "cooldown"
    strict = dataclasses.replace(rules, drift_alerts_in_cooldown=True)
    assert (decide(drifted, strict).decision, decide(drifted, strict).rule) == (ALERT, "cooldown")


def test_escalation_after_failed_retrains_in_a_row(rules):
    evidence = _healthy(rules, prediction_drifted=True, runs_since_promotion=5,
                        failed_retrains_in_a_row=rules.max_failed_retrains)
    assert (decide(evidence, rules).decision, decide(evidence, rules).rule) == (ALERT, "escalation")
    evidence.failed_retrains_in_a_row = rules.max_failed_retrains - 1
    assert decide(evidence, rules).decision == RETRAIN


def test_retrain_history_counts_runs_since_a_promotion_and_failed_retrains():
    assert retrain_history([], "1") == (None, 0)
    # retrain on v1 led to v2: a promotion; then two retrains that left v2 in charge (no cooldown).
    history = [("retrain", "1"), ("satisfactory", "2"), ("retrain", "2"), ("alert", "2"), ("retrain", "2")]
    assert retrain_history(history, "2") == (4, 2)
    assert retrain_history(history, "3") == (0, 0)  # the last retrain promoted v3
    assert retrain_history([("retrain", "1"), ("satisfactory", "2"), ("satisfactory", "2")], "2") == (2, 0)
    assert retrain_history([("retrain", "1")], "1") == (None, 1)  # a failed retrain starts no cooldown


def test_a_failed_retrain_is_followed_by_another_not_by_a_cooldown_alert(rules):
    since, failed = retrain_history([("satisfactory", "1"), ("retrain", "1")], "1")
    evidence = _healthy(rules, performance=[("b0008", _below(rules))], runs_since_promotion=since,
                        failed_retrains_in_a_row=failed)
    assert (decide(evidence, rules).decision, decide(evidence, rules).rule) == (RETRAIN, "performance")


def test_a_wrong_rule_value_is_one_clear_line(settings, conf_copy):
    monitoring = yaml.safe_load((conf_copy / "monitoring.yml").read_text())
    monitoring["performance"]["breaches"] = 3
    (conf_copy / "monitoring.yml").write_text(yaml.safe_dump(monitoring))
    with pytest.raises(ConfigError, match=r"monitoring.yml: performance.breaches \(3\) cannot exceed"):
        Rules.from_settings(load_settings("local"))
    monitoring["performance"]["breaches"] = 1
    monitoring["drift"]["max_drifted_share"] = "a lot"
    (conf_copy / "monitoring.yml").write_text(yaml.safe_dump(monitoring))
    with pytest.raises(ConfigError, match="drift.max_drifted_share must be a number, got 'a lot'"):
        Rules.from_settings(load_settings("local"))
    monitoring["drift"]["max_drifted_share"] = 0.3
    monitoring["retrain"]["drift_alerts_in_cooldown"] = "yes"
    (conf_copy / "monitoring.yml").write_text(yaml.safe_dump(monitoring))
    with pytest.raises(ConfigError, match="retrain.drift_alerts_in_cooldown must be true or false, got 'yes'"):
        Rules.from_settings(load_settings("local"))
