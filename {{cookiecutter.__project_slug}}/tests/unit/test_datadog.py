"""What evaluate_metrics sends to Datadog, read from a real UDP socket standing where DogStatsD listens
(DD_AGENT_HOST, DD_DOGSTATSD_PORT): the datagrams of a satisfactory, a retrain and an online batch's
run, byte for byte those Datadog's own client sends for the same figures; and a run that goes on,
with one warning line at most, when they cannot be sent."""

import socket

import pytest

from {{ cookiecutter.__package_name }}.monitoring import datadog
from {{ cookiecutter.__package_name }}.monitoring.rules import RETRAIN, SATISFACTORY, Evidence, Rules, decide


@pytest.fixture()
def rules(settings):
    return Rules.from_settings(settings)


@pytest.fixture()
def agent(monkeypatch):
    """A UDP socket on 127.0.0.1, where the emitter is told the Agent is."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        monkeypatch.setenv("DD_AGENT_HOST", "127.0.0.1")
        monkeypatch.setenv("DD_DOGSTATSD_PORT", str(sock.getsockname()[1]))
        yield sock


def received(sock):
    """Every datagram sent to ``sock`` so far, in order (loopback loses and reorders none)."""
    datagrams, sock_timeout = [], 2.0
    while True:
        sock.settimeout(sock_timeout)
        try:
            datagrams.append(sock.recv(65535))
        except TimeoutError:
            return datagrams
        sock_timeout = 0.3


def metrics(datagrams):
    """{name: (value, type, {tag: value})}, each datagram one line: name:value|type|#tags."""
    parsed = {}
    for data in datagrams:
        line = data.decode()
        assert line.endswith("\n") and line.count("\n") == 1, line
        point, kind, tags = line[:-1].split("|")
        name, value = point.split(":")
        assert tags.startswith("#") and name not in parsed, line
        parsed[name] = (float(value), kind, dict(pair.split(":", 1) for pair in tags[1:].split(",")))
    return parsed


def tags(settings, **more):
    # The owner team holds letters, digits, spaces, '.', '_' and '-' (the template checks it): Datadog
    # keeps all but the spaces.
    common = {"env": "local", "project": settings.package_name.lower(),
              "team": settings.project["owner_team"].lower().replace(" ", "_"),
              "model": settings.project["registered_model_name"].lower(), "model_version": "3"}
    return {**common, **more}


def evidence(**values):
    return Evidence(champion_version="3", feature_count=10, **values)


def test_a_satisfactory_landed_batch_sends_each_figure_once(agent, settings, rules):
    run = evidence(batch_id="b0007", rows=5000, pass_rate=0.98, drifted_features=["f1"], max_psi=0.31,
                   prediction_psi=0.02, performance=[("b0006", rules.threshold)])
    decision = decide(run, rules)
    assert decision.decision == SATISFACTORY
    datadog.report(settings, run, decision, rules)
    landed = tags(settings, batch_kind="landed")
    assert metrics(received(agent)) == {
        "mlops.decision": (1.0, "c", {**landed, "decision": "satisfactory", "rule": "none"}),
        "mlops.batch.rows": (5000.0, "g", landed),
        "mlops.batch.pass_rate": (0.98, "g", landed),
        "mlops.drift.max_psi": (0.31, "g", landed),
        "mlops.drift.drifted_share": (0.1, "g", landed),
        "mlops.drift.prediction_psi": (0.02, "g", landed),
        f"mlops.production.{rules.metric}": (rules.threshold, "g", landed),
    }


def test_a_retrain_says_which_rule_and_sends_no_metric_before_labels(agent, settings, rules):
    drifted = [f"f{i}" for i in range(6)]
    run = evidence(batch_id="b0008", rows=4800, pass_rate=0.97, drifted_features=drifted, max_psi=1.7,
                   prediction_psi=0.9, prediction_drifted=True)
    decision = decide(run, rules)
    assert (decision.decision, decision.rule) == (RETRAIN, "feature_drift")
    datadog.report(settings, run, decision, rules)
    sent = metrics(received(agent))
    assert sent["mlops.decision"] == (1.0, "c", tags(settings, batch_kind="landed", decision="retrain",
                                                       rule="feature_drift"))
    assert sent["mlops.drift.drifted_share"][0] == 0.6 and sent["mlops.drift.prediction_psi"][0] == 0.9
    assert not any(name.startswith("mlops.production.") for name in sent)


def test_an_online_day_is_tagged_online_and_sends_no_pass_rate(agent, settings, rules):
    # A day of requests: quality is not measured online (the API refused what did not fit).
    run = evidence(batch_id="online-2026-03-01", rows=1200, max_psi=0.05, prediction_psi=0.03,
                   performance=[("online-2026-02-28", rules.threshold)])
    decision = decide(run, rules)
    datadog.report(settings, run, decision, rules)
    sent = metrics(received(agent))
    online = tags(settings, batch_kind="online")
    assert set(sent) == {"mlops.decision", "mlops.batch.rows", "mlops.drift.max_psi", "mlops.drift.drifted_share",
                         "mlops.drift.prediction_psi", f"mlops.production.{rules.metric}"}
    assert sent["mlops.batch.rows"] == (1200.0, "g", online)
    assert sent[f"mlops.production.{rules.metric}"] == (rules.threshold, "g", online)
    assert sent["mlops.decision"][2] == {**online, "decision": decision.decision, "rule": decision.rule}


def test_a_run_without_a_batch_sends_its_decision_only(agent, settings, rules):
    run = Evidence(champion_version="3")
    datadog.report(settings, run, decide(run, rules), rules)
    assert metrics(received(agent)) == {
        "mlops.decision": (1.0, "c", tags(settings, batch_kind="none", decision="satisfactory", rule="none"))}


def test_the_datagrams_are_the_bytes_datadogs_own_client_sends(agent, settings, rules, monkeypatch):
    from datadog.dogstatsd import DogStatsd

    # What that client would add from the environment (the reason the emitter does not use it).
    for variable in ("DD_ENV", "DD_SERVICE", "DD_VERSION", "DATADOG_TAGS", "DD_TAGS", "DD_ENTITY_ID", "DD_EXTERNAL_ENV"):
        monkeypatch.delenv(variable, raising=False)
    run = evidence(batch_id="b0009", rows=3000, pass_rate=0.95, drifted_features=["f1", "f2"], max_psi=0.123456789,
                   prediction_psi=0.07, performance=[("b0009", rules.threshold)])
    decision = decide(run, rules)
    datadog.report(settings, run, decision, rules)
    ours = received(agent)
    client = DogStatsd(host="127.0.0.1", port=agent.getsockname()[1], disable_telemetry=True,
                       origin_detection_enabled=False)
    for figure in datadog.figures(settings, run, decision, rules):
        send = client.gauge if figure.kind == datadog.GAUGE else client.increment
        send(figure.name, figure.value, tags=list(figure.tags))
    client.flush()
    client.close_socket()
    assert len(ours) == 7 and ours == received(agent)


def test_tags_are_written_as_datadog_keeps_them():
    assert datadog.tag("team", "Risk Team.A/b_c-d") == "team:risk_team.a/b_c-d"
    assert datadog.tag("model", "a|b,c#d") == "model:a_b_c_d"
    assert len(datadog.tag("project", "x" * 300)) == 200


def test_without_an_agent_the_run_goes_on_quietly(settings, rules, monkeypatch, capsys):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("DD_AGENT_HOST", "127.0.0.1")
    monkeypatch.setenv("DD_DOGSTATSD_PORT", str(port))  # nothing listens there any more
    run = evidence(batch_id="b0010", rows=10)
    datadog.report(settings, run, decide(run, rules), rules)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("host, port", [
    ("255.255.255.255", "8125"),  # a broadcast address: the kernel refuses the send
    ("127.0.0.1", "not-a-port"),
    ("127.0.0.1", "70000"),
])
def test_an_address_that_cannot_be_used_costs_one_warning_line(settings, rules, monkeypatch, capsys, host, port):
    monkeypatch.setenv("DD_AGENT_HOST", host)
    monkeypatch.setenv("DD_DOGSTATSD_PORT", port)
    run = evidence(batch_id="b0011", rows=10)
    datadog.report(settings, run, decide(run, rules), rules)
    err = capsys.readouterr().err
    assert err.startswith(f"warning: datadog: the run's figures were not sent to {host}:{port}: ") and err.count("\n") == 1


def test_the_default_address_is_the_local_agent(monkeypatch):
    monkeypatch.delenv("DD_AGENT_HOST", raising=False)
    monkeypatch.delenv("DD_DOGSTATSD_PORT", raising=False)
    assert datadog.agent_address() == ("localhost", 8125)
