"""recipes.formats.encode: the four Databricks input formats written from a frame or records,
read back by ``parse`` to the same columns and rows."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from recipes import formats
from recipes.errors import ParameterError
from recipes.formats import FORMATS, MISSING, encode, parse

RECORDS = [
    {"total_purchases": 15, "avg_session_duration": 320, "plan": "gold"},
    {"total_purchases": 2, "avg_session_duration": 41, "plan": "free"},
]


def _sent(body: dict) -> formats.Invocation:
    """What the endpoint parses after the body crossed the wire as strict JSON."""
    return parse(formats.decode(json.dumps(body, allow_nan=False).encode()))


# The shapes on Databricks' "Query serving endpoints for custom models" page: pandas
# DataFrame input in the records and split orientations, tensor input in row format
# (instances) and in columnar format (inputs).
SHAPES = {
    "dataframe_records": {"dataframe_records": RECORDS},
    "dataframe_split": {
        "dataframe_split": {
            "columns": ["total_purchases", "avg_session_duration", "plan"],
            "data": [[15, 320, "gold"], [2, 41, "free"]],
        }
    },
    "instances": {"instances": RECORDS},
    "inputs": {
        "inputs": {
            "total_purchases": [15, 2],
            "avg_session_duration": [320, 41],
            "plan": ["gold", "free"],
        }
    },
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_has_the_documented_shape(fmt):
    assert encode(RECORDS, fmt) == SHAPES[fmt]
    assert encode(pd.DataFrame(RECORDS), fmt) == SHAPES[fmt]


@pytest.mark.parametrize("fmt", FORMATS)
def test_params_and_client_request_id_sit_beside_the_format(fmt):
    body = encode(RECORDS, fmt, params={"threshold": np.float64(0.3)}, client_request_id="r-1")
    assert body == {**SHAPES[fmt], "params": {"threshold": 0.3}, "client_request_id": "r-1"}
    assert type(body["params"]["threshold"]) is float
    inv = _sent(body)
    assert (inv.params, inv.client_request_id, inv.format) == ({"threshold": 0.3}, "r-1", fmt)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_frame_round_trips_through_parse(fmt):
    """numpy scalars, NaN, pd.NA and NaT as JSON takes them; the frame's index is not sent."""
    frame = pd.DataFrame(
        {
            "n": np.array([1, 2, 3], dtype="int64"),
            "x": [0.5, np.nan, -2.25],
            "k": pd.array([7, None, 9], dtype="Int64"),
            "s": ["a", None, "c"],
            "b": [True, False, True],
            "t": pd.to_datetime(
                ["2026-11-18T09:46:40Z", None, "2026-11-19T00:00:00.5Z"], format="ISO8601"
            ),
        },
        index=[10, 20, 30],
    )
    inv = _sent(encode(frame, fmt))
    assert inv.columns == ["n", "x", "k", "s", "b", "t"]
    assert inv.rows == [
        [1, 0.5, 7, "a", True, "2026-11-18T09:46:40+00:00"],
        [2, None, None, None, False, None],
        [3, -2.25, 9, "c", True, "2026-11-19T00:00:00.500000+00:00"],
    ]
    assert [type(v) for v in inv.rows[0][:3]] == [int, float, int]


@pytest.mark.parametrize("fmt", FORMATS)
def test_records_round_trip_with_their_values_as_given(fmt):
    """A whole float stays a float and a numeric string a string: what the endpoint must
    refuse in a ``long`` column goes out unchanged."""
    records = [
        {"a": 320.0, "b": "15", "c": None, "d": 2**63, "e": [1, 2]},
        {"a": np.int32(4), "b": np.str_("x"), "c": np.bool_(True), "d": -1, "e": np.arange(2)},
    ]
    inv = _sent(encode(records, fmt))
    assert inv.columns == ["a", "b", "c", "d", "e"]
    assert inv.rows == [[320.0, "15", None, 2**63, [1, 2]], [4, "x", True, -1, [0, 1]]]
    assert type(inv.rows[0][0]) is float and type(inv.rows[1][2]) is bool


@pytest.mark.parametrize("fmt", ["dataframe_records", "instances"])
def test_the_records_formats_keep_each_records_own_keys(fmt):
    body = encode([{"a": 1}, {"b": 2}], fmt)
    assert body == {fmt: [{"a": 1}, {"b": 2}]}
    assert _sent(body).rows == [[1, MISSING], [MISSING, 2]]


@pytest.mark.parametrize("fmt", ["dataframe_split", "inputs"])
def test_a_record_that_lacks_a_column_is_refused_where_the_format_cannot_say_so(fmt):
    with pytest.raises(ParameterError, match=f"^Record 1 lacks column 'b': {fmt} needs"):
        encode([{"a": 1, "b": 2}, {"a": 3}], fmt)


def test_an_unknown_format_is_one_line_naming_the_four():
    with pytest.raises(ParameterError) as err:
        encode(RECORDS, "records")
    assert str(err.value) == (
        "Unknown input format 'records': use one of "
        "dataframe_records, dataframe_split, instances, inputs."
    )
    assert isinstance(err.value, TypeError)  # ParameterError: a KitError and a TypeError


@pytest.mark.parametrize(
    ("given", "match"),
    [
        ([], "No rows to send"),
        (pd.DataFrame({"a": []}), "No rows to send"),
        ([[15, 320]], "records must be a list of dicts"),
        ({"a": [1]}, "Expected a pandas DataFrame or a list of records, got dict"),
        (pd.DataFrame([[1, 2]], columns=["a", "a"]), "duplicate column names"),
        ([{"a": float("inf")}], "JSON has no infinite numbers"),
        ([{"a": np.float64("-inf")}], "JSON has no infinite numbers"),
    ],
)
def test_what_cannot_be_a_request_is_refused_in_one_line(given, match):
    with pytest.raises(ParameterError, match=match) as err:
        encode(given, "dataframe_split")
    assert "\n" not in str(err.value)
