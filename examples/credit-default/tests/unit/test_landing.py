"""The landing folder a files data source reads (landing.py): CSV, JSON lines and Parquet batches,
named after their batch, with the labels in the batch file, beside it in labels/, or not yet."""

import pandas as pd
import pytest

from credit_default import landing, simulator, sources
from credit_default.quality import SchemaBreakError, conform
from credit_default.settings import load_settings
from credit_default.simulator import Scenario

pytestmark = pytest.mark.spark


@pytest.fixture()
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("MLOPS_LOCAL_DIR", str(tmp_path))
    return load_settings("local")


def _write(frame: pd.DataFrame, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix == ".json":
        frame.to_json(path, orient="records", lines=True, date_format="iso")
    else:
        frame.to_parquet(path, index=False, coerce_timestamps="us")


def test_every_format_reads_back_as_the_declared_columns(spark, isolated):
    root = isolated.local_dir / "landing"
    keys = [isolated.id_column, isolated.timestamp_column]
    target = isolated.target_column
    frames = {name: simulator.generate(isolated, n, 40, Scenario(dirty_fraction=0)) for n, name in
              enumerate(("2026-01", "2026-02", "2026-03"), start=1)}
    _write(frames["2026-01"], root / "batches" / "2026-01.csv")  # labels in the file
    _write(frames["2026-02"].drop(columns=target), root / "batches" / "2026-02.json")  # labels beside it
    _write(frames["2026-02"][[*keys, target]], root / "labels" / "2026-02.json")
    _write(frames["2026-03"].drop(columns=target), root / "batches" / "2026-03.parquet")  # labels to come
    (root / "batches" / ".2026-04.csv.crc").write_text("")  # hidden files are not batches

    assert landing.list_batches(spark, isolated) == ["2026-01", "2026-02", "2026-03"]
    for batch in ("2026-01", "2026-02", "2026-03"):
        rows = conform(landing.read_batch(spark, isolated, batch), sources.source_columns(isolated), f"batch {batch}")
        assert rows.count() == 40 and target not in rows.columns
    for batch in ("2026-01", "2026-02"):
        labels = landing.read_labels(spark, isolated, batch)
        labelled = conform(labels, sources.label_columns(isolated), f"labels of {batch}")
        expected = frames[batch].set_index(isolated.id_column)[target]
        got = labelled.toPandas().set_index(isolated.id_column)[target]
        assert got.sort_index().tolist() == pytest.approx(expected.sort_index().tolist())
    assert landing.read_labels(spark, isolated, "2026-03") is None


def test_a_batch_landed_twice_or_missing_is_one_clear_line(spark, isolated):
    root = isolated.local_dir / "landing" / "batches"
    frame = simulator.generate(isolated, 1, 5)
    _write(frame, root / "2026-01.csv")
    _write(frame, root / "2026-01.parquet")
    with pytest.raises(ValueError, match=r"batch '2026-01' landed twice in .*: 2026-01.csv and 2026-01.parquet$"):
        landing.list_batches(spark, isolated)
    (root / "2026-01.parquet").unlink()
    with pytest.raises(FileNotFoundError, match=r"^no batch '2026-02' in "):
        landing.read_batch(spark, isolated, "2026-02")


def test_a_file_that_is_not_parquet_is_a_schema_break_in_one_line(spark, isolated):
    root = isolated.local_dir / "landing" / "batches"
    root.mkdir(parents=True)
    (root / "b0007.parquet").write_bytes(b"not a parquet file\n" * 20)
    with pytest.raises(SchemaBreakError) as error:
        landing.read_batch(spark, isolated, "b0007")
    message = str(error.value)
    assert message == ("schema break in batch b0007: batches/b0007.parquet cannot be read as Parquet (Parquet magic "
                       "bytes not found in footer. Either the file is corrupted or this is not a parquet file.)")
