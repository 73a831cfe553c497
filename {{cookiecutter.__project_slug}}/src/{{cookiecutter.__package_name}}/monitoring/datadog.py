"""The run's figures sent to Datadog once ``evaluate_metrics`` has decided (``observability=datadog``).

One DogStatsD datagram per figure, over UDP, to the Datadog Agent: on Databricks the Agent that
Datadog's Databricks integration installs on the driver with an init script, which listens on
localhost:8125; locally an Agent on that port, or none. ``DD_AGENT_HOST`` and ``DD_DOGSTATSD_PORT``,
the variables Datadog's own clients read, point elsewhere. The figures are in the Delta tables
either way, so a figure that cannot be sent costs one warning line on stderr, never the run.

The datagrams are written here (the format is one documented line) rather than with the ``datadog``
package's DogStatsd client: that client adds tags from the environment (``DD_ENV``, ``DD_SERVICE``,
``DD_VERSION``, ``DATADOG_TAGS``) to every metric, which gives a second ``env`` tag on a cluster whose
init script sets ``DD_ENV``, and sends its own telemetry. tests/unit/test_datadog.py checks that
these datagrams are the ones that client sends for the same figures.
"""

from __future__ import annotations

import math
import os
import re
import socket
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..inference import is_online

if TYPE_CHECKING:
    from ..settings import Settings
    from .rules import Decision, Evidence, Rules

PREFIX = "mlops"
DEFAULT_HOST, DEFAULT_PORT = "localhost", 8125
GAUGE, COUNT = "g", "c"
# Datadog keeps letters, digits and "_-:./" in a tag, lower case, and turns the rest into "_"; done
# here so that the tags the monitors filter on are exactly the ones sent.
TAG_CHARACTERS = re.compile(r"[^a-z0-9_\-:./]")
MAX_TAG_LENGTH = 200


@dataclass(frozen=True)
class Figure:
    """One metric point: its name, value, DogStatsD type and tags."""

    name: str
    value: float
    kind: str
    tags: tuple[str, ...]

    def datagram(self) -> str:
        return f"{self.name}:{self.value}|{self.kind}|#{','.join(self.tags)}"


def tag(key: str, value: object) -> str:
    return TAG_CHARACTERS.sub("_", f"{key}:{value}".lower())[:MAX_TAG_LENGTH]


def batch_kind(batch: str | None) -> str:
    """``landed`` (a batch of data_source.py), ``online`` (a day of requests) or ``none`` (no batch)."""
    return "none" if not batch else "online" if is_online(batch) else "landed"


def figures(settings: Settings, evidence: Evidence, decision: Decision, rules: Rules) -> list[Figure]:
    """What the run measured and decided, as Datadog metrics. A figure not measured (pass rate of
    online traffic, drift of a broken batch, performance before labels) is left out, not sent as 0.
    No batch id tag: a new one every run would make a new time series per batch for each metric."""
    common = (
        tag("env", settings.env), tag("project", settings.package_name), tag("team", settings.project["owner_team"]),
        tag("model", settings.project["registered_model_name"]), tag("model_version", evidence.champion_version),
    )
    this_batch = (*common, tag("batch_kind", batch_kind(evidence.batch_id)))
    sent = [Figure(f"{PREFIX}.decision", 1, COUNT,
                   (*this_batch, tag("decision", decision.decision), tag("rule", decision.rule)))]
    share = len(evidence.drifted_features) / evidence.feature_count if evidence.feature_count else None
    gauges = {"batch.rows": evidence.rows, "batch.pass_rate": evidence.pass_rate, "drift.max_psi": evidence.max_psi,
              "drift.drifted_share": share, "drift.prediction_psi": evidence.prediction_psi}
    sent += [Figure(f"{PREFIX}.{name}", value, GAUGE, this_batch) for name, value in gauges.items() if _finite(value)]
    if evidence.performance:
        # The value the performance rule judges first: the champion's newest labelled batch, which
        # may be an earlier batch than this run's (labels arrive later than predictions).
        measured_on, value = evidence.performance[0]
        if _finite(value):
            sent.append(Figure(f"{PREFIX}.production.{rules.metric}", value, GAUGE,
                               (*common, tag("batch_kind", batch_kind(measured_on)))))
    return sent


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def agent_address() -> tuple[str, int]:
    """Where DogStatsD listens: ``DD_AGENT_HOST`` and ``DD_DOGSTATSD_PORT``, else localhost:8125."""
    host = os.environ.get("DD_AGENT_HOST") or DEFAULT_HOST
    port = os.environ.get("DD_DOGSTATSD_PORT") or str(DEFAULT_PORT)
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"DD_DOGSTATSD_PORT={port!r} is not a port number")
    return host, int(port)


def send(datagrams: list[str], host: str, port: int) -> None:
    """Each datagram in its own UDP packet (a packet has room for one whatever the tags' length),
    ended by a newline as Datadog's client ends it. IPv4 first, as that client does: an Agent bound to
    127.0.0.1 still gets what is sent to "localhost"."""
    addresses = sorted(socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM), key=lambda a: a[0] != socket.AF_INET)
    family, kind, protocol, _, address = addresses[0]
    with socket.socket(family, kind, protocol) as sock:
        sock.setblocking(False)  # a full buffer drops the figure instead of holding the run
        for datagram in datagrams:
            sock.sendto(f"{datagram}\n".encode(), address)


def report(settings: Settings, evidence: Evidence, decision: Decision, rules: Rules) -> None:
    """Send the run's figures; a failure is one line on stderr and the run goes on."""
    datagrams = [figure.datagram() for figure in figures(settings, evidence, decision, rules)]
    try:
        host, port = agent_address()
        send(datagrams, host, port)
    except (OSError, ValueError) as error:
        where = f"{os.environ.get('DD_AGENT_HOST') or DEFAULT_HOST}:{os.environ.get('DD_DOGSTATSD_PORT') or DEFAULT_PORT}"
        print(f"warning: datadog: the run's figures were not sent to {where}: {error}", file=sys.stderr)
