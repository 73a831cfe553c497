"""A landing folder, one file per batch: the layout the simulator writes and a files data source reads.

    <landing_path>/batches/<batch id>.parquet | .csv | .json   a batch's rows (the target may be among them)
    <landing_path>/labels/<batch id>.parquet | .csv | .json    its labels (id, timestamp, target), if they come later

``landing_path`` is conf/project.yml's: ``.local/landing`` locally, a Unity Catalog volume
(``/Volumes/<catalog>/<schema>/<volume>``) on Databricks. A batch id is its file name without the
extension, and batches are taken in name order: name them so that it is time order (``2026-03``,
``b0007``). A CSV file has a header row; a JSON file holds one object per line. Column types are
inferred from the files, then checked against the declared columns: an integer is widened where a
DOUBLE is declared, and read as text where a STRING is (the id column is always a STRING); a JSON
integer is read as the integer type declared.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import TYPE_CHECKING

from pyspark.sql import functions as F

from . import sources
from .quality import SchemaBreakError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from .settings import Settings

FORMATS = {".parquet": "parquet", ".csv": "csv", ".json": "json"}


def _files(folder: Path) -> dict[str, Path]:
    """Batch id → file, for the files of a known format in ``folder`` (hidden and partial files skipped)."""
    if not folder.is_dir():
        return {}
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in FORMATS or path.name.startswith((".", "_")):
            continue
        if path.stem in found:
            raise ValueError(f"batch {path.stem!r} landed twice in {folder}: {found[path.stem].name} and {path.name}")
        found[path.stem] = path
    return found


def _folder(settings: Settings, kind: str) -> Path:
    return Path(settings.landing_path) / kind


def _read(spark: SparkSession, settings: Settings, path: Path) -> DataFrame:
    kind = FORMATS[path.suffix.lower()]
    if kind == "parquet":
        rows = spark.read.parquet(str(path))
        try:
            rows.schema  # noqa: B018 - the footer read now (Spark Connect reads lazily), not in a later stage
            return rows
        except Exception as error:  # noqa: BLE001 - a file that is no Parquet
            raise SchemaBreakError(f"schema break in batch {path.stem}: {path.parent.name}/{path.name} cannot be "
                                   f"read as Parquet ({_parquet_problem(path)})") from error
    if kind == "csv":
        return spark.read.options(header=True, inferSchema=True).csv(str(path))
    rows = spark.read.options(inferTimestamp=True).json(str(path))
    # JSON has one kind of integer, which Spark reads as BIGINT: read it as the integer type
    # declared (a value out of its range fails the read, it is never wrapped).
    declared = {name: t.lower() for name, t in sources.labelled_columns(settings).items()}
    narrower = {name for name, t in rows.dtypes if t == "bigint" and declared.get(name) in ("int", "integer", "smallint", "tinyint")}
    return rows.select(*[F.col(n).cast(declared[n]).alias(n) if n in narrower else F.col(n) for n in rows.columns])


def _parquet_problem(path: Path) -> str:
    """Why a file is no Parquet, in pyarrow's words: shorter than Spark's, which name its job."""
    import pyarrow.parquet as pq

    try:
        pq.read_schema(path)
    except Exception as error:  # noqa: BLE001 - its message is the answer
        return " ".join(str(error).split())
    return "Spark cannot read it"


def _columns(path: Path) -> list[str]:
    """The column names of a landed file, from its header alone (no Spark job)."""
    kind = FORMATS[path.suffix.lower()]
    if kind == "parquet":
        import pyarrow.parquet as pq

        return pq.read_schema(path).names
    with path.open(encoding="utf-8") as handle:
        first = handle.readline()
    return next(csv.reader([first])) if kind == "csv" else list(json.loads(first or "{}"))


def list_batches(spark: SparkSession, settings: Settings) -> list[str]:
    return sorted(_files(_folder(settings, "batches")))


def read_batch(spark: SparkSession, settings: Settings, batch_id: str) -> DataFrame:
    files = _files(_folder(settings, "batches"))
    if batch_id not in files:
        raise FileNotFoundError(f"no batch {batch_id!r} in {_folder(settings, 'batches')}")
    rows = _read(spark, settings, files[batch_id])
    return rows.drop(settings.target_column) if settings.target_column in rows.columns else rows


def read_labels(spark: SparkSession, settings: Settings, batch_id: str) -> DataFrame | None:
    """The batch's labels file, else its own target column, else None (the labels have not arrived)."""
    labels = _files(_folder(settings, "labels"))
    if batch_id in labels:
        return _read(spark, settings, labels[batch_id])
    batches = _files(_folder(settings, "batches"))
    if batch_id in batches and settings.target_column in _columns(batches[batch_id]):
        keys = [settings.id_column, settings.timestamp_column, settings.target_column]
        return _read(spark, settings, batches[batch_id]).select(*keys)
    return None
