"""Prune the files of options not chosen (cookiecutter post_gen_project).

Cookiecutter renders this file with Jinja and runs it inside the new project.
The answers arrive as ONE JSON document in a raw string and are read as data.

What to do for each answer is one table, ``OPTION_FILES``: for a variable and
its chosen value, the paths to remove and the paths to rename. The pruning is
idempotent: a path that is already gone is skipped, so running it twice, or on
an already pruned project, changes nothing. No network, no other side effect.
Keep this file free of Jinja markup other than the ``CONTEXT`` line.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

CONTEXT = json.loads(r'''{{ cookiecutter | tojson }}''')

# variable -> chosen value -> {"remove": [paths], "rename": {source: target}}
# Paths are relative to the project root and use "/".
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
    "problem_type": {
        "classification": {"remove": [], "rename": {}},
        "regression": {"remove": [], "rename": {}},
    },
}


def actions_for(context):
    """The (removals, renames) the answers in ``context`` call for."""
    removals = []
    renames = []
    for variable, by_value in OPTION_FILES.items():
        chosen = by_value.get(str(context.get(variable, "")), {})
        removals.extend(chosen.get("remove", []))
        renames.extend(chosen.get("rename", {}).items())
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


def main(context=None):
    context = CONTEXT if context is None else context
    try:
        prune(Path.cwd(), context)
    except OSError as error:
        print(f"ERROR: post_gen_project: could not prune the project ({error})", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
