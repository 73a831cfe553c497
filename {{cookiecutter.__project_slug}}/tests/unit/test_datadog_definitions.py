"""The Datadog definitions in monitoring/datadog/, read into Datadog's own API models (the
datadog-api-client package) as its API would receive them: every field known, typed and of an allowed
value, no read-only field. Each monitor watches a metric the emitter sends, with the threshold and
direction of the rule in conf/ it mirrors; the webhook's payload is JSON once Datadog fills it in."""

import json
import re
from pathlib import Path

import pytest
from datadog_api_client.exceptions import ApiTypeError
from datadog_api_client.model_utils import ModelComposed, ModelNormal, OpenApiModel, validate_and_convert_types
from datadog_api_client.v1.model.monitor import Monitor
from datadog_api_client.v1.model.webhooks_integration import WebhooksIntegration

from {{ cookiecutter.__package_name }} import evaluation
from {{ cookiecutter.__package_name }}.monitoring import datadog
from {{ cookiecutter.__package_name }}.monitoring.rules import Rules

ROOT = Path(__file__).resolve().parents[2]
DEFINITIONS = ROOT / "monitoring" / "datadog"
MONITORS = sorted((DEFINITIONS / "monitors").glob("*.json"))
WEBHOOK = DEFINITIONS / "webhooks" / "training.json"
# <aggregation>(last_1d):<aggregation>:<metric>{<scope>} by {<groups>}[.as_count()] <comparator> <threshold>
QUERY = re.compile(r"(?P<window>\w+)\(last_1d\):(?P<space>\w+):(?P<metric>[\w.]+)\{(?P<scope>[^}]*)\} "
                   r"by \{(?P<groups>[^}]*)\}(?P<as_count>\.as_count\(\))? (?P<comparator>[<>]) (?P<threshold>[-0-9.]+)")
# The webhook variables Datadog fills in (docs.datadoghq.com/integrations/webhooks, Variables).
WEBHOOK_VARIABLES = {"ALERT_ID", "ALERT_TRANSITION", "ALERT_SCOPE", "ALERT_CYCLE_KEY", "EVENT_TITLE", "DATE", "LINK"}


def strict(data, model):
    """``data`` as Datadog's API models read it, or AssertionError naming each problem. The models
    keep an unknown field as an "additional property" and a value outside an enum as "unparsed"
    instead of refusing them: both are refused here, and so are read-only fields (a definition to
    create, not a monitor read back)."""
    value = validate_and_convert_types(data, (model,), ["definition"], True, True)
    problems = list(_problems(value, "$"))
    assert not problems, problems
    return value


def _problems(value, path):
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from _problems(item, f"{path}[{index}]")
    if not isinstance(value, OpenApiModel):
        return
    if value._unparsed:
        yield f"{path}: not a valid {type(value).__name__}"
    if isinstance(value, ModelComposed):
        for instance in value._composed_instances:
            yield from _problems(instance, path)
    if isinstance(value, ModelNormal):
        for name, item in value._data_store.items():
            if name not in value.attribute_map:
                yield f"{path}.{name}: not a field of {type(value).__name__}"
            elif name in value.read_only_vars:
                yield f"{path}.{name}: read-only"
            yield from _problems(item, f"{path}.{value.attribute_map.get(name, name)}")


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture()
def rules(settings):
    return Rules.from_settings(settings)


@pytest.mark.parametrize("path", MONITORS, ids=lambda path: path.stem)
def test_each_monitor_is_a_monitor_datadog_accepts(path):
    monitor = strict(load(path), Monitor)
    assert str(monitor.type) == "metric alert"
    query = QUERY.fullmatch(monitor.query)
    assert query, monitor.query
    # Datadog refuses a metric monitor whose query threshold is not its critical threshold.
    assert float(query["threshold"]) == monitor.options.thresholds.critical


@pytest.mark.parametrize("change", [
    {"thresholds_typo": 1}, {"priority": "high"}, {"type": "metric_alert"}, {"id": 1}, {"tags": "team:x"},
], ids=["unknown-field", "wrong-type", "unknown-type", "read-only", "not-a-list"])
def test_a_monitor_definition_with_a_mistake_is_refused(change):
    with pytest.raises((ApiTypeError, AssertionError)):  # a wrong type is the models' error, the rest strict's
        strict({**load(MONITORS[0]), **change}, Monitor)


def test_a_mistake_inside_the_options_is_refused():
    monitor = load(MONITORS[0])
    monitor["options"]["notify_nodata"] = True
    with pytest.raises(AssertionError, match="notify_nodata"):
        strict(monitor, Monitor)


def queries():
    return {path.stem: QUERY.fullmatch(load(path)["query"]) for path in MONITORS}


def test_the_monitors_mirror_the_loops_rules(settings, rules):
    found = queries()
    assert set(found) == {"feature-drift", "prediction-drift", "primary-metric", "alert-decisions"}
    model = settings.project["registered_model_name"].lower()
    for query in found.values():
        assert f"model:{model}" in query["scope"].split(",") and "!env:local" in query["scope"].split(",")
    floor = evaluation.greater_is_better(settings.problem_type, rules.metric)
    expected = {
        # more than max_drifted_share of the features: the feature_drift rule
        "feature-drift": ("mlops.drift.drifted_share", "max", ">", rules.max_drifted_share),
        "prediction-drift": ("mlops.drift.prediction_psi", "max", ">", rules.prediction_psi_threshold),
        # a floor is missed below it, a ceiling (an error metric) above it: the performance rule
        "primary-metric": (f"mlops.production.{rules.metric}", "min" if floor else "max", "<" if floor else ">",
                           rules.threshold),
        "alert-decisions": ("mlops.decision", "sum", ">", 0.0),
    }
    for name, (metric, aggregation, comparator, threshold) in expected.items():
        query = found[name]
        assert (query["metric"], query["window"], query["space"], query["comparator"], float(query["threshold"])) == (
            metric, aggregation, aggregation, comparator, threshold), f"{name}: {query.string}"
    assert "decision:alert" in found["alert-decisions"]["scope"] and found["alert-decisions"]["as_count"]


def test_the_monitors_watch_metrics_the_emitter_sends_with_tags_it_sets(settings, rules):
    from {{ cookiecutter.__package_name }}.monitoring.rules import Evidence, decide

    run = Evidence(champion_version="1", batch_id="b0001", rows=10, pass_rate=1.0, feature_count=2, max_psi=0.1,
                   prediction_psi=0.1, performance=[("b0001", rules.threshold)])
    figures = datadog.figures(settings, run, decide(run, rules), rules)
    sent = {figure.name: {tag.split(":", 1)[0] for tag in figure.tags} for figure in figures}
    for name, query in queries().items():
        assert query["metric"] in sent, name
        grouped = set(query["groups"].split(","))
        assert grouped <= sent[query["metric"]], f"{name} groups by a tag the emitter does not set"
    # The monitors carry the tags of what they watch, so that they are found with it.
    named = {tag for tag in figures[0].tags if tag.split(":", 1)[0] in ("team", "project", "model")}
    for path in MONITORS:
        assert set(load(path)["tags"]) == named, path.name


def test_the_webhook_is_a_webhook_datadog_accepts():
    strict(load(WEBHOOK), WebhooksIntegration)


def test_the_webhook_payload_is_json_once_datadog_fills_it_in(settings):
    webhook = load(WEBHOOK)
    used = set(re.findall(r"\$([A-Z][A-Z0-9_]*)", webhook["payload"] + webhook["url"] + webhook["custom_headers"]))
    # Datadog's own variables, and the webhook's custom variables (named after the package).
    custom = {name for name in used if name.startswith(settings.package_name.upper() + "_")}
    assert used - custom <= WEBHOOK_VARIABLES, used - custom - WEBHOOK_VARIABLES
    filled = re.sub(r"\$([A-Z][A-Z0-9_]*)", lambda m: "12345" if m[1].endswith("_ID_PROD") else "x", webhook["payload"])
    payload = json.loads(filled)
    headers = json.loads(webhook["custom_headers"])
    assert headers["Content-Type"] == "application/json"
{%- if cookiecutter.orchestrator == 'data_factory' %}
    # What the Logic App between Datadog and the factory reads (docs/observability.md).
    assert payload["pipeline"] == "pl_{{ cookiecutter.__package_name }}_training"
    assert (ROOT / "adf" / "pipeline" / f"{payload['pipeline']}.json").is_file()
    assert {"transition", "monitor_id", "alert_cycle_key"} <= set(payload)
{%- else %}
    # The Databricks Jobs API's run-now: one run per alert cycle, whatever Datadog retries.
    assert payload == {"job_id": 12345, "idempotency_token": "x"}
    assert headers["Authorization"].startswith("Bearer $")
{%- endif %}
