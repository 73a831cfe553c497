"""docs/reliability.md is what the template and a render of the example do today: hostile answers,
a command killed in each of the ten stages, two executions at once, and each kind of bad batch
through both pipelines (``python -m reliability``; it exits non-zero when a render broke, a bad
batch was not stopped or quarantined, a fault was not survived, a row was lost or a wrong version
promoted, and when the document differs from what it measured).

The harness is the longest thing the template tests, and it keeps about one core busy (its
commands wait on the project's engine most of the time; its answers take another for about two
minutes, 140 s measured alone): it starts as soon as the session has collected it
(``conftest.py``) and runs beside the other tests, and this test, run last, waits for its verdict."""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from conftest import ROOT

# Seconds the whole harness may take: about three times what it takes on a 2-core machine.
TIMEOUT = 3600

_harness: dict = {}


def start() -> None:
    """Start ``python -m reliability --check docs/reliability.md`` in the background."""
    output = Path(tempfile.mkstemp(prefix="reliability-", suffix=".txt")[1])
    with output.open("w") as sink:
        process = subprocess.Popen([sys.executable, "-m", "reliability", "--check", "docs/reliability.md"],
                                   cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, text=True)
    _harness.update(process=process, output=output, started=time.monotonic())


def stop() -> None:
    """Stop the harness if the session ends before its test waited for it (interrupted): as Ctrl-C
    does, so that it stops its render's engine and removes its folder; killed if it does not."""
    process = _harness.get("process")
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if _harness.get("output") is not None:
        _harness["output"].unlink(missing_ok=True)


def test_the_reliability_figures_hold_and_are_current():
    assert _harness, "the harness was not started with the session (tests/conftest.py)"
    process, output = _harness["process"], _harness["output"]
    try:
        process.wait(timeout=max(TIMEOUT - (time.monotonic() - _harness["started"]), 1))
    except subprocess.TimeoutExpired:
        stop()
        raise AssertionError(f"python -m reliability still running after {TIMEOUT} s") from None
    text = output.read_text(errors="replace")
    assert process.returncode == 0, text[-9000:]
