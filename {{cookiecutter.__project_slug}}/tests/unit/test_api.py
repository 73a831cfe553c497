"""What the local API (``serve``) accepts and how it refuses the rest: one line, the right status."""

from __future__ import annotations

import json

import pytest

from {{ cookiecutter.__package_name }} import features
from {{ cookiecutter.__package_name }}.runtime.api import BadRequest, parse

NUMBERS = [name for name, sql_type in features.FEATURE_COLUMNS.items() if sql_type.upper() in ("DOUBLE", "INT", "BIGINT")]


def row(settings, **changes):
    values = {settings.id_column: "c-1", **{name: 1 for name in features.FEATURE_COLUMNS}}
    return {**values, **changes}


def refused(settings, payload) -> BadRequest:
    with pytest.raises(BadRequest) as caught:
        parse(payload if isinstance(payload, bytes) else json.dumps(payload).encode(), settings)
    assert "\n" not in str(caught.value)
    return caught.value


def test_records_and_split_are_read_alike_with_the_time_defaulting_to_now(settings):
    records = parse(json.dumps({"dataframe_records": [row(settings)]}).encode(), settings)
    names = list(row(settings))
    split = parse(json.dumps({"dataframe_split": {"columns": names, "data": [list(row(settings).values())]}}).encode(),
                  settings)
    assert list(records[settings.id_column]) == list(split[settings.id_column]) == ["c-1"]
    assert records[settings.timestamp_column].dt.tz is not None


def test_a_body_that_is_not_rows_is_a_400(settings):
    assert refused(settings, b"{not json").status == 400
    assert refused(settings, {"rows": []}).status == 400
    assert refused(settings, {"dataframe_records": []}).status == 400


def test_a_missing_column_or_id_is_a_422_that_names_it(settings):
    first = next(iter(features.FEATURE_COLUMNS))
    values = row(settings)
    del values[first]
    error = refused(settings, {"dataframe_records": [values]})
    assert error.status == 422 and str(error) == f"missing column: {first}"
    assert "is empty in 1 row(s)" in str(refused(settings, {"dataframe_records": [row(settings, **{settings.id_column: None})]}))


@pytest.mark.skipif(not NUMBERS, reason="the declared features have no numeric column")
def test_text_where_a_number_is_declared_is_a_422_that_shows_the_value(settings):
    error = refused(settings, {"dataframe_records": [row(settings, **{NUMBERS[0]: "many"})]})
    assert error.status == 422 and str(error) == f"{NUMBERS[0]} must be a number: 'many' in 1 row(s)"


def test_a_time_that_does_not_read_is_a_422(settings):
    error = refused(settings, {"dataframe_records": [row(settings, **{settings.timestamp_column: "yesterday-ish"})]})
    assert error.status == 422 and "must be an ISO 8601 time: 'yesterday-ish'" in str(error)
