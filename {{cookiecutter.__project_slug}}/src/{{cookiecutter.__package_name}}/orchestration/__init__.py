"""Pipelines and how they run locally.

The order of the stages of each pipeline is declared here once; every stage is the notebook
``notebooks/<pipeline>/<NN>_<stage>.py``.
"""

from __future__ import annotations

from pathlib import Path

PIPELINES: dict[str, tuple[str, ...]] = {
    "training": ("ingest", "clean", "features", "train", "evaluate", "promote"),
    "execution": ("deploy", "predict", "metrics", "evaluate_metrics"),
}


def notebook_path(root: Path, pipeline: str, stage: str) -> Path:
    """``notebooks/training/04_train.py`` for ("training", "train")."""
    number = PIPELINES[pipeline].index(stage) + 1
    return root / "notebooks" / pipeline / f"{number:02d}_{stage}.py"
