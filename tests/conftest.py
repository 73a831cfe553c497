"""Shared helpers for the tests of the Esteira cookiecutter template.

The template root is the repository root (where cookiecutter.json lives); the
``cookies`` fixture of pytest-cookies is pointed at it whatever the current
directory is.
"""

from __future__ import annotations

import hashlib
import json
import types
from pathlib import Path

import pytest
from cookiecutter.generate import generate_context
from cookiecutter.prompt import prompt_for_config

ROOT = Path(__file__).resolve().parent.parent
HOOKS_DIR = ROOT / "hooks"
TEMPLATE_DIR = ROOT / "{{cookiecutter.__project_slug}}"

# The one templated line of each hook; tests swap it for a JSON document.
CONTEXT_PLACEHOLDER = "{{ cookiecutter | tojson }}"

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
    "branching_model": "trunk",
}


def pytest_configure(config):
    """Render from the repository root, wherever pytest is started."""
    if getattr(config.option, "template", None) in (None, "."):
        config.option.template = str(ROOT)


def answers(extra_context=None):
    """The context the hooks see for these answers (as cookiecutter --no-input builds it)."""
    context = generate_context(context_file=str(ROOT / "cookiecutter.json"), extra_context=dict(extra_context or {}))
    # cookiecutter adds where the template is; the hooks read the template's own files from there.
    return {**prompt_for_config(context, no_input=True), "_repo_dir": str(ROOT)}


def load_hook(name, context):
    """Run hooks/<name>.py as a module whose CONTEXT is ``context``, without running main()."""
    source = (HOOKS_DIR / f"{name}.py").read_text(encoding="utf-8")
    assert source.count(CONTEXT_PLACEHOLDER) == 1, f"{name}.py must template its context exactly once"
    document = json.dumps(context)
    assert "'''" not in document
    module = types.ModuleType(f"{name}_under_test")
    module.__file__ = str(HOOKS_DIR / f"{name}.py")
    exec(compile(source.replace(CONTEXT_PLACEHOLDER, document), module.__file__, "exec"), module.__dict__)
    return module


def snapshot(root):
    """Every path under ``root`` with a digest of each file's bytes."""
    root = Path(root)
    state = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        state[relative] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "<dir>"
    return state


def files_under(root):
    return sorted(path for path in Path(root).rglob("*") if path.is_file())


@pytest.fixture
def baked_output(tmp_path):
    """The folder pytest-cookies renders into for this test (tmp_path/cookies)."""
    return tmp_path / "cookies"
