"""The sample-data simulator is reproducible and its drift knobs do what they say."""

import numpy as np

from credit_default import data_source, simulator
from credit_default.simulator import Scenario


def test_same_seed_same_batch(settings):
    a = simulator.generate(settings, 3, 500)
    b = simulator.generate(settings, 3, 500)
    assert a.equals(b)
    assert not a.equals(simulator.generate(settings, 4, 500))


def test_batches_honour_the_source_contract(settings):
    frame = simulator.generate(settings, 1, 200)
    assert list(frame.columns) == list(data_source.labelled_columns(settings))


def test_covariate_drift_moves_the_inputs(settings):
    healthy = simulator.generate(settings, 1, 4000, Scenario(dirty_fraction=0))
    drifted = simulator.generate(settings, 1, 4000, Scenario(covariate_drift=1.0, dirty_fraction=0))
    assert drifted["income"].median() < 0.7 * healthy["income"].median()
    assert drifted["late_payments_12m"].mean() > healthy["late_payments_12m"].mean() + 1


def test_dirty_fraction_breaks_some_rows(settings):
    frame = simulator.generate(settings, 2, 5000, Scenario(dirty_fraction=0.05))
    broken = frame["age"].isna() | (frame["income"] < 0) | (frame["region"] == "??")
    assert 0.02 < broken.mean() < 0.08
    assert not simulator.generate(settings, 2, 5000, Scenario(dirty_fraction=0))["income"].lt(0).any()


def test_labels_arrive_separately(settings, tmp_path, monkeypatch):
    monkeypatch.setenv("MLOPS_LOCAL_DIR", str(tmp_path))
    from credit_default.settings import load_settings

    isolated = load_settings("local")
    simulator.write_batch(isolated, 7, simulator.generate(isolated, 7, 50), labels=False)
    landing = tmp_path / "landing"
    assert (landing / "batches" / "b0007.parquet").is_file()
    assert not (landing / "labels" / "b0007.parquet").exists()
    assert np.isin(["b0007"], data_source.list_batches(None, isolated)).all()
