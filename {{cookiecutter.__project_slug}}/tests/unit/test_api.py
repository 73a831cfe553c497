"""What the local API (``serve``) accepts and how it refuses the rest: one line, the right status.
And how the container runs it: a pinned version and JSON lines, set from its environment."""

from __future__ import annotations

import io
import json
import threading
import urllib.request
from datetime import datetime

import pytest

from {{ cookiecutter.__package_name }} import cli, features, inference
from {{ cookiecutter.__package_name }}.runtime.api import BadRequest, StdoutLog, parse

NUMBERS = [name for name, sql_type in features.FEATURE_COLUMNS.items() if sql_type.upper() in ("DOUBLE", "INT", "BIGINT")]


def row(settings, **changes):
    values = {settings.id_column: "c-1", **{name: 1 for name in features.FEATURE_COLUMNS}}
    return {**values, **changes}


def refused(settings, payload) -> BadRequest:
    with pytest.raises(BadRequest) as caught:
        parse(payload if isinstance(payload, bytes) else json.dumps(payload).encode(), settings)
    assert "\n" not in str(caught.value)
    return caught.value


def test_records_and_split_are_read_alike_with_the_time_defaulting_to_now(settings):
    records = parse(json.dumps({"dataframe_records": [row(settings)]}).encode(), settings)
    names = list(row(settings))
    split = parse(json.dumps({"dataframe_split": {"columns": names, "data": [list(row(settings).values())]}}).encode(),
                  settings)
    assert list(records[settings.id_column]) == list(split[settings.id_column]) == ["c-1"]
    assert records[settings.timestamp_column].dt.tz is not None


def test_a_body_that_is_not_rows_is_a_400(settings):
    assert refused(settings, b"{not json").status == 400
    assert refused(settings, {"rows": []}).status == 400
    assert refused(settings, {"dataframe_records": []}).status == 400


def test_a_missing_column_or_id_is_a_422_that_names_it(settings):
    first = next(iter(features.FEATURE_COLUMNS))
    values = row(settings)
    del values[first]
    error = refused(settings, {"dataframe_records": [values]})
    assert error.status == 422 and str(error) == f"missing column: {first}"
    assert "is empty in 1 row(s)" in str(refused(settings, {"dataframe_records": [row(settings, **{settings.id_column: None})]}))


@pytest.mark.skipif(not NUMBERS, reason="the declared features have no numeric column")
def test_text_where_a_number_is_declared_is_a_422_that_shows_the_value(settings):
    error = refused(settings, {"dataframe_records": [row(settings, **{NUMBERS[0]: "many"})]})
    assert error.status == 422 and str(error) == f"{NUMBERS[0]} must be a number: 'many' in 1 row(s)"


def test_a_time_that_does_not_read_is_a_422(settings):
    error = refused(settings, {"dataframe_records": [row(settings, **{settings.timestamp_column: "yesterday-ish"})]})
    assert error.status == 422 and "must be an ISO 8601 time: 'yesterday-ish'" in str(error)


class _Constant:
    """A model answering the same for every row: the HTTP layer is under test, not a model."""

    def predict_proba(self, x):
        import numpy as np

        return np.tile([0.75, 0.25], (len(x), 1))

    def predict(self, x):
        import numpy as np

        return np.full(len(x), 3.0)


def test_many_clients_connecting_at_once_are_all_answered(settings):
    """Clients that open their connections in the same instant (a load balancer's burst, a load test)
    wait in the listen queue instead of being reset."""
    from {{ cookiecutter.__package_name }}.runtime.api import ApiServer, Champion, Champions, RequestLog

    champions = Champions(settings)
    champions.current = Champion("7", _Constant())
    log = RequestLog(settings, "serve-test", flush_rows=10**9)  # nothing reaches inference_log here
    server = ApiServer(("127.0.0.1", 0), settings, champions, log)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    body = json.dumps({"dataframe_records": [row(settings)]}).encode()
    clients = 64
    start = threading.Barrier(clients)
    answers: list[object] = []

    def client() -> None:
        start.wait()
        request = urllib.request.Request(f"http://127.0.0.1:{server.server_address[1]}/invocations", data=body,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                answers.append(json.loads(answer.read())["model_version"])
        except OSError as error:
            answers.append(error)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        server.shutdown()
        server.server_close()
    assert answers == ["7"] * clients
    assert len(log.rows) == clients


def test_each_scored_row_is_one_json_line_of_the_inference_log_columns(settings):
    records = [row(settings), row(settings, **{settings.id_column: "c-2"})]
    frame = parse(json.dumps({"dataframe_records": records}).encode(), settings)
    frame = frame.assign(prediction=[1.0, 0.0], probability=[0.9, float("nan")])
    stream = io.StringIO()
    log = StdoutLog(settings, "serve-test", stream)
    log.add(frame, "3")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [list(line) for line in lines] == [["inference_log"]] * 2 and log.written == 2
    rows = [line["inference_log"] for line in lines]
    assert [list(r) for r in rows] == [inference.log_columns(settings)] * 2
    assert [r[settings.id_column] for r in rows] == ["c-1", "c-2"]
    assert rows[0]["model_version"] == "3" and rows[1]["probability"] is None  # NaN is null, as in the table
    assert datetime.fromisoformat(rows[0]["scored_at"]).tzinfo is not None


def test_serve_takes_its_environment_and_pinned_version_from_the_container(monkeypatch):
    assert (cli._parser().parse_args(["serve"]).env, cli._parser().parse_args(["serve"]).model_version) == ("local", None)
    monkeypatch.setenv(cli.SERVE_ENV_VAR, "dev")
    monkeypatch.setenv(cli.SERVE_VERSION_VAR, "4")
    args = cli._parser().parse_args(["serve"])
    assert (args.env, args.model_version, args.request_log) == ("dev", 4, "table")
    args = cli._parser().parse_args(["serve", "--env", "local", "--model-version", "2"])
    assert (args.env, args.model_version) == ("local", 2)
    assert cli._parser().parse_args(["status"]).env == "local", "only serve reads the container's variables"
