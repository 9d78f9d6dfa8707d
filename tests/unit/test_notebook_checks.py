"""Each notebook's parameters check, run in this process as the kernel would run it.

``nbtools.run_first_checks`` executes the parameters cell, papermill's injected values and
the first cell after them (imports and the check) with ``exec``, so a bad value stops in
that check with one line, before any work. One such failure also runs through papermill and
a kernel (tests/notebooks/test_register.py).
"""

from __future__ import annotations

import re

import pytest

from recipes.errors import KitError, ParameterError
from recipes.exam import BANK
from tests.notebooks.nbtools import run_first_checks

BAD = [
    ("01_register", {"n_rows": "many"}, "'n_rows' must be int, got str 'many'"),
    ("01_register", {"n_rows": 10}, "'n_rows' got 10: it must be at least 100"),
    ("01_register", {"seed": 1.5}, "'seed' must be int"),
    ("01_register", {"target": "aws"}, "use one of 'local', 'databricks'"),
    ("02_promote", {"stage": "Prod"}, "'stage' got 'Prod': use one of 'None', 'Staging'"),
    ("03_serve", {"idle_seconds": 0}, "'idle_seconds' got 0: it must be at least 1"),
    (
        "04_ab_split",
        {"challenger_traffic": 150},
        "'challenger_traffic' got 150: it must be at most 100",
    ),
    (
        "05_batch_score",
        {"output_table": "scores"},
        "Bad table name 'scores': use catalog.schema.table",
    ),
    (
        "06_monitor",
        {"granularity": "2 minutes"},
        "granularity '2 minutes' is not one Databricks accepts",
    ),
    (
        "08_retrain",
        {"quality_metric": "auc"},
        "'quality_metric' got 'auc': use one of 'accuracy_score'",
    ),
    ("08_retrain", {"test_fraction": 0.95}, "'test_fraction' got 0.95: it must be at most 0.9"),
    ("08_retrain", {"drift_columns": " "}, "drift_columns ' ': give comma-separated column names"),
]


@pytest.mark.parametrize(("notebook", "params", "message"), BAD, ids=lambda v: str(v)[:30])
def test_a_bad_parameter_stops_in_the_first_check_with_one_line(notebook, params, message):
    with pytest.raises(ParameterError, match=re.escape(message)) as exc:
        run_first_checks(notebook, **params)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize("notebook", sorted({nb for nb, _, _ in BAD}))
def test_the_defaults_pass_the_check(notebook):
    namespace = run_first_checks(notebook)
    assert namespace["params"]["target"] == "local"


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        ({"target": "aws"}, ParameterError, "use one of 'local', 'databricks'"),
        ({"questions": "Q1,Q99"}, ParameterError, "Unknown question(s) Q99"),
        ({"target": "databricks"}, KitError, "Exam practice runs on the local stack only"),
    ],
)
def test_exam_practice_stops_in_its_first_check(params, error, message):
    with pytest.raises(error, match=re.escape(message)) as exc:
        run_first_checks("07_exam_practice", **params)
    assert "\n" not in str(exc.value)


def test_exam_practice_defaults_select_every_question():
    namespace = run_first_checks("07_exam_practice")
    assert [q.id for q in namespace["selected"]] == [q.id for q in BANK]
