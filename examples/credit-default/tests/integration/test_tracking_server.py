"""The team tracking server (deploy/mlflow-server, docs/tracking-server.md) with real parts: a
PostgreSQL started here from pgserver's bundled binaries is the backend store, and a real
``mlflow server`` serves it, proxying artifacts to a folder (compose.yaml's MinIO bucket is not
run here: no Docker engine; the proxy is the same, its destination is not). With
MLOPS_TRACKING_SERVER pointing at it, the training pipeline's six notebooks track, register, set
``@challenger`` and promote to ``@champion`` through the server; another process finds the same
champion there; the champion's artifacts come back through the server; and the project's own
sqlite store never hears of it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import mlflow
import pgserver
import pytest
from mlflow import MlflowClient

from credit_default import modelling
from credit_default.orchestration import stages
from credit_default.runtime.notebooks import run_notebook
from credit_default.runtime.tracking import SERVER_VAR, configure_mlflow

pytestmark = [pytest.mark.spark, pytest.mark.integration]

BIN = Path(sys.executable).parent
PACKAGE = "credit_default"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_health(url: str, process: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"mlflow server exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"mlflow server not healthy after {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def _stop_group(process: subprocess.Popen) -> None:
    """Stop the server and every process it started (its uvicorn worker): they share its group."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            os.killpg(process.pid, 0)  # raises once the whole group is gone
            time.sleep(0.2)
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def tracking_server(settings):
    """PostgreSQL and ``mlflow server`` on it, both stopped at the end; MLOPS_TRACKING_SERVER
    points at the server for this module only. {url, artifacts: the proxy's destination}."""
    root = Path(tempfile.mkdtemp(prefix="mlflow-server-"))  # short: PostgreSQL's socket path is limited
    postgres = pgserver.get_server(root / "postgres", cleanup_mode="delete")
    backend = postgres.get_uri().replace("postgresql://", "postgresql+psycopg2://", 1)
    artifacts = root / "artifacts"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    # MLflow starts uvicorn by name: the virtualenv's bin must be on the PATH. The server reads no
    # variable of the client's. Its job runner (seven huey consumers, for server-side jobs such as
    # prompt optimisation; tracking and the registry do not use it) is left off to spare the CPU.
    env = {key: value for key, value in os.environ.items() if not key.startswith("MLFLOW_") and key != SERVER_VAR}
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
    log = root / "mlflow-server.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [str(BIN / "mlflow"), "server", "--backend-store-uri", backend, "--serve-artifacts",
             "--artifacts-destination", str(artifacts), "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for_health(url, process, log)
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv(SERVER_VAR, url)
            yield {"url": url, "artifacts": artifacts}
    finally:
        _stop_group(process)
        postgres.cleanup()
        shutil.rmtree(root, ignore_errors=True)
        # The rest of the run tracks in its sqlite store again, as before this module.
        configure_mlflow(settings)


@pytest.fixture(scope="module")
def trained(tracking_server, isolated_project, spark):
    """One training through the server: the six notebooks run one by one, as Data Factory would,
    in a project of its own (its schema, registered model and experiment); the variable is set
    before the project is initialised, so its experiment is created on the server."""
    project = isolated_project
    run_id = f"test-{uuid.uuid4()}"
    parameters = {"env": "local", "pipeline_run_id": run_id, "trigger_time": "2026-01-01T06:00:00Z"}
    outputs, task_values = {}, {}
    for stage in (s for s in stages(project.root) if s.pipeline == "training"):
        outputs[stage.name] = json.loads(run_notebook(stage.notebook_file(project.root), spark, parameters,
                                                      task_values))
    return {"settings": project, "outputs": outputs, "client": MlflowClient(tracking_server["url"],
                                                                             tracking_server["url"])}


def test_the_pipeline_registers_and_promotes_on_the_server(trained, tracking_server):
    settings, outputs, client = trained["settings"], trained["outputs"], trained["client"]
    registered = outputs["train"]["model_version"]
    assert outputs["promote"]["promoted"] is True, outputs["promote"]
    assert outputs["promote"]["champion_version"] == registered == "1"
    champion = client.get_model_version_by_alias(settings.model_name, "champion")
    assert champion.version == registered
    # evaluate made it @challenger (its gate passed), promote moved it on to @champion.
    assert champion.tags["gate"] == "passed"
    assert client.get_registered_model(settings.model_name).aliases == {"champion": registered}
    # The experiment was created by the server, without a local artifact location: artifacts go
    # through its proxy to wherever the server keeps them.
    experiment = client.get_experiment_by_name(settings.experiment_name)
    assert experiment.artifact_location.startswith("mlflow-artifacts:")
    assert client.get_run(champion.run_id).info.experiment_id == experiment.experiment_id


def test_another_process_reads_the_same_champion_from_the_server(trained, tracking_server):
    settings = trained["settings"]
    env = {**os.environ, SERVER_VAR: tracking_server["url"], "PYTHONPATH": str(settings.root / "src")}
    done = subprocess.run([sys.executable, "-m", PACKAGE, "status", "--json"], cwd=settings.root, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    state = json.loads(done.stdout)
    assert state["model_name"] == settings.model_name
    assert state["aliases"]["champion"] == trained["outputs"]["train"]["model_version"]


def test_the_champion_comes_back_through_the_server_and_scores(trained, tracking_server, tmp_path, spark):
    settings, client = trained["settings"], trained["client"]
    uri = f"models:/{settings.model_name}@champion"
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(tmp_path),
                                                     tracking_uri=tracking_server["url"]))
    # The files are where the server keeps them (its artifacts destination), not in the project.
    stored = {path.relative_to(tracking_server["artifacts"]) for path in tracking_server["artifacts"].rglob("MLmodel")}
    assert stored and all(path.parts[0] == client.get_experiment_by_name(settings.experiment_name).experiment_id
                          for path in stored), stored
    # The model downloaded scores its own input example, logged with it.
    example = mlflow.models.Model.load(str(local)).load_input_example(str(local))
    model = modelling.load(str(local))  # with the flavour it was logged with (model.py's library)
    if modelling.library_of(model) == modelling.SPARK_ML:
        scored = modelling.transform(model, spark.createDataFrame(example), settings).count()
    else:
        scored = len(model.predict(example))
    assert scored == len(example) > 0
    run = client.get_run(client.get_model_version_by_alias(settings.model_name, "champion").run_id)
    assert run.data.params and run.data.metrics, "the training run's parameters and metrics are on the server"


def test_nothing_lands_in_the_project_sqlite_store(trained, settings):
    store = f"sqlite:///{settings.local_dir / 'mlflow.db'}"
    local = MlflowClient(store, store)
    model = trained["settings"].model_name
    assert local.search_registered_models(filter_string=f"name = '{model}'") == []
    assert local.get_experiment_by_name(trained["settings"].experiment_name) is None
