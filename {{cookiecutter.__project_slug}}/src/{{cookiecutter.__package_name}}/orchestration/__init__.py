"""The two pipelines, their notebooks, and the Data Factory JSON that orchestrates them.

Each pipeline is ``adf/pipeline/pl_<package>_<pipeline>.json`` (the order of its activities is
there, and ``runner`` walks it); every stage is the notebook ``notebooks/<pipeline>/<NN>_<stage>.py``.
``PIPELINES`` names the stages of each, in the order the notebooks are numbered; the project's
tests keep it and the JSON in step.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..settings import Settings

PIPELINES: dict[str, tuple[str, ...]] = {
    "training": ("ingest", "clean", "features", "train", "evaluate", "promote"),
    "execution": ("deploy", "predict", "metrics", "evaluate_metrics"),
}


def notebook_path(root: Path, pipeline: str, stage: str) -> Path:
    """``notebooks/training/04_train.py`` for ("training", "train")."""
    number = PIPELINES[pipeline].index(stage) + 1
    return root / "notebooks" / pipeline / f"{number:02d}_{stage}.py"


def pipeline_name(settings: Settings, pipeline: str) -> str:
    """The factory's name of a pipeline: ``pl_<package>_training`` for "training"."""
    return f"pl_{settings.package_name}_{pipeline}"


def short_name(settings: Settings, name: str) -> str:
    """"training" for ``pl_<package>_training``."""
    return name.removeprefix(f"pl_{settings.package_name}_")
