"""Hostile answers in every text prompt: each is refused by the pre-generation hook in lines that
name the field, or renders a project whose every YAML, JSON and TOML file parses, whose files hold
as many expressions (Data Factory ``@…``, bundle ``${…}``, Azure Pipelines ``$(…)`` and ``${{ }}``)
as the default render's, and whose ``conf/`` reads the answer back as typed.

Strings with Jinja markup are left out: cookiecutter renders every answer as a template before the
hook runs (docs/options.md says what the user sees then).
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, answers, files_under, load_hook

HOSTILE = (
    " Leading space", "trailing space ", "Credit ${workspace.current_user.userName}", "@{pipeline().RunId}",
    "@concat('a', 'b')", "$(System.AccessToken)", "Credit \U0001f600", "x" * 300, "-- comment", "'; DROP TABLE t; --",
    "# heading", "key: value", "[link](http://example.com)", "a\\b", 'say "hi"', "Delta", "record", "age",
    "0.00001", "1e-5", "-0", "NaN", "inf", "1_000", "0x10", "",
)
# Every prompt a person types text into (the choices are refused by cookiecutter itself).
TEXT_PROMPTS = tuple(name for name, default in json.loads((ROOT / "cookiecutter.json").read_text()).items()
                     if not name.startswith("_") and not isinstance(default, list))
# What an answer derives, so that a refusal may name it (Delta → __package_name).
DERIVED = {"model_display_name": ("__project_slug", "__package_name", "__registered_model_name")}
EXPRESSION = re.compile(r"@\{|@[a-z]+\(|\$\{\{|\$\{|\$\(")
# Where conf/ holds each answer that it holds verbatim (the numbers are checked as numbers).
READ_BACK = {
    "model_display_name": ("project.yml", ["model_display_name"]),
    "owner_team": ("project.yml", ["owner_team"]),
    "target_column": ("project.yml", ["columns", "target"]),
    "id_column": ("project.yml", ["columns", "id"]),
    "timestamp_column": ("project.yml", ["columns", "timestamp"]),
    "schema_name": ("project.yml", ["environments", "dev", "schema"]),
    "catalog_dev": ("project.yml", ["environments", "dev", "catalog"]),
    "catalog_uat": ("project.yml", ["environments", "uat", "catalog"]),
    "catalog_prod": ("project.yml", ["environments", "prod", "catalog"]),
    "primary_metric_threshold": ("training.yml", ["gate", "threshold"]),
    "min_improvement_over_champion": ("training.yml", ["gate", "min_improvement_over_champion"]),
    "drift_psi_threshold": ("monitoring.yml", ["drift", "psi_threshold"]),
}


def _expressions(root: Path, context: dict) -> dict[str, int]:
    """Per file (its name with the project's names as placeholders), how many expressions it holds."""
    counts = {}
    for path in files_under(root):
        if path.suffix in (".yml", ".yaml", ".json"):
            name = path.relative_to(root).as_posix()
            name = name.replace(context["__package_name"], "<name>").replace(context["__project_slug"], "<name>")
            counts[name] = len(EXPRESSION.findall(path.read_text(encoding="utf-8")))
    return counts


def _parses(root: Path) -> list[str]:
    broken = []
    for path in files_under(root):
        text = path.read_text(encoding="utf-8") if path.suffix in (".yml", ".yaml", ".json", ".toml") else None
        try:
            if path.suffix in (".yml", ".yaml"):
                list(yaml.safe_load_all(text))
            elif path.suffix == ".json":
                json.loads(text)
            elif path.suffix == ".toml":
                tomllib.loads(text)
        except Exception as error:  # noqa: BLE001 - any parse error is the finding
            broken.append(f"{path.relative_to(root)}: {type(error).__name__}")
    return broken


@pytest.fixture(scope="module")
def default_render(cookies_session):
    result = cookies_session.bake()
    return _expressions(result.project_path, result.context)


@pytest.mark.parametrize("prompt", TEXT_PROMPTS)
def test_every_hostile_answer_is_refused_or_lands_inert(cookies, default_render, prompt):
    """The hook's verdict first (its one-line-per-problem output is tests/test_hooks.py's); each
    answer it accepts is rendered and read."""
    rendered = 0
    for hostile in HOSTILE:
        context = answers({prompt: hostile})
        problems = load_hook("pre_gen_project", context).validate(context)
        if problems:
            fields = {field for field, _ in problems}
            # One line per problem: one answer is one problem, except a list, one per entry.
            most = hostile.count(",") + 1 if prompt == "secondary_thresholds" else 1
            assert 1 <= len(problems) <= most and fields <= {prompt, *DERIVED.get(prompt, ())}, (hostile, problems)
            continue
        result = cookies.bake(extra_context={prompt: hostile})
        assert result.exit_code == 0, (hostile, repr(result.exception))
        root = result.project_path
        assert _parses(root) == [], (hostile, _parses(root))
        assert _expressions(root, result.context) == default_render, hostile
        if prompt in READ_BACK:
            name, keys = READ_BACK[prompt]
            value = yaml.safe_load((root / "conf" / name).read_text())
            for key in keys:
                value = value[key]
            expected = float(hostile) if isinstance(value, float) else hostile
            assert value == expected, (hostile, value)
        rendered += 1
    assert rendered < len(HOSTILE)  # the list does hold answers the hook must refuse here
