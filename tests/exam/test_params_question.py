"""Q17 (a request's ``params``): what each option sends, and how each reads a run, no services.

The options run for real on the local endpoint once, in 07's default run
(tests/notebooks/test_exam_practice.py asserts on what they recorded). Here the same checks
read recorded scenarios of several worlds: the endpoint as it behaves (only C fits) and the
worlds each wrong option describes (then that option, and only it, fits).
"""

from __future__ import annotations

import pytest

from recipes.exam import BANK, LETTERS, find, render_question, run_option
from recipes.exam.bank import q17_request_params as s
from recipes.exam.endpoints import THRESHOLD
from tests.exam.fakes import FakeLab

DEFAULT = [1, 0, 1, 0, 0, 1]  # pyfunc.predict(df): the schema's default, 0.5
LOWER = [1, 1, 1, 1, 0, 1]  # pyfunc.predict(df, params={"threshold": 0.3})
REFUSED = {
    "status": 400,
    "predictions": None,
    "error_code": "BAD_REQUEST",
    "message": "'threshold' expects a double, got '0.3' (str)",
}


def _answer(predictions):
    return {"status": 200, "predictions": predictions, "error_code": None, "message": None}


def _scenario(**answers) -> dict:
    """A recorded run of question 17: the endpoint as it behaves, with ``answers`` (per
    request) replaced."""
    got = {
        "params": _answer(LOWER),
        "none": _answer(DEFAULT),
        "column": _answer(DEFAULT),
        "string": REFUSED,
        "unknown": _answer(LOWER),
        **answers,
    }
    got = {k: dict(v) for k, v in got.items()}
    for a in got.values():
        a["as_lower"], a["as_default"] = a["predictions"] == LOWER, a["predictions"] == DEFAULT
    return {
        "uri": "models:/m-threshold/1",
        "endpoint": THRESHOLD,
        "rows": len(LOWER),
        "schema": [("threshold", "double", 0.5)],
        "want": {"default": DEFAULT, "lower": LOWER},
        "answers": got,
        "differ": True,
        "string_names_threshold": "threshold" in (got["string"]["message"] or ""),
        "warning": "Unrecognized params ['cutoff'] are ignored for inference. Supported ...",
        "sdk_query_args": ["name", "dataframe_records", "extra_params"],
        "sdk_query_has_params": False,
    }


def _fitting(scenario: dict) -> list[str]:
    lab = FakeLab()
    lab._cache["q17"] = scenario
    q = find(BANK, "Q17")
    runs = {k: run_option(lab, q, k) for k in LETTERS}
    assert all(r.ran for r in runs.values()), {k: r.happened for k, r in runs.items()}
    return [k for k, r in runs.items() if r.fits]


def test_q17_is_stated_with_the_request_it_asks_about():
    q = find(BANK, "Q17")
    assert q.answer == "C" and q.needs == {"registry", "serving"} and q.prepare is not None
    assert '"params": {"threshold": 0.3}' in render_question(q)
    for fact in (
        "Unrecognized params",
        "w.serving_endpoints.query",
        "no `params` argument",
        "api_client.do",
        "a 400 that names `threshold`",
    ):
        assert fact in q.explanation, fact


def test_the_bodies_put_the_threshold_where_each_option_says():
    records = [{"total_purchases": 1, "avg_session_duration": 2, "days_since_last_visit": 3}]
    bodies = s._q17_bodies(records)
    assert set(bodies) == set(s._Q17_REQUESTS)
    assert bodies["params"] == {"dataframe_records": records, "params": {"threshold": 0.3}}
    assert bodies["none"] == {"dataframe_records": records}
    assert bodies["column"] == {"dataframe_records": [{**records[0], "threshold": 0.3}]}
    assert bodies["string"]["params"] == {"threshold": "0.3"}
    assert bodies["unknown"]["params"] == {"threshold": 0.3, "cutoff": 0.9}


def test_as_the_endpoint_behaves_only_c_fits_and_says_why():
    assert _fitting(_scenario()) == ["C"]
    lab = FakeLab()
    lab._cache["q17"] = _scenario()
    q = find(BANK, "Q17")
    c, d = run_option(lab, q, "C"), run_option(lab, q, "D")
    assert "HTTP 400 BAD_REQUEST" in c.happened and "Unrecognized params ['cutoff']" in c.happened
    assert "has no params argument" in c.happened and c.error is None
    assert d.error == REFUSED["message"] and '"threshold": "0.3"' in d.code
    assert c.table["HTTP"].tolist() == [200, 200, 200, 400, 200]


@pytest.mark.parametrize(
    ("world", "fits"),
    [
        ({"params": _answer(DEFAULT)}, ["A"]),  # serving ignores params
        ({"params": REFUSED, "column": _answer(LOWER)}, ["B"]),  # only a column carries it
        ({"string": _answer(LOWER)}, ["D"]),  # a string is converted (C's check is then wrong)
        ({"params": REFUSED}, []),  # params refused and no column read: no option says so
        ({"params": _answer(DEFAULT), "column": _answer(LOWER)}, ["A", "B"]),
    ],  # both hold
)
def test_each_wrong_option_fits_the_world_it_describes(world, fits):
    assert _fitting(_scenario(**world)) == fits
