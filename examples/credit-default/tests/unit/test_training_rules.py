"""conf/training.yml is read into typed rules once; a wrong value is one line naming the file and
the key, before any stage runs."""

import shutil

import pytest
import yaml

from credit_default.evaluation import scorers
from credit_default.settings import ConfigError, load_settings


@pytest.fixture()
def edited(tmp_path, settings):
    """A copy of conf/ whose training.yml the test changes; the settings read from it."""
    conf = tmp_path / "conf"
    shutil.copytree(settings.conf_dir, conf)

    def edit(change):
        training = yaml.safe_load((conf / "training.yml").read_text())
        change(training)
        (conf / "training.yml").write_text(yaml.safe_dump(training))
        return load_settings("local", conf)

    return edit


def test_the_rendered_rules_are_typed(settings):
    rules = settings.training_rules
    assert rules.gate.primary_metric == settings.primary_metric in scorers(settings.problem_type)
    assert isinstance(rules.gate.threshold, float) and rules.gate.min_improvement_over_champion >= 0
    assert list(rules.gate.thresholds)[0] == rules.gate.primary_metric
    assert 0 < rules.holdout_fraction < 1 and isinstance(rules.seed, int) and isinstance(rules.model_params, dict)


@pytest.mark.parametrize(("change", "message"), [
    (lambda t: t["gate"].update(threshold="high"), "gate.threshold must be a number, got 'high'"),
    (lambda t: t["gate"].update(primary_metric="auc"), "gate.primary_metric 'auc' is not a"),
    (lambda t: t["gate"].update(secondary_thresholds={"speed": 1}), "gate.secondary_thresholds 'speed' is not a"),
    (lambda t: t["gate"].update(min_improvement_over_champion=-1), "gate.min_improvement_over_champion must be at least 0"),
    (lambda t: t["clean"].update(min_pass_rate=1.5), "clean.min_pass_rate must be at least 0 and at most 1, got 1.5"),
    (lambda t: t["split"].update(holdout_fraction=0), "split.holdout_fraction must be at least 0.001"),
    (lambda t: t["split"].update(window_batches=0), "split.window_batches must be at least 1, got 0"),
    (lambda t: t["model"].update(params=[1, 2]), "model.params must be a mapping"),
])
def test_a_wrong_value_is_one_line_naming_the_key(edited, change, message):
    settings = edited(change)
    with pytest.raises(ConfigError) as wrong:
        settings.training_rules  # noqa: B018 - reading it is what checks it
    assert message in str(wrong.value) and "training.yml" in str(wrong.value) and "\n" not in str(wrong.value)
