"""The only place that knows whether code runs on Databricks or locally.

On Databricks the cluster owns the Spark session, ``dbutils`` and the MLflow tracking server;
locally this package provides the same three: Spark with Delta Lake (delta-spark's standard jar
resolution), a ``dbutils`` shim and a sqlite MLflow store inside the project.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..settings import Settings


def on_databricks() -> bool:
    """Databricks sets this variable on every cluster (and serverless compute)."""
    return "DATABRICKS_RUNTIME_VERSION" in os.environ


def require_reachable(settings: Settings) -> None:
    """Off Databricks only the local environment can run: say so in one line, before anything starts."""
    if not settings.is_local and not on_databricks():
        raise RuntimeError(f"environment {settings.env!r} runs on Databricks; locally use --env local")
