"""The warm local engine: one Spark + Delta session that outlives commands, reached over Spark Connect.

A command that starts its own JVM pays start-up and warm-up (class loading, JIT, Delta's first
snapshot of each table) every time: most of a short command, whatever its data. ``engine start``
runs the local session of session.py in a background process that also serves Spark Connect on
127.0.0.1; commands find it through ``.local/engine.json`` and connect as thin clients, the way
Databricks Connect reaches a cluster. With no engine running, a command starts its own session in
its own process, as before.

The engine's Python workers run this package's code (the scoring UDF): a command that finds the
code changed since the engine started restarts it, so no command scores with stale code. An idle
engine (no job and no new client for ``local.engine_idle_minutes``) stops itself.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from ..settings import Settings

# "off": commands ignore a running engine and start their own session (benchmarks compare both).
ENGINE_VAR = "MLOPS_ENGINE"
START_TIMEOUT_S = 300  # the first start may download the Delta jars
PACKAGE_DIR = Path(__file__).resolve().parents[1]


def enabled() -> bool:
    return os.environ.get(ENGINE_VAR, "").lower() != "off"


def state_file(settings: Settings) -> Path:
    return settings.local_dir / "engine.json"


def code_fingerprint() -> str:
    """The package's source as the engine's workers would import it (names, sizes, times)."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        stat = path.stat()
        digest.update(f"{path.relative_to(PACKAGE_DIR)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def running(settings: Settings) -> dict[str, Any] | None:
    """The engine serving this project's local state, if its process is alive."""
    try:
        info = json.loads(state_file(settings).read_text())
    except (OSError, ValueError):
        return None
    if not alive(int(info.get("pid", 0))):
        state_file(settings).unlink(missing_ok=True)  # left by an engine that was killed
        return None
    return info


def describe(info: dict[str, Any]) -> str:
    return f"serving Spark Connect on 127.0.0.1:{info['port']} (pid {info['pid']})"


def connect(settings: Settings) -> SparkSession | None:
    """A Spark Connect session to the running engine; None when none runs (or engines are off)."""
    if not enabled():
        return None
    info = running(settings)
    if info is None:
        return None
    if info.get("code") != code_fingerprint():
        print("engine: the project's code changed since it started; restarting it", file=sys.stderr)
        info = start(settings)  # replaces an engine running other code
    _touch(settings)
    return _session(info["port"])


def start(settings: Settings) -> dict[str, Any]:
    """Start the engine in the background (or return the one running) and wait until it serves."""
    settings.local_dir.mkdir(parents=True, exist_ok=True)
    with _lock(settings):
        info = running(settings)
        if info is not None and info.get("code") == code_fingerprint():
            return info
        if info is not None:
            _terminate(settings, info)
        log = settings.local_dir / "engine.log"
        with open(log, "ab") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", __name__, settings.env],
                stdin=subprocess.DEVNULL, stdout=sink, stderr=sink,
                start_new_session=True,  # not ended by the terminal's Ctrl-C aimed at a command
                env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [
                    str(PACKAGE_DIR.parent), os.environ.get("PYTHONPATH")]))},
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the local engine did not start (exit code {process.returncode}); "
                                   f"its output is in {log}")
            info = running(settings)
            if info is not None and info["pid"] == process.pid and _listening(info["port"]):
                return info
            time.sleep(0.2)
        process.kill()
        raise RuntimeError(f"the local engine did not start within {START_TIMEOUT_S} s; its output is in {log}")


def stop(settings: Settings) -> bool:
    """Stop the running engine and wait for it; False when none ran."""
    if running(settings) is None:
        return False  # nothing to stop (and perhaps no local state at all, e.g. before `init`)
    with _lock(settings):
        info = running(settings)
        if info is None:
            return False
        _terminate(settings, info)
        return True


def _terminate(settings: Settings, info: dict[str, Any]) -> None:
    pid = int(info["pid"])
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 120  # the JVM may still be writing its class archive
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    state_file(settings).unlink(missing_ok=True)


def _session(port: int) -> SparkSession:
    import atexit

    from pyspark.sql import SparkSession
    from pyspark.sql.connect.client.retries import DefaultPolicy

    url = f"sc://127.0.0.1:{port}"
    # Libraries that ask pyspark for "the" session (MLflow's Delta dataset source) get this one.
    os.environ["SPARK_REMOTE"] = url
    spark = SparkSession.builder.remote(url).getOrCreate()
    # An engine on this machine that does not answer has stopped: fail within seconds instead of
    # retrying for the ten minutes Spark Connect allows a remote cluster.
    spark.client.set_retry_policies([DefaultPolicy(max_retries=4)])
    # Frees this command's temporary views and cached frames on the engine.
    atexit.register(_release, spark, port)
    return spark


def _release(spark: SparkSession, port: int) -> None:
    if not _listening(port):
        return  # the engine went first: nothing left to free
    with contextlib.suppress(Exception):
        spark.stop()


def _touch(settings: Settings) -> None:
    with contextlib.suppress(OSError):
        (settings.local_dir / "engine.used").touch()


def _last_used(settings: Settings) -> float:
    try:
        return (settings.local_dir / "engine.used").stat().st_mtime
    except OSError:
        return 0.0  # the local state was deleted under the engine: nothing left to serve


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def alive(pid: int) -> bool:
    """The process runs (a process that has exited but was not yet reaped does not)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A child that has exited but was not yet reaped is not serving anyone.
    with contextlib.suppress(OSError):
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    return True


@contextlib.contextmanager
def _lock(settings: Settings) -> Iterator[None]:
    """One start or stop at a time per project (two commands starting together share one engine)."""
    with open(settings.local_dir / "engine.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def serve(settings: Settings) -> None:
    """The engine's own process: the local session, serving Spark Connect until stopped or idle."""
    from .session import local_session

    port = _free_port()
    code = code_fingerprint()
    spark = local_session(settings, connect_port=port)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    info = {"pid": os.getpid(), "port": port, "code": code, "started_at": time.time()}
    target = state_file(settings)
    target.with_suffix(".tmp").write_text(json.dumps(info))
    os.replace(target.with_suffix(".tmp"), target)
    _touch(settings)
    idle_limit = 60 * float((settings.project.get("local") or {}).get("engine_idle_minutes", 30))
    tracker = spark.sparkContext.statusTracker()
    try:
        while not stopping:
            time.sleep(1)
            if tracker.getActiveJobsIds():
                _touch(settings)
            elif time.time() - _last_used(settings) > idle_limit:
                print(f"engine: idle for {idle_limit / 60:g} min, stopping", flush=True)
                break
    finally:
        with contextlib.suppress(OSError, ValueError):
            if json.loads(target.read_text()).get("pid") == os.getpid():
                target.unlink()
        # session.py ends the JVM (and publishes its class archive) at exit.


if __name__ == "__main__":
    from ..settings import load_settings

    serve(load_settings(sys.argv[1]))
