"""The loop's tables as pandas, for the commands that only read a few numbers (``status``,
``report``): locally straight from the warehouse folder with ``deltalake`` (delta-rs, no JVM, about
a second), on Databricks through the cluster's Spark session.

The record views (``metrics``, ``pipeline_runs``, ``monitoring_decisions``) are SQL views over
append-only logs; :func:`read_view` applies the same rule to the log (the newest row per key, from
``records.LATEST``) since a Delta reader without a metastore sees tables, not views.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .tables import LATEST
from .warehouse import open_table

if TYPE_CHECKING:
    import pandas as pd

    from .settings import Settings


def read_table(settings: Settings, name: str, columns: list[str] | None = None) -> pd.DataFrame | None:
    """The table as pandas (None if it does not exist yet): for small tables only."""
    if not settings.is_local:
        from .runtime.session import get_spark

        frame = get_spark(settings).table(settings.table(name))
        return (frame.select(*columns) if columns else frame).toPandas()
    table = open_table(settings, name)
    return table.to_pandas(columns=columns) if table is not None else None


def read_view(settings: Settings, view: str) -> pd.DataFrame | None:
    """A record view (``metrics``, ``pipeline_runs``, ``monitoring_decisions``): its log, newest row per key."""
    log = read_table(settings, f"{view}_log")
    if log is None:
        return None
    keys, order = LATEST[view]
    return log.sort_values(order).drop_duplicates(list(keys), keep="last").reset_index(drop=True)


def row_count(settings: Settings, name: str) -> int:
    if not settings.is_local:
        from .runtime.session import get_spark

        return get_spark(settings).table(settings.table(name)).count()
    table = open_table(settings, name)
    return table.count() if table is not None else 0

