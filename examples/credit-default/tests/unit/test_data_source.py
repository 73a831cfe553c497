"""Your data source keeps its contract (data_source.py): the declared columns are usable, and the
first batch of your own data, once one is there to read, has exactly those columns, with labels
that join it.

The rest of the suite runs on the simulator's sample data (see conftest.py); this module reads
what data_source.py itself reads, from the project's own local state (not the tests' one).
"""

import pytest

from credit_default import data_source, simulator, sources
from credit_default.quality import conform
from credit_default.settings import LOCAL_DIR_VAR, load_settings

pytestmark = pytest.mark.spark

# Columns the pipeline adds to a batch: a source may not declare them itself.
ADDED = ("batch_id", "ingested_at")


def test_declared_columns_are_usable(settings):
    declared = sources.declared_columns()
    assert declared, "data_source.SOURCE_COLUMNS declares no column"
    named = {settings.id_column, settings.timestamp_column, settings.target_column, *ADDED}
    clash = sorted(named & set(declared))
    assert not clash, f"SOURCE_COLUMNS declares {clash}: the id, timestamp and target come from conf/project.yml"
    for name, sql_type in declared.items():
        simulator.domain(name, sql_type, [])  # a type the tables and the sample data cannot hold is one line


@pytest.fixture()
def own(monkeypatch):
    """The project's own settings: its .local folder, as `init`, `train` and `execute` see it."""
    monkeypatch.delenv(LOCAL_DIR_VAR, raising=False)
    return load_settings("local")


def _first_batch(spark, settings):
    try:
        batches = data_source.list_batches(spark, settings)
    except Exception as error:  # e.g. a Databricks table that does not exist on this machine
        if any(code in str(error) for code in ("TABLE_OR_VIEW_NOT_FOUND", "PATH_NOT_FOUND", "SCHEMA_NOT_FOUND")):
            pytest.skip(f"data_source.py reads nothing here: {str(error).splitlines()[0]}")
        raise
    if not batches:
        pytest.skip("no batch of your own data yet: data_source.list_batches found none (this test reads the first)")
    return batches[0]


def test_the_first_batch_has_the_declared_columns_and_its_labels_join_it(spark, own):
    batch = _first_batch(spark, own)
    raw = data_source.read_batch(spark, own, batch)
    assert own.target_column not in raw.columns, f"read_batch({batch!r}) returns the target: it must not"
    rows = conform(raw, sources.source_columns(own), f"batch {batch}")  # every problem in one line
    assert rows.count() > 0, f"batch {batch} is empty"
    labels = data_source.read_labels(spark, own, batch)
    if labels is not None:
        keys = {own.id_column: "STRING", own.timestamp_column: "TIMESTAMP"}
        labels = conform(labels, {**keys, own.target_column: sources.target_type(own)}, f"labels of batch {batch}")
        assert rows.join(labels, list(keys)).count() > 0, f"no label of batch {batch} matches its rows' id and time"
