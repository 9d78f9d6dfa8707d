"""One exam lab per test process, on a private copy of the session's trained store.

The lab (``recipes.exam.Lab`` with the small sizes) uses ``churn-predictor`` v1/v2 from
that copy, so no test trains a model; whatever it starts is stopped by pid at the end.
Every test that uses ``lab`` runs with the lab's ``MDK_HOME`` and store (set per test, over
the shared ``mdk_home``); each option's check makes or resets what it needs itself, so the
tests pass in any order.

The options that need a serving endpoint, Spark or the Unity Catalog double run once per
session, in 07's default run, and their behaviours are asserted on that run's recorded
outcomes (tests/notebooks/test_exam_practice.py): running them here as well would double the
exam tier's cost. Here run the options that need only the registry or nothing (Q1, Q7,
Q16), Q17's checks on recorded scenarios, the question model, a practice run and the lab's
lifecycle (tests/exam/test_lab.py).
"""

from __future__ import annotations

import shutil

import pytest

from recipes.exam import SMALL, Lab
from tests.homes import apply_env, local_env

MODEL = "churn-predictor"


def _env(home) -> dict[str, str | None]:
    """The lab's home and store, with no serving URL of the session's (the lab starts its own)."""
    return local_env(home, MDK_SERVING_URL=None)


@pytest.fixture(scope="session")
def exam_home(_trained_store, tmp_path_factory):
    """The exam lab's MDK_HOME, holding a copy of the trained store."""
    home = tmp_path_factory.mktemp("exam") / "mdk"
    home.mkdir()
    shutil.copy(_trained_store / "mlflow.db", home / "mlflow.db")
    return home


@pytest.fixture(scope="session")
def lab(exam_home):
    """The exam lab; closed (endpoints deleted, services stopped by pid) at the end."""
    from recipes.target import scoped_env

    with scoped_env(**_env(exam_home)):
        made = Lab("local", model_name=MODEL, sizes=SMALL)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture(autouse=True)
def _lab_env(request, mdk_home, monkeypatch):
    """A test that uses ``lab`` runs in the lab's MDK_HOME and store."""
    if "lab" not in request.fixturenames:
        return
    import mlflow

    home = request.getfixturevalue("exam_home")
    apply_env(monkeypatch, _env(home))
    mlflow.set_tracking_uri(f"sqlite:///{home / 'mlflow.db'}")
    mlflow.set_registry_uri(f"sqlite:///{home / 'mlflow.db'}")


def outcome(lab, question_id: str, letter: str):
    """Run one option of the bank's question on ``lab``; it must have run (not broken)."""
    from recipes.exam import BANK, find, run_option

    result = run_option(lab, find(BANK, question_id), letter)
    assert result.ran, f"{question_id} {letter} could not run: {result.happened}"
    return result


def fits_only(lab, question_id: str) -> list[str]:
    """The letters whose runs fit (each option run on ``lab``)."""
    from recipes.exam import BANK, LETTERS, find

    q = find(BANK, question_id)
    return [k for k in LETTERS if outcome(lab, q.id, k).fits]
