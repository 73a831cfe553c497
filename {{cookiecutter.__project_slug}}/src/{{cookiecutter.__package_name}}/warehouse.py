"""The local warehouse folder (``.local/warehouse``) through delta-rs (the ``deltalake`` package):
no JVM, milliseconds a call. Local Spark keeps its managed tables there, so both see the same
Delta tables, each reading the other's commits.

The loop's records are appended this way locally: a one-row Delta commit through Spark costs
about 0.4 s on a warm engine (analysis, a metastore lookup, a write job, the commit) and through
delta-rs about 0.02 s; an execution run writes six. delta-rs enforces the tables' NOT NULL
columns and CHECK constraints as Spark does. On Databricks the same rows go through Spark
(``tables.append_rows``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from deltalake import DeltaTable

    from .settings import Settings

SPARK_CHECKPOINT_INTERVAL = 10  # Delta Lake's default delta.checkpointInterval


def table_path(settings: Settings, name: str) -> Path:
    """Where local Spark keeps a managed table: ``<warehouse>/<schema>.db/<name>``."""
    return settings.local_dir / "warehouse" / f"{settings.schema}.db" / name


def open_table(settings: Settings, name: str) -> DeltaTable | None:
    """The local Delta table (None if it does not exist yet)."""
    from deltalake import DeltaTable

    path = str(table_path(settings, name))
    return DeltaTable(path) if DeltaTable.is_deltatable(path) else None


def append(settings: Settings, name: str, rows: Sequence[tuple], columns: Sequence[str]) -> None:
    """Add ``rows`` (tuples of ``columns``' values) to the local table ``name`` in one commit.

    Values are matched to the table's columns by name and converted to their types (naive
    timestamps are UTC; NaN becomes null, as through Spark). A missing table, or a column the
    table lacks, is an error, never created here: the DDL in ``sql/`` owns the tables."""
    import pyarrow as pa
    from deltalake import write_deltalake

    table = open_table(settings, name)
    if table is None:
        raise RuntimeError(f"table {settings.table(name)} does not exist: run `init` first")
    schema = pa.schema(table.schema().to_arrow())
    unknown = sorted(set(columns) - set(schema.names))
    if unknown:  # Spark would refuse them too; never drop a value silently
        raise RuntimeError(f"table {settings.table(name)} has no column {', '.join(unknown)}: "
                           "is sql/ applied (`init`)?")
    values = dict(zip(columns, zip(*rows)))
    data = pa.Table.from_arrays(
        [pa.array(values.get(field.name, [None] * len(rows)), type=field.type, from_pandas=True) for field in schema],
        schema=schema,
    )
    write_deltalake(table, data, mode="append")
    # Spark checkpoints a table every 10 commits (the log's state in one file); delta-rs only
    # every 100 unless told. At Spark's pace no reader, Spark's included, replays over 10 commits.
    interval = int(table.metadata().configuration.get("delta.checkpointInterval", SPARK_CHECKPOINT_INTERVAL))
    if table.version() % interval == 0:
        table.create_checkpoint()
