"""The bank as data, the question model, a practice run and its display: no services."""

from __future__ import annotations

import importlib
import pkgutil
import shutil
import sys
import uuid
from pathlib import Path

import pytest

from recipes import exam
from recipes.errors import KitError, NotFoundError, ParameterError
from recipes.exam import BANK, LETTERS, Option, Outcome, Practice, Question, bank, find, select
from recipes.exam.questions import run_option
from recipes.tooling import golden
from tests.exam.fakes import FakeLab, fake_question

# sentences of the study module's own answers: the bank explains in its own words
SEED_PHRASES = (
    "automatically moves the current Production version",
    "Without this parameter, both versions would be in Production simultaneously",
    "reduces to zero replicas during inactivity to save costs",
    "distributes the scoring across the entire Spark cluster",
    "The model is broadcast to each worker",
    "natively supports traffic splitting with multiple served entities",
    "is the newer approach that uses model aliases instead of stage-based references",
)


def test_the_bank_is_its_modules_in_order_and_starts_with_the_module_questions():
    orders = [q.order for q in BANK]
    assert orders == list(range(1, len(BANK) + 1))  # Q1 ... Qn, no gap, no repeat
    assert [q.id for q in BANK] == [f"Q{n}" for n in orders]
    modules = sorted(m.name for m in pkgutil.iter_modules(bank.__path__))
    for q, name in zip(BANK, modules, strict=True):  # one module each, named by its order
        assert name.startswith(f"q{q.order:02d}_"), name
        assert importlib.import_module(f"{bank.__name__}.{name}").QUESTION is q
    assert [q.id for q in BANK if q.source == "module"] == ["Q1", "Q2", "Q3", "Q4", "Q5"]
    assert {q.id: q.answer for q in BANK if q.source == "module"} == {
        "Q1": "B",
        "Q2": "B",
        "Q3": "C",
        "Q4": "B",
        "Q5": "B",
    }
    for q in BANK:
        assert tuple(o.letter for o in q.options) == LETTERS
        assert all(callable(o.check) and o.text for o in q.options)
        assert q.text.endswith("?") and len(q.explanation) > 150


def test_the_kits_questions_cover_the_topics_the_issue_lists():
    text = " ".join(
        f"{q.text} {q.explanation} {' '.join(o.text for o in q.options)}" for q in BANK
    ).lower()
    for topic in (
        "columnar",
        "result_type",
        "env_manager",
        "inference table",
        "psi",
        "chi²",
        "alias",
        "in progress",
        "score_batch",
        "signature",
        "unity catalog",
        "workspace",
        "readstream",
        "checkpoint",
        "params",
    ):
        assert topic in text, topic


def test_explanations_are_the_kits_own_words():
    for q in BANK:
        for phrase in SEED_PHRASES:
            assert phrase.lower() not in q.explanation.lower(), (q.id, phrase)


def test_select_and_find():
    assert [q.id for q in select(BANK, "all")] == [q.id for q in BANK]
    assert [q.id for q in select(BANK, " q5, Q1 ")] == ["Q1", "Q5"]  # the bank's order
    with pytest.raises(ParameterError, match="Unknown question.*Q99.*the bank has Q1"):
        select(BANK, "Q1,Q99")
    with pytest.raises(ParameterError, match="comma list"):
        select(BANK, " , ")
    assert find(BANK, "q3").id == "Q3"
    with pytest.raises(NotFoundError, match="No question 'Q0'"):
        find(BANK, "Q0")


def test_a_question_checks_its_own_shape():
    opts = tuple(Option(k, k, lambda lab: Outcome("x", False)) for k in "ABC")
    with pytest.raises(ParameterError, match="Q9: options must be"):
        Question(9, "t", "t?", opts, "A", "e", frozenset())
    four = (*opts, Option("D", "D", lambda lab: Outcome("x", False)))
    with pytest.raises(ParameterError, match="unknown resources"):
        Question(9, "t", "t?", four, "A", "e", frozenset({"gpu"}))
    with pytest.raises(ParameterError, match="Q9 has options A, B, C, D"):
        Question(9, "t", "t?", four, "A", "e", frozenset()).option("E")
    for order in (0, "3", 2.0, True):
        with pytest.raises(ParameterError, match="order must be a whole number from 1"):
            Question(order, "t", "t?", four, "A", "e", frozenset())


def test_run_option_reports_a_broken_check_and_keeps_chatter_out():
    lab = FakeLab()
    q = fake_question("Q1", "B", boom="C")
    ok = run_option(lab, q, "b")
    assert (ok.ran, ok.fits, ok.evidence, ok.happened) == (True, True, {"letter": "B"}, "B ran")
    assert ok.seconds >= 0 and "library chatter" in "".join(lab.printed)
    broken = run_option(lab, q, "C")
    assert broken.status == "broken" and not broken.fits
    assert "RuntimeError: the lab is on fire" in broken.happened


def test_practice_runs_every_option_and_releases_after_the_last_user():
    lab = FakeLab()
    bank = (
        fake_question("Q1", "A", {"uc"}),
        fake_question("Q2", "C", {"uc", "serving"}, boom="D"),
        fake_question("Q3", "B", {"serving"}),
    )
    p = Practice("Q1,Q2,Q3", lab=lab, bank=bank)
    assert p.lines() == ["Q1 A 0/4", "Q2 C 0/4", "Q3 B 0/4"]
    assert p.run("Q1").fitting == ["A"] and lab.released == []  # Q2 still needs uc
    run2 = p.run("Q2")
    assert run2.options_run == 3 and run2.line() == "Q2 C 3/4"
    assert lab.released == ["uc"]
    p.run("Q3")
    assert lab.released == ["uc", "serving"]
    assert p.lines() == ["Q1 A 4/4", "Q2 C 3/4", "Q3 B 4/4"]
    summary = p.summary()
    assert summary["runs_point_to"].tolist() == ["A", "C", "B"]
    assert Practice("Q3", lab=lab, bank=bank).run("Q1") is None  # not selected
    p.close()
    assert lab.closed


def test_render_shows_the_call_what_happened_and_the_answer():
    lab = FakeLab()
    q = fake_question("Q9", "D")
    run = exam.QuestionRun(q, {k: run_option(lab, q, k) for k in LETTERS})
    text = exam.render(run)
    assert "### Q9 · Fake" in text and "**Answer: D.** The runs point to: D. because" in text
    assert text.count("✘") == 3 and text.count("✔ fits") == 1
    assert "- **A)** A" in exam.render_question(q)


def test_the_lab_refuses_a_workspace(monkeypatch):
    monkeypatch.setenv("MDK_TARGET", "databricks")
    with pytest.raises(KitError, match="Exam practice runs on the local stack only .*'databricks'"):
        exam.Lab()
    with pytest.raises(KitError, match="Run it with target=local"):
        exam.require_local("databricks")
    assert exam.require_local("local").is_local


def test_a_practice_saves_every_outcome_as_json(tmp_path):
    import json

    import numpy as np
    import pandas as pd

    def check(lab):
        return Outcome(
            "ran", True, evidence={1: np.int64(3), "frame": pd.DataFrame(), "t": (1.5, "x")}
        )

    q = Question(1, "t", "t?", tuple(Option(k, k, check) for k in LETTERS), "A", "e", frozenset())
    p = Practice("Q1", lab=FakeLab(), bank=(q,))
    p.run("Q1")
    saved = json.loads(p.save(tmp_path / "practice.json").read_text())
    option = saved["questions"]["Q1"]["options"]["A"]
    assert option["evidence"] == {"1": 3, "frame": None, "t": [1.5, "x"]}
    assert (option["status"], option["fits"], option["happened"]) == ("ran", True, "ran")
    assert saved["questions"]["Q1"]["answer"] == "A" and saved["sizes"] is None


def test_notebook_07_is_what_the_generator_makes_of_the_bank():
    import copy

    import nbformat

    from recipes.target import repo_root

    nb = nbformat.read(repo_root() / "notebooks" / "07_exam_practice.ipynb", as_version=4)
    generated = golden.with_question_cells(copy.deepcopy(nb))
    assert nbformat.writes(nb) == nbformat.writes(generated), (
        "07's question cells are not the bank's: run `python -m recipes.tooling.golden` "
        "(or `mdk golden 07`, which refreshes its golden cells too)"
    )


# --------------------------------------------------------------------------- adding a question

ADDED = '''"""Q{n} · Practice: a question added by a test, in a module of its own."""

from recipes.exam.questions import Option, Outcome, Question


def check(letter):
    def run(lab):
        return Outcome(f"{{letter}} ran", fits=letter == "D")

    return run


QUESTION = Question(
    order={n},
    topic="Practice",
    text="Which option does the added question take?",
    options=tuple(Option(k, f"option {{k}}", check(k)) for k in "ABCD"),
    answer="D",
    explanation="D, because its check says so.",
    needs=frozenset(),
)
'''


@pytest.fixture
def bank_copy(tmp_path, monkeypatch):
    """A copy of the question package, importable under a name of its own (its folder on
    sys.path until the test ends); its modules are forgotten after."""
    name = f"bank_copy_{uuid.uuid4().hex[:8]}"
    folder = tmp_path / name
    shutil.copytree(
        Path(bank.__file__).parent, folder, ignore=shutil.ignore_patterns("__pycache__")
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name, folder
    for module in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
        del sys.modules[module]


def test_a_question_added_as_a_module_joins_the_bank_in_its_order(bank_copy):
    name, folder = bank_copy
    n = len(BANK) + 1
    (folder / f"q{n:02d}_added.py").write_text(ADDED.format(n=n))
    copied = importlib.import_module(name).BANK  # no other file edited
    assert [q.id for q in copied] == [*(q.id for q in BANK), f"Q{n}"]
    assert [q.text for q in copied[:-1]] == [q.text for q in BANK]
    added = copied[-1]
    assert (added.order, added.answer, added.source) == (n, "D", "kit")
    practice = Practice(f"Q{n}", lab=FakeLab(), bank=copied)
    assert practice.run(f"Q{n}").line() == f"Q{n} D 4/4"
    assert [c.source for c in golden.question_cells(copied)[-2:]] == [
        exam.render_question(added),
        f'exam.show(practice.run("Q{n}"))',
    ]  # and 07 gets its cells from the generator


@pytest.mark.parametrize(
    ("module", "refusal"),
    [
        (ADDED.format(n=3), r"\.q03_.* and .*\.q99_twin both have order 3"),
        ('"""No question here."""\n', r"\.q99_twin holds no QUESTION"),
    ],
    ids=["two-in-one-place", "no-question"],
)
def test_the_bank_refuses_two_questions_in_one_place_or_a_module_without_one(
    bank_copy, module, refusal
):
    name, folder = bank_copy
    (folder / "q99_twin.py").write_text(module)
    with pytest.raises(ParameterError, match=refusal):
        importlib.import_module(name)
