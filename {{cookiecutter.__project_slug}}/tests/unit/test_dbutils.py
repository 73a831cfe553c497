"""The local dbutils shim behaves like Databricks' for what the notebooks use."""

import json

import pytest

from {{ cookiecutter.__package_name }}.runtime.dbutils import LocalDbutils, NotebookExit


def test_widget_parameters_override_defaults():
    dbutils = LocalDbutils({"env": "dev"})
    dbutils.widgets.text("env", "local")
    dbutils.widgets.text("pipeline_run_id", "")
    assert dbutils.widgets.get("env") == "dev"
    assert dbutils.widgets.get("pipeline_run_id") == ""
    with pytest.raises(ValueError, match="InputWidgetNotDefined"):
        dbutils.widgets.get("missing")


def test_notebook_exit_carries_the_value():
    with pytest.raises(NotebookExit) as done:
        LocalDbutils().notebook.exit(json.dumps({"ok": True}))
    assert json.loads(done.value.value) == {"ok": True}


def test_secrets_come_from_environment(monkeypatch):
    dbutils = LocalDbutils()
    monkeypatch.setenv("SECRET_KV_SERVING_TOKEN", "s3cr3t")
    assert dbutils.secrets.get("kv", "serving-token") == "s3cr3t"
    with pytest.raises(KeyError, match="SECRET_KV_OTHER"):
        dbutils.secrets.get("kv", "other")


def test_task_values_are_shared_within_a_run():
    store = {}
    LocalDbutils(task_values=store, task_key="train").jobs.taskValues.set("model_version", "3")
    reader = LocalDbutils(task_values=store, task_key="evaluate")
    assert reader.jobs.taskValues.get(taskKey="train", key="model_version") == "3"
