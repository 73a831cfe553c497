"""Prune the files of options not chosen (cookiecutter post_gen_project).

Cookiecutter renders this file with Jinja and runs it inside the new project.
The answers arrive as ONE JSON document in a raw string and are read as data.

What to do for each answer is one table, ``OPTION_FILES``: for a variable and
its chosen value, the paths to remove and the paths to rename. The pruning is
idempotent: a path that is already gone is skipped, so running it twice, or on
an already pruned project, changes nothing. No network, no other side effect
than the message below.

Then it prints, on stdout, where the project is and what to run next:
``NEXT_STEPS`` of the chosen data source (each a target of the rendered Makefile) and ``FILES_TO_EDIT``
(the four files of the rendered README). Printed only when run as a script,
never when the tests import this file; printed again when cruft re-runs it.
Keep this file free of Jinja markup other than the ``CONTEXT`` line.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from pathlib import Path

CONTEXT = json.loads(r'''{{ cookiecutter | tojson }}''')

# deploy/mlflow-server (the team tracking server) and tests/schemas/compose-spec stay in every render.
CONTAINER_FILES = [
    "Dockerfile", ".dockerignore", "deploy/k8s", "deploy/argocd", "scripts/pin_serving_version.py",
    "azure-pipelines/pin-serving.yml", "azure-pipelines/templates/pin-serving.yml", "tests/unit/test_container.py",
    "tests/unit/kustomize_build.py", "tests/schemas/argo-cd",
]
# What observability=datadog adds: the emitter evaluate_metrics calls, the monitors and the webhook as
# versioned JSON, their checks and their document.
DATADOG_FILES = [
    "src/{package}/monitoring/datadog.py", "monitoring", "tests/unit/test_datadog.py",
    "tests/unit/test_datadog_definitions.py", "docs/observability.md",
]

# variable -> chosen value -> {"remove": [paths], "rename": {source: target}}
# Paths are relative to the project root and use "/"; "{package}" stands for the package's folder.
OPTION_FILES = {
    "branching_model": {
        "gitflow": {
            "remove": ["azure-pipelines/cd-trunk.yml"],
            "rename": {"azure-pipelines/cd-gitflow.yml": "azure-pipelines/cd.yml"},
        },
        "trunk": {
            "remove": ["azure-pipelines/cd-gitflow.yml"],
            "rename": {"azure-pipelines/cd-trunk.yml": "azure-pipelines/cd.yml"},
        },
    },
    # adf/ is the declaration of the stages either way (the local runner walks it); what runs them
    # on Databricks is the factory or the bundle's jobs, and only its own files are kept.
    "orchestrator": {
        "data_factory": {
            "remove": ["resources", "scripts/fail_run.py", "tests/unit/test_workflows.py"],
            "rename": {},
        },
        "databricks_workflows": {
            "remove": ["azure-pipelines/factory", "scripts/smoke_run.py", "tests/unit/test_smoke_run.py"],
            "rename": {},
        },
    },
    # The container path (image, Kubernetes manifests, Argo CD, the pin script and pipeline, their
    # checks) exists only for serving=container; the Databricks endpoint is a name in conf/.
    "serving": {
        "none": {"remove": CONTAINER_FILES, "rename": {}},
        "databricks": {"remove": CONTAINER_FILES, "rename": {}},
        "container": {"remove": [], "rename": {}},
    },
    "observability": {
        "none": {"remove": DATADOG_FILES, "rename": {}},
        "datadog": {"remove": [], "rename": {}},
    },
    "problem_type": {
        "classification": {"remove": [], "rename": {}},
        "regression": {"remove": [], "rename": {}},
    },
    # data_source.py itself renders the chosen source: no file to prune.
    "data_source": {
        "simulator": {"remove": [], "rename": {}},
        "files": {"remove": [], "rename": {}},
        "table": {"remove": [], "rename": {}},
    },
}

# What a data scientist runs after `cd` into the project, per data source: (command, what it does),
# each command a target of the rendered Makefile.
NEXT_STEPS = {
    "simulator": [
        ("make install", "creates .venv with the pinned dependencies"),
        ("make init && make loop", "sample data and tables, a first champion, then 5 new batches"),
    ],
    "files": [
        ("make install", "creates .venv with the pinned dependencies"),
        ("make init", "tables; then land your files in .local/landing/batches/ (see data_source.py)"),
        ("make train", "the first champion, from the labelled files"),
    ],
    "table": [
        ("make install", "creates .venv with the pinned dependencies"),
        ("make init", "tables; then point SOURCE_TABLE in data_source.py at your table"),
        ("make train", "the first champion, from the labelled batches"),
    ],
}
FILES_TO_EDIT = ["data_source.py", "cleaning.py", "features.py", "model.py"]


def actions_for(context):
    """The (removals, renames) the answers in ``context`` call for."""
    package = str(context.get("__package_name", ""))
    removals = []
    renames = []
    for variable, by_value in OPTION_FILES.items():
        chosen = by_value.get(str(context.get(variable, "")), {})
        removals.extend(path.format(package=package) for path in chosen.get("remove", []))
        renames.extend((source.format(package=package), target.format(package=package))
                       for source, target in chosen.get("rename", {}).items())
    return removals, renames


def remove_path(root, relative):
    """Delete a file or folder under ``root``; a missing one is skipped."""
    path = root / relative
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def rename_path(root, source, target):
    """Move ``source`` to ``target`` under ``root``; skipped once done."""
    source_path = root / source
    if not (source_path.exists() or source_path.is_symlink()):
        return
    target_path = root / target
    target_path.parent.mkdir(parents=True, exist_ok=True)
    source_path.replace(target_path)


def prune(root, context):
    """Remove and rename the files of the options not chosen. Idempotent."""
    root = Path(root)
    removals, renames = actions_for(context)
    for relative in removals:
        remove_path(root, relative)
    for source, target in renames:
        rename_path(root, source, target)


def cd_target(project_dir, invoked_from):
    """How to reach ``project_dir`` from the user's shell folder ``invoked_from``.

    Relative when the project is under that folder (``credit-default``), else
    the absolute path; quoted for a POSIX shell when it needs to be.
    """
    project_dir = Path(project_dir).resolve()
    target = project_dir
    if invoked_from:
        try:
            target = project_dir.relative_to(Path(invoked_from).resolve())
        except (OSError, ValueError):
            target = project_dir
    return shlex.quote(str(target))


def next_steps_message(project_dir, context, invoked_from=None):
    """The lines printed once the project is generated."""
    project_dir = Path(project_dir).resolve()
    package = context.get("__package_name", "")
    steps = NEXT_STEPS.get(str(context.get("data_source", "simulator")), NEXT_STEPS["simulator"])
    width = max(len(command) for command, _ in steps)
    lines = ["", f"Created the project folder {project_dir}", "", "Next steps:"]
    lines.append(f"  cd {cd_target(project_dir, invoked_from)}")
    lines += [f"  {command.ljust(width)}   # {purpose}" for command, purpose in steps]
    lines += ["", f"Then edit the four files in src/{package}/ (see README.md): {', '.join(FILES_TO_EDIT)}"]
    return "\n".join(lines)


def show(message):
    """Print ``message``; a console that cannot show it must not fail the generation.

    A failing post_gen_project hook makes cookiecutter delete the project.
    """
    try:
        print(message, flush=True)
    except (OSError, UnicodeError):
        pass


def main(context=None):
    context = CONTEXT if context is None else context
    project_dir = Path.cwd()
    try:
        prune(project_dir, context)
    except OSError as error:
        print(f"ERROR: post_gen_project: could not prune the project ({error})", file=sys.stderr)
        sys.exit(1)
    # cookiecutter runs this hook inside the project; PWD is still the user's shell folder.
    show(next_steps_message(project_dir, context, os.environ.get("PWD")))


if __name__ == "__main__":
    main()
