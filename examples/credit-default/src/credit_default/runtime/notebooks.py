"""Runs a Databricks source-format notebook locally, the way a cluster would.

The notebook file is executed as it is (``# MAGIC`` cells are comments) with the globals a
Databricks notebook gets: ``spark``, ``dbutils``, ``display``. Its ``dbutils.notebook.exit``
value is returned, like the ``runOutput`` Data Factory reads from a notebook activity.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .dbutils import LocalDbutils, NotebookExit

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

HEADER = "# Databricks notebook source"


class NotebookError(RuntimeError):
    """A notebook failed; the message is the notebook and the one-line cause."""

    def __init__(self, path: Path, cause: BaseException) -> None:
        super().__init__(f"{path.name}: {cause}")
        self.path = path
        self.cause = cause


def run_notebook(
    path: Path,
    spark: SparkSession,
    parameters: dict[str, str] | None = None,
    task_values: dict[str, Any] | None = None,
) -> str | None:
    """Execute ``path`` with ``parameters`` as its widgets; return its exit value (or None)."""
    source = path.read_text(encoding="utf-8")
    if not source.startswith(HEADER):
        raise NotebookError(path, ValueError(f"not a Databricks source notebook (no {HEADER!r})"))
    dbutils = LocalDbutils(parameters, task_values, task_key=path.stem)
    namespace: dict[str, Any] = {
        "__name__": "__main__",
        "__file__": str(path),
        "spark": spark,
        "dbutils": dbutils,
        "display": lambda obj, *_, **__: print(obj),
        "displayHTML": lambda html: None,
    }
    try:
        exec(compile(source, str(path), "exec"), namespace)  # noqa: S102 - the point of a runner
    except NotebookExit as done:
        return done.value
    except Exception as exc:
        raise NotebookError(path, exc) from exc
    return None
