"""``status``: the registry's aliases, the champion's holdout metrics and its metrics on the newest
labelled batch it scored (production), the last stage run, the last decision, the row count of
every table and the local runs that never finished, in seconds: the tables are read without Spark locally
(see ``readers``) and the registry through MLflow's client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from . import readers, registry, tables
from .orchestration import journal

if TYPE_CHECKING:
    from .settings import Settings


def collect(settings: Settings) -> dict[str, Any]:
    from mlflow import MlflowClient

    from .runtime import require_reachable
    from .runtime.tracking import use_store

    require_reachable(settings)
    use_store(settings)
    client = MlflowClient()
    name = settings.model_name
    aliases = {}
    for alias in (registry.CHAMPION, registry.CHALLENGER, registry.PREVIOUS):
        version = registry.version_by_alias(client, name, alias)
        aliases[alias] = version.version if version is not None else None
    champion = aliases[registry.CHAMPION]
    # The champion's rows of the metrics view, read once for its holdout and production numbers.
    metrics = readers.read_view(settings, "metrics") if champion else None
    if metrics is not None:
        metrics = metrics[(metrics.model_name == name) & (metrics.model_version == champion)]
    return {
        "model_name": name,
        "env": settings.env,
        "aliases": aliases,
        "champion_metrics": _holdout_metrics(metrics),
        "champion_production": _production_metrics(metrics),
        "primary_metric": settings.primary_metric,
        "last_stage_run": _newest(settings, "pipeline_runs", "started_at",
                                  ["pipeline", "pipeline_run_id", "stage", "status", "started_at", "error"]),
        "last_decision": _newest(settings, "monitoring_decisions", "decided_at",
                                 ["decision", "rule", "batch_id", "decided_at"]),
        "row_counts": {t: readers.row_count(settings, t) for t in tables.declared(settings)["table"]},
        # Local runs that started and never ended (a killed process): the factory shows its own.
        "unfinished_runs": journal.unfinished(settings) if settings.is_local else [],
    }


def _holdout_metrics(metrics: pd.DataFrame | None) -> dict[str, float]:
    if metrics is None:
        return {}
    mine = metrics[(metrics.stage == "evaluate") & (metrics.dataset == "holdout") & (metrics.metric_name != "gate")]
    return {row.metric_name: float(row.metric_value) for row in mine.itertuples()}


def _production_metrics(metrics: pd.DataFrame | None) -> dict[str, Any] | None:
    """The champion's metrics on its newest labelled batch: {batch_id, metrics}, or None."""
    if metrics is None:
        return None
    mine = metrics[(metrics.stage == "metrics") & (metrics.dataset == "production")]
    if mine.empty:
        return None
    newest = mine[mine.batch_id == mine.batch_id.max()]
    return {"batch_id": newest.batch_id.iloc[0],
            "metrics": {row.metric_name: float(row.metric_value) for row in newest.itertuples()}}


def _newest(settings: Settings, view: str, order: str, columns: list[str]) -> dict[str, str | None] | None:
    """The newest row of this model in a record view, as JSON-ready text (a missing value stays null)."""
    frame = readers.read_view(settings, view)
    if frame is None:
        return None
    frame = frame[frame.model_name == settings.model_name]
    if frame.empty:
        return None
    row = frame.sort_values(order).iloc[-1]
    return {column: _text(row[column]) for column in columns}


def _text(value: Any) -> str | None:
    if pd.isna(value):
        return None
    if isinstance(value, pd.Timestamp) and value.tzinfo is not None:
        value = value.tz_convert(None)  # the tables hold UTC; shown as Spark shows it
    return str(value)
