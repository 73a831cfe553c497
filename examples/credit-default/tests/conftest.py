"""Shared fixtures: one warm local engine (Spark over Spark Connect, as commands reach it after
``init``) and one isolated local state for the whole run.

The state (warehouse, metastore, MLflow store, landing batches) lives in a temporary folder, so
the tests never touch the project's own ``.local/``, and the data is the simulator's, so the suite
runs the same whatever ``data_source.py`` reads. The training pipeline runs once, notebook by
notebook through the local ``dbutils`` shim; tests then read what it left behind.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
import yaml

# Before anything reads the settings: every local file of this test run goes here.
STATE = Path(tempfile.mkdtemp(prefix="mlops-tests-"))
os.environ["MLOPS_LOCAL_DIR"] = str(STATE)
# The local state folder of an engine another process started, for this run to borrow instead of
# starting its own (the template's CI runs several rendered suites on one: a cold engine spends
# about half its CPU compiling Spark's code, and a warm one runs the loop's tests in half the CPU).
# Its warehouse is this run's: the records written without the JVM land where it reads them.
SHARED_ENGINE = os.environ.get("MLOPS_TEST_ENGINE")
if SHARED_ENGINE:
    (Path(SHARED_ENGINE) / "warehouse").mkdir(parents=True, exist_ok=True)
    (STATE / "warehouse").symlink_to(Path(SHARED_ENGINE) / "warehouse", target_is_directory=True)
os.environ.pop("MLOPS_CONF_DIR", None)
# The pipeline reads the simulator's sample data, shaped like data_source.SOURCE_COLUMNS, whatever
# the project's real source is (tests/unit/test_data_source.py checks that one on its own data).
os.environ["MLOPS_SAMPLE_DATA"] = "1"

from credit_default.orchestration import stages  # noqa: E402
from credit_default.runtime import engine  # noqa: E402
from credit_default.runtime.notebooks import run_notebook  # noqa: E402
from credit_default.runtime.session import get_spark  # noqa: E402
from credit_default.runtime.tracking import configure_mlflow  # noqa: E402
from credit_default.settings import load_settings  # noqa: E402


def pytest_sessionfinish(session, exitstatus):
    if not SHARED_ENGINE:  # a borrowed engine is stopped by whoever started it
        engine.stop(load_settings("local"))
    shutil.rmtree(STATE, ignore_errors=True)


@pytest.fixture(scope="session")
def settings():
    return load_settings("local")


@pytest.fixture(scope="session")
def spark(settings):
    """The session commands use after ``init``: the warm engine's, over Spark Connect."""
    if SHARED_ENGINE:  # as if this project had started it: commands find it, with this package's code
        info = json.loads((Path(SHARED_ENGINE) / "engine.json").read_text())
        engine.state_file(settings).write_text(json.dumps({**info, "code": engine.code_fingerprint()}))
    else:
        engine.start(settings)
    return get_spark(settings)


def _initialise(spark, settings):
    """``init``: tables created and the simulator's labelled history landed (8,000 rows, for speed)."""
    from credit_default import simulator, tables

    tables.apply_ddl(spark, settings)
    configure_mlflow(settings)
    simulator.write_history(settings, rows=8_000)
    return settings


@pytest.fixture(scope="session")
def initialised(spark, settings):
    return _initialise(spark, settings)


@pytest.fixture(scope="session")
def first_training(spark, initialised):
    """The training pipeline's six notebooks, run one by one as Data Factory would."""
    run_id = f"test-{uuid.uuid4()}"
    parameters = {"env": "local", "pipeline_run_id": run_id, "trigger_time": "2026-01-01T06:00:00Z"}
    outputs, task_values = {}, {}
    for stage in (s for s in stages(initialised.root) if s.pipeline == "training"):
        value = run_notebook(stage.notebook_file(initialised.root), spark, parameters, task_values)
        outputs[stage.name] = json.loads(value)
    return {"pipeline_run_id": run_id, "outputs": outputs, "task_values": task_values}


@pytest.fixture()
def conf_copy(tmp_path, settings, monkeypatch):
    """A private copy of ``conf/`` the test may edit; the pipeline reads it instead of the real one."""
    target = tmp_path / "conf"
    shutil.copytree(settings.conf_dir, target)
    monkeypatch.setenv("MLOPS_CONF_DIR", str(target))
    return target


@pytest.fixture(scope="module")
def isolated_project(spark, settings, tmp_path_factory, request):
    """A project of its own inside this test run, for a module that runs whole loops: its own
    schema, registered model, experiment and landing folder (a copy of ``conf/`` with those names
    suffixed), so it sees none of the batches and versions other tests leave behind. Initialised,
    not trained."""
    suffix = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    target = tmp_path_factory.mktemp(f"conf-{suffix}") / "conf"
    shutil.copytree(settings.conf_dir, target)
    project = yaml.safe_load((target / "project.yml").read_text())
    project["registered_model_name"] += f"_{suffix}"
    local = project["environments"]["local"]
    local.update(schema=f"{local['schema']}_{suffix}", experiment=f"{local['experiment']}-{suffix}",
                 landing_path=str(STATE / f"landing-{suffix}"))
    (target / "project.yml").write_text(yaml.safe_dump(project, sort_keys=False))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLOPS_CONF_DIR", str(target))
        yield _initialise(spark, load_settings("local"))
