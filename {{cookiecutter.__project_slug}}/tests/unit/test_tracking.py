"""Where the local environment tracks: the project's sqlite store, whatever MLFLOW_TRACKING_URI a
data scientist has set, unless MLOPS_TRACKING_SERVER names a team tracking server; a value that is
not an http(s) address, or a server that does not answer, is one line. The server itself is
exercised in tests/integration/test_tracking_server.py."""

from __future__ import annotations

import socket
import time

import mlflow
import pytest

from {{ cookiecutter.__package_name }}.cli import main
from {{ cookiecutter.__package_name }}.runtime.tracking import SERVER_VAR, tracking_server, use_store
from {{ cookiecutter.__package_name }}.settings import ConfigError


def test_unset_the_project_keeps_its_sqlite_store_whatever_mlflow_variables_say(settings, monkeypatch):
    monkeypatch.delenv(SERVER_VAR, raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://someone-elses-server:5000")
    use_store(settings)
    store = f"sqlite:///{settings.local_dir / 'mlflow.db'}"
    assert tracking_server() is None
    assert (mlflow.get_tracking_uri(), mlflow.get_registry_uri()) == (store, store)


@pytest.mark.parametrize("value", [" ", ""])
def test_blank_is_unset(monkeypatch, value):
    monkeypatch.setenv(SERVER_VAR, value)
    assert tracking_server() is None


@pytest.mark.parametrize("value", ["http://mlflow.example.internal:5000/", "https://mlflow.example.internal"])
def test_an_http_address_is_the_server(monkeypatch, value):
    monkeypatch.setenv(SERVER_VAR, value)
    assert tracking_server() == value.rstrip("/")


@pytest.mark.parametrize("value", ["localhost:5000", "mlflow.example.internal", "ftp://host:21",
                                   "sqlite:///mlflow.db", "file:///tmp/mlruns", "databricks", "http://"])
def test_anything_else_is_refused_in_one_line(settings, monkeypatch, value):
    monkeypatch.setenv(SERVER_VAR, value)
    with pytest.raises(ConfigError) as refused:
        use_store(settings)
    message = str(refused.value)
    assert message.startswith(f"{SERVER_VAR} must be the tracking server's http:// or https:// address")
    assert repr(value) in message and "\n" not in message


def test_a_command_says_so_in_one_line(monkeypatch, capsys):
    monkeypatch.setenv(SERVER_VAR, "localhost:5000")
    assert main(["status"]) == 1
    assert capsys.readouterr().err == (f"error: {SERVER_VAR} must be the tracking server's http:// or https:// "
                                       "address (e.g. http://localhost:5000), got 'localhost:5000'\n")


def test_a_server_that_does_not_answer_is_one_line_at_once(monkeypatch, capsys):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv(SERVER_VAR, f"http://127.0.0.1:{port}")
    started = time.monotonic()
    assert main(["status"]) == 1
    err = capsys.readouterr().err
    assert time.monotonic() - started < 15, "MLflow's client would retry for minutes"
    assert err.startswith(f"error: the tracking server http://127.0.0.1:{port} ({SERVER_VAR}) does not answer")
    assert err.count("\n") == 1
