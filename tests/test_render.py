"""Rendering: every supported combination of answers gives a well-formed project."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib

import pytest
import yaml
from binaryornot.check import is_binary

from conftest import NON_DEFAULT_ANSWERS, SUPPORTED, TEMPLATE_DIR, files_under, load_hook, snapshot

# Jinja left in a rendered file means a variable or block was not rendered.
# Azure DevOps YAML may legitimately contain ${{ ... }} template expressions, and
# Python format specs end in "%}" (f"{share:.0%}"), so a block end only counts
# when written the Jinja way, after a space or a "-" (" %}", "-%}").
UNRENDERED_MARKERS = {
    "{{ cookiecutter.": re.compile(re.escape("{{ cookiecutter.")),
    "{{cookiecutter.": re.compile(re.escape("{{cookiecutter.")),
    "{%": re.compile(re.escape("{%")),
    "%}": re.compile(r"[\s-]%\}"),
}
CD_VARIANTS = ("cd-gitflow.yml", "cd-trunk.yml")

RENDERS = [*SUPPORTED, pytest.param(NON_DEFAULT_ANSWERS, id="non-default-answers")]


@pytest.fixture(scope="module", params=RENDERS)
def rendered(request, cookies_session):
    """One render per combination, shared by the checks below (they only read it)."""
    result = cookies_session.bake(extra_context=request.param)
    assert result.exception is None, repr(result.exception)
    assert result.exit_code == 0
    return result


def text_files(root):
    return [path for path in files_under(root) if not is_binary(str(path))]


def relative(path, root):
    return path.relative_to(root).as_posix()


def test_no_unrendered_jinja(rendered):
    root = rendered.project_path
    leftovers = [
        f"{relative(path, root)}: {marker}"
        for path in text_files(root)
        for marker, pattern in UNRENDERED_MARKERS.items()
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    leftovers += [relative(path, root) for path in root.rglob("*") if "{{" in path.name or "}}" in path.name]
    assert leftovers == []


def test_python_files_compile(rendered):
    root = rendered.project_path
    for path in root.rglob("*.py"):
        compile(path.read_text(encoding="utf-8"), str(path), "exec")


def test_json_files_parse(rendered):
    root = rendered.project_path
    for path in root.rglob("*.json"):
        json.loads(path.read_text(encoding="utf-8"))


def test_yaml_files_parse(rendered):
    root = rendered.project_path
    for pattern in ("*.yml", "*.yaml"):
        for path in root.rglob(pattern):
            list(yaml.safe_load_all(path.read_text(encoding="utf-8")))


def test_toml_files_parse(rendered):
    root = rendered.project_path
    for path in root.rglob("*.toml"):
        tomllib.loads(path.read_text(encoding="utf-8"))


def test_package_folder_is_named_after_the_package(rendered):
    package = rendered.context["__package_name"]
    assert (rendered.project_path / "src" / package).is_dir()
    assert rendered.project_path.name == rendered.context["__project_slug"]


def test_only_the_chosen_cd_pipeline_remains(rendered):
    template_variants = [name for name in CD_VARIANTS if (TEMPLATE_DIR / "azure-pipelines" / name).exists()]
    pipelines = rendered.project_path / "azure-pipelines"
    for name in CD_VARIANTS:
        assert not (pipelines / name).exists(), f"azure-pipelines/{name} should have been pruned"
    if template_variants:
        assert (pipelines / "cd.yml").is_file()


def test_post_hook_is_idempotent_on_the_rendered_project(rendered):
    hook = load_hook("post_gen_project", rendered.context)
    before = snapshot(rendered.project_path)

    hook.prune(rendered.project_path, rendered.context)
    hook.prune(rendered.project_path, rendered.context)

    assert snapshot(rendered.project_path) == before


def test_non_default_answers_reach_the_project(cookies):
    result = cookies.bake(extra_context=NON_DEFAULT_ANSWERS)
    assert result.exception is None, repr(result.exception)

    assert result.project_path.name == "perda-esperada-credito"
    assert (result.project_path / "src" / "perda_esperada_credito").is_dir()
    rendered_text = "\n".join(path.read_text(encoding="utf-8") for path in text_files(result.project_path))
    for value in ("valor_perda", "contrato_id", "data_referencia", "ml_dev", "ml_uat", "ml_prod", "risco_credito", "mae"):
        assert value in rendered_text, f"{value!r} does not appear in the rendered project"


def _pins(lines):
    """{distribution name: the requirement as written} for the requirements in ``lines``."""
    pins = {}
    for line in lines:
        requirement = line.split("#", 1)[0].strip()
        if requirement:
            name = re.split(r"[=<>!~;\[ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")
            pins.setdefault(name, []).append(requirement)
    return pins


def test_every_dependency_a_render_installs_locally_is_pinned_to_the_tested_version(rendered):
    """A render's [local] and [dev] extras install exactly what the template is tested with
    (requirements.txt): a newer ruff, pytest or pandas would break an untouched project."""
    tested = _pins((TEMPLATE_DIR.parent / "requirements.txt").read_text().splitlines())
    extras = tomllib.loads((rendered.project_path / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    package = rendered.context["__project_slug"]
    # A pin may appear in two extras ([local] and [serve]); each must be the tested one.
    installed = {name: sorted(set(written)) for name, written in
                 _pins(r for extra in extras.values() for r in extra if not r.startswith(package)).items()}
    loose = {name: written for name, written in installed.items() if any("==" not in r for r in written)}
    assert not loose, f"not pinned: {loose}"
    assert {name: tested.get(name) for name in installed} == installed


def test_rendered_code_is_lint_clean(rendered):
    """`make lint` of an untouched render passes: ruff pinned to the version the template is tested
    with, configured by the render's own pyproject.toml."""
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "src", "tests"], cwd=rendered.project_path,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-1000:]
