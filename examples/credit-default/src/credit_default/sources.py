"""The source the pipeline reads its batches from, and the columns every batch has.

``data_source.py`` (a file the scientist edits) declares ``SOURCE_COLUMNS`` and reads batches. This
module derives the rest from that one declaration and conf/project.yml: the id and timestamp
columns, the target and its type. It also chooses what the stages read: the project's own source,
or the simulator's sample data in the landing folder (see ``landing.py``) when ``data_source.py``
says ``SAMPLE_DATA = True`` — the default of a fresh project — or the environment says
``MLOPS_SAMPLE_DATA=1``: the project's tests, ``make bench`` and ``loop`` run on sample data shaped
like the declared columns whatever the real source is, so they keep working on any dataset.
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import TYPE_CHECKING

from . import data_source, landing

if TYPE_CHECKING:
    from .settings import Settings

SAMPLE_DATA_VAR = "MLOPS_SAMPLE_DATA"


def declared_columns() -> dict[str, str]:
    """``data_source.SOURCE_COLUMNS``: the model's raw inputs besides the id and the timestamp."""
    return dict(data_source.SOURCE_COLUMNS)


def source_columns(settings: Settings) -> dict[str, str]:
    """Every column of a batch: id (always STRING), timestamp and the declared columns."""
    return {settings.id_column: "STRING", settings.timestamp_column: "TIMESTAMP", **declared_columns()}


def target_type(settings: Settings) -> str:
    return "INT" if settings.is_classification else "DOUBLE"


def label_columns(settings: Settings) -> dict[str, str]:
    """A batch's labels: its id, timestamp and target."""
    return {settings.id_column: "STRING", settings.timestamp_column: "TIMESTAMP",
            settings.target_column: target_type(settings)}


def labelled_columns(settings: Settings) -> dict[str, str]:
    """A batch joined with its labels: what bronze and silver hold."""
    return {**source_columns(settings), settings.target_column: target_type(settings)}


def uses_sample_data() -> bool:
    """True when the stages read the simulator's landing folder rather than the project's own source."""
    forced = os.environ.get(SAMPLE_DATA_VAR)
    if forced is not None:
        return forced.strip() == "1"
    return bool(getattr(data_source, "SAMPLE_DATA", False))


def active() -> ModuleType:
    """The module whose ``list_batches`` / ``read_batch`` / ``read_labels`` the stages call."""
    return landing if uses_sample_data() else data_source
