"""docs/reliability.md is what the template and a render of the example do today: hostile answers,
a command killed in each of the ten stages, two executions at once, and each kind of bad batch
through both pipelines (``python -m reliability``; it exits non-zero when a render broke, a bad
batch was not stopped or quarantined, a fault was not survived, a row was lost or a wrong version
promoted, and when the document differs from what it measured)."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT

# Seconds the whole harness may take: about three times what it takes on a 2-core machine.
TIMEOUT = 3600


def test_the_reliability_figures_hold_and_are_current(tmp_path):
    done = subprocess.run([sys.executable, "-m", "reliability", "--check", "docs/reliability.md",
                           "--workdir", str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)
    assert done.returncode == 0, (done.stdout[-3000:] + "\n" + done.stderr[-6000:])
