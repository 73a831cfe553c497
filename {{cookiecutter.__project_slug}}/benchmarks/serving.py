"""Online latency: the project's API (``serve``) against MLflow's own scoring server (``mlflow
models serve``, one uvicorn worker) on the same registered version, each a process of its own on
localhost. At 1, 8 and 32 concurrent clients, each client sends one-row requests (a new connection
each, as a plain HTTP client does) until the level has sent its count or its time is up; requests/s
and the latency percentiles are measured at the client.

Both servers answer the same rows; ours also checks them against the declared inputs, returns the
probability and the version, and appends every scored row to inference_log (buffered), which
MLflow's does not: the ratios price that work. The client threads share the machine's cores with
the server, the same way for both.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd

CLIENTS = (1, 8, 32)
# Per level: at most this many requests, and at most this many seconds.
REQUESTS, SECONDS = 600, 30.0
WARM_UP = 20


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_ready(process: subprocess.Popen, output, url: str, what: str, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            output.seek(0)
            raise RuntimeError(f"{what} did not become ready: {output.read().decode(errors='replace').strip()[-500:]}")
        time.sleep(0.3)


def _post(url: str, body: bytes) -> float:
    began = time.perf_counter()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        answer.read()
        if answer.status != 200:
            raise RuntimeError(f"{url} answered {answer.status}")
    return time.perf_counter() - began


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def load(url: str, bodies: list[bytes], clients: int) -> dict:
    """``clients`` threads sending ``bodies`` in turn; requests/s and latency percentiles (ms)."""
    latencies: list[float] = []
    failures: list[str] = []
    sent = iter(range(REQUESTS))
    lock = threading.Lock()
    deadline = time.monotonic() + SECONDS

    def client() -> None:
        while time.monotonic() < deadline:
            with lock:
                number = next(sent, None)
            if number is None:
                return
            try:
                seconds = _post(url, bodies[number % len(bodies)])
            except (OSError, RuntimeError, urllib.error.HTTPError) as error:
                failures.append(str(error))
                continue
            with lock:
                latencies.append(seconds)

    for body in bodies[:WARM_UP]:
        _post(url, body)
    began = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if failures or not latencies:
        raise RuntimeError(f"{url}: {len(failures)} failed requests at {clients} clients: {failures[:1]}")
    return {"clients": clients, "requests": len(latencies), "requests_per_second": len(latencies) / elapsed,
            "p50_ms": 1000 * statistics.median(latencies), "p95_ms": 1000 * _percentile(latencies, 0.95),
            "p99_ms": 1000 * _percentile(latencies, 0.99)}


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # ours writes its buffered rows on SIGTERM
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def bench_serving(package: str, source: Path, model_uri: str, rows: pd.DataFrame, inputs: list[str],
                  log=print) -> dict:
    """Both servers on ``model_uri`` at each client count; ``rows`` are sent one per request (ours
    with every column, MLflow's with the model's ``inputs``)."""
    # MLflow's server starts uvicorn by name: this interpreter's scripts must be on the PATH.
    env = {**os.environ, "PYTHONPATH": str(source),
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    records = json.loads(rows.to_json(orient="records", date_format="iso"))
    servers = {
        "ours": ([sys.executable, "-m", package, "serve", "--port", "{port}"], "/ready", records),
        "mlflow": ([sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri, "--env-manager", "local",
                    "--host", "127.0.0.1", "--port", "{port}", "--workers", "1"], "/ping",
                   [{name: record[name] for name in inputs} for record in records]),
    }
    result: dict = {}
    for name, (argv, ready, sent) in servers.items():
        port = _free_port()
        # A file, not a pipe: uvicorn logs every request, and a full pipe would stall the server.
        output = tempfile.TemporaryFile()
        process = subprocess.Popen([arg.format(port=port) for arg in argv], env=env, stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        try:
            _wait_ready(process, output, f"http://127.0.0.1:{port}{ready}", name)
            bodies = [json.dumps({"dataframe_records": [record]}).encode() for record in sent]
            result[name] = [load(f"http://127.0.0.1:{port}/invocations", bodies, clients) for clients in CLIENTS]
        finally:
            _stop(process)
            output.close()
        for level in result[name]:
            log(f"  {name:<7} {level['clients']:>3} clients: {level['requests_per_second']:7.1f} req/s, "
                f"p50 {level['p50_ms']:6.1f} ms, p95 {level['p95_ms']:6.1f} ms, p99 {level['p99_ms']:6.1f} ms")
    result["ratios"] = [
        {"clients": ours["clients"],
         "requests_per_second": ours["requests_per_second"] / theirs["requests_per_second"],
         **{key: ours[key] / theirs[key] for key in ("p50_ms", "p95_ms", "p99_ms")}}
        for ours, theirs in zip(result["ours"], result["mlflow"])
    ]
    return result
