"""Shared helpers for the tests of the Esteira cookiecutter template.

The template root is the repository root (where cookiecutter.json lives); the
``cookies`` fixture of pytest-cookies is pointed at it whatever the current
directory is.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

# Defined with the harness that measures hostile answers (python -m reliability); the tests import them from here.
from reliability.answers import CONTEXT_PLACEHOLDER, HOOKS_DIR, ROOT, answers, files_under, load_hook  # noqa: F401

TEMPLATE_DIR = ROOT / "{{cookiecutter.__project_slug}}"

PROBLEM_TYPES = ("classification", "regression")
BRANCHING_MODELS = ("gitflow", "trunk")
DATA_SOURCES = ("simulator", "files", "table")

# Every supported combination of the choice variables, with a readable id.
SUPPORTED = [
    pytest.param({"problem_type": problem_type, "branching_model": branching_model, "data_source": data_source},
                 id=f"{problem_type}-{branching_model}-{data_source}")
    for problem_type in PROBLEM_TYPES
    for branching_model in BRANCHING_MODELS
    for data_source in DATA_SOURCES
]

# One render with every answer different from its default.
NON_DEFAULT_ANSWERS = {
    "model_display_name": "Perda Esperada Crédito",
    "owner_team": "risco-credito",
    "problem_type": "regression",
    "target_column": "valor_perda",
    "id_column": "contrato_id",
    "timestamp_column": "data_referencia",
    "data_source": "files",
    "primary_metric": "mae",
    "primary_metric_threshold": "1500",
    "secondary_thresholds": "rmse=2500, r2=0.2",
    "min_improvement_over_champion": "25",
    "drift_psi_threshold": "0.2",
    "schedule_hour_utc": "23",
    "catalog_dev": "ml_dev",
    "catalog_uat": "ml_uat",
    "catalog_prod": "ml_prod",
    "schema_name": "risco_credito",
    "orchestrator": "databricks_workflows",
    "branching_model": "trunk",
    "dev_trigger": "started",
    "smoke_run_in_prod": "yes",
    "serving": "container",
    "observability": "datadog",
}


def assert_own_checks_pass(project: Path, tests: list[str], lint: tuple[str, ...] = ("src", "tests", "scripts"),
                           timeout: int = 900) -> None:
    """A render's own ``tests`` pass, none skipped or deselected, and ruff is clean on ``lint``: for
    the checks of an answer that need no Spark, run here rather than in another rendered suite."""
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
                         cwd=project, capture_output=True, text=True, timeout=timeout, check=False)
    tail = "\n".join((run.stdout + run.stderr).splitlines()[-30:])
    assert run.returncode == 0, tail
    last = run.stdout.splitlines()[-1]
    assert " passed" in last and "skipped" not in last and "deselected" not in last, tail
    ruff = subprocess.run([sys.executable, "-m", "ruff", "check", *lint], cwd=project, capture_output=True,
                          text=True, timeout=120, check=False)
    assert ruff.returncode == 0, ruff.stdout[-2000:]


def pytest_configure(config):
    """Render from the repository root, wherever pytest is started."""
    if getattr(config.option, "template", None) in (None, "."):
        config.option.template = str(ROOT)


def snapshot(root):
    """Every path under ``root`` with a digest of each file's bytes."""
    root = Path(root)
    state = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        state[relative] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "<dir>"
    return state


@pytest.fixture
def baked_output(tmp_path):
    """The folder pytest-cookies renders into for this test (tmp_path/cookies)."""
    return tmp_path / "cookies"


# The reliability harness (tests/test_reliability.py) runs beside the other tests: started once
# collection is done, its test is moved last, where it waits for the verdict.
RELIABILITY = "test_reliability.py"


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: item.path.name == RELIABILITY)  # stable: the rest keep their order


def pytest_collection_finish(session):
    if not session.config.option.collectonly and any(item.path.name == RELIABILITY for item in session.items):
        import test_reliability

        test_reliability.start()


def pytest_sessionfinish(session):
    if any(item.path.name == RELIABILITY for item in getattr(session, "items", [])):
        import test_reliability

        test_reliability.stop()
