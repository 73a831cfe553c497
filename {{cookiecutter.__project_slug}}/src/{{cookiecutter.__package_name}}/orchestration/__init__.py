"""The two pipelines and their stages, read from the Data Factory JSON that orchestrates them.

``adf/pipeline/pl_<package>_<pipeline>.json`` is the one declaration of a stage: the pipeline it
belongs to, its place there (the ``dependsOn`` of its notebook activity), its notebook
(``notebookPath``) and what it receives from the stages before it (``baseParameters``). Everything
else is derived here: the stage → pipeline map ``run_stage`` records, the notebook files, the CLI's
stage list and the tests. Adding a stage touches three files: its module in ``stages/``, its
notebook, and its activity in the pipeline JSON.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..settings import Settings

_NOTEBOOK = re.compile(r"/files/([^']+)'")


@dataclass(frozen=True)
class Stage:
    """A notebook activity of a factory pipeline."""

    name: str
    pipeline: str
    notebook: str  # relative to the project root, without ".py": notebooks/training/ingest
    parameters: tuple[str, ...]  # the activity's baseParameters: the notebook's widgets
    description: str

    def notebook_file(self, root: Path) -> Path:
        return root / f"{self.notebook}.py"


@cache
def _declared(root: Path) -> tuple[Stage, ...]:
    found: list[Stage] = []
    files = {path: json.loads(path.read_text(encoding="utf-8"))
             for path in (root / "adf" / "pipeline").glob("pl_*.json")}
    # A pipeline another one runs (Execute Pipeline: training, run on retrain) is listed first.
    called = {reference for definition in files.values()
              for reference in re.findall(r'"referenceName": "(\w+)"', json.dumps(definition))}
    for path, definition in sorted(files.items(), key=lambda item: (item[1]["name"] not in called, item[0].name)):
        pipeline = definition["name"].rsplit("_", 1)[-1]
        notebooks = {a["name"]: a for a in definition["properties"]["activities"] if a["type"] == "DatabricksNotebook"}
        for name in _in_dependency_order(notebooks):
            activity = notebooks[name]
            properties = activity["typeProperties"]
            path_value = properties["notebookPath"]
            path_value = path_value["value"] if isinstance(path_value, dict) else path_value
            notebook = _NOTEBOOK.search(path_value)
            if notebook is None:
                raise ValueError(f"{path.name}: activity {name}: notebookPath {path_value!r} has no /files/<notebook>")
            found.append(Stage(name, pipeline, notebook.group(1), tuple(properties.get("baseParameters", {})),
                               activity.get("description", "")))
    return tuple(found)


def _in_dependency_order(activities: dict[str, dict]) -> list[str]:
    """Notebook activities in the order their ``dependsOn`` runs them (file order among equals)."""
    after = {
        name: {d["activity"] for d in activity.get("dependsOn", []) if d["activity"] in activities}
        for name, activity in activities.items()
    }
    ordered: list[str] = []
    while len(ordered) < len(after):
        ready = [n for n, needs in after.items() if n not in ordered and needs <= set(ordered)]
        if not ready:
            raise ValueError(f"notebook activities depend on each other in a cycle: {sorted(set(after) - set(ordered))}")
        ordered.append(ready[0])
    return ordered


def stages(root: Path) -> tuple[Stage, ...]:
    """Every stage of the project under ``root``, pipeline by pipeline, each pipeline's in run order."""
    return _declared(Path(root).resolve())


def stage(root: Path, name: str) -> Stage:
    """The stage called ``name``, or a one-line error listing the stages there are."""
    for found in stages(root):
        if found.name == name:
            return found
    raise ValueError(f"unknown stage {name!r}; stages are {', '.join(s.name for s in stages(root))}")


def pipelines(root: Path) -> dict[str, tuple[str, ...]]:
    """Pipeline → its stages in run order: {"training": ("ingest", ...), "execution": (...)}."""
    found: dict[str, tuple[str, ...]] = {}
    for declared in stages(root):
        found[declared.pipeline] = (*found.get(declared.pipeline, ()), declared.name)
    return found


def pipeline_name(settings: Settings, pipeline: str) -> str:
    """The factory's name of a pipeline: ``pl_<package>_training`` for "training"."""
    return f"pl_{settings.package_name}_{pipeline}"


def short_name(settings: Settings, name: str) -> str:
    """"training" for ``pl_<package>_training``."""
    return name.removeprefix(f"pl_{settings.package_name}_")
