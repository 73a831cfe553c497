"""The warm engine: commands reach it over Spark Connect, it stops on request or when idle, and
without it a command starts its own Spark on the same tables."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

import credit_default
from credit_default.cli import main

pytestmark = [pytest.mark.spark, pytest.mark.integration]

SOURCE = Path(credit_default.__file__).resolve().parents[1]


def test_the_suite_runs_through_the_engine_as_commands_do(spark, settings, capsys):
    assert type(spark).__module__.startswith("pyspark.sql.connect")
    assert main(["engine", "status"]) == 0
    port = json.loads((settings.local_dir / "engine.json").read_text())["port"]
    assert capsys.readouterr().out.strip().startswith(f"engine: serving Spark Connect on 127.0.0.1:{port}")


def _running(pid: int) -> bool:
    """The process exists and has not exited (an exited one may linger unreaped, as a zombie)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _conf(settings, tmp_path: Path, **local) -> Path:
    """A copy of conf/ with these ``local:`` settings changed."""
    conf = tmp_path / "conf"
    shutil.copytree(settings.conf_dir, conf)
    project = yaml.safe_load((conf / "project.yml").read_text())
    project["local"].update(local)
    (conf / "project.yml").write_text(yaml.safe_dump(project, sort_keys=False))
    return conf


def _command(state: Path, conf: Path, *args: str, engine: str = "on") -> subprocess.CompletedProcess:
    env = {**os.environ, "MLOPS_LOCAL_DIR": str(state), "MLOPS_CONF_DIR": str(conf), "MLOPS_ENGINE": engine,
           "PYTHONPATH": str(SOURCE)}
    env.pop("SPARK_REMOTE", None)
    env.pop("SPARK_CONNECT_MODE_ENABLED", None)
    return subprocess.run([sys.executable, "-m", "credit_default", *args], env=env, capture_output=True,
                          text=True, timeout=600, check=False)


def test_engine_start_serve_stop_then_a_command_starts_its_own_spark(settings, tmp_path):
    state, conf = tmp_path / "state", _conf(settings, tmp_path)

    started = _command(state, conf, "engine", "start")
    assert started.returncode == 0, started.stderr
    info = json.loads((state / "engine.json").read_text())
    try:
        through_engine = _command(state, conf, "init")
        assert through_engine.returncode == 0, through_engine.stderr
        assert f"engine: serving Spark Connect on 127.0.0.1:{info['port']}" in through_engine.stdout
        assert "statements applied" in through_engine.stdout

        # Engines off for one command while one runs: it cannot open the metastore, and says so.
        refused = _command(state, conf, "init", engine="off")
        assert refused.returncode == 1
        assert refused.stderr.strip().startswith("error: the local engine holds this project's metastore")
    finally:
        stopped = _command(state, conf, "engine", "stop")
    assert stopped.returncode == 0 and stopped.stdout.strip() == "engine: stopped", stopped.stderr
    assert not (state / "engine.json").exists()
    assert not _running(info["pid"])

    # No engine: the command starts Spark itself, on the tables the engine created.
    own = _command(state, conf, "stage", "features", engine="off")
    assert own.returncode == 0, own.stderr
    assert json.loads(own.stdout)["batches"] == []
    assert "engine" not in own.stderr
    # Hive's scratch folder is the project's, not a new one in /tmp per JVM that nobody removes.
    assert (state / "hive-resources").is_dir()


def test_an_idle_engine_stops_itself(settings, tmp_path):
    state, conf = tmp_path / "state", _conf(settings, tmp_path, engine_idle_minutes=0.1)  # 6 s

    started = _command(state, conf, "engine", "start")
    assert started.returncode == 0, started.stderr
    pid = json.loads((state / "engine.json").read_text())["pid"]
    deadline = time.monotonic() + 120
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _running(pid)
    assert "idle for 0.1 min, stopping" in (state / "engine.log").read_text()
    assert _command(state, conf, "engine", "status").stdout.strip().startswith("engine: not running")
