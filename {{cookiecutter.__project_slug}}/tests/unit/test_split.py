"""The holdout is the newest data: a retrained model is judged on what it will meet next."""

import pandas as pd

from {{ cookiecutter.__package_name }}.training import split_out_of_time


def test_holdout_is_the_newest_tenth(settings):
    assert settings.training_rules.holdout_fraction == 0.1
    frame = pd.DataFrame({
        settings.id_column: [f"c{i}" for i in range(20)],
        settings.timestamp_column: pd.date_range("2026-01-01", periods=20, freq="D")[::-1],
    })
    train, holdout = split_out_of_time(frame, settings)
    assert len(holdout) == 2 and len(train) == 18
    assert holdout[settings.timestamp_column].min() > train[settings.timestamp_column].max()
    again_train, again_holdout = split_out_of_time(frame.sample(frac=1, random_state=1), settings)
    assert again_holdout.equals(holdout)
