"""The bank as data, the question model, a practice run and its display: no services."""

from __future__ import annotations

import pytest

from recipes import exam
from recipes.errors import KitError, NotFoundError, ParameterError
from recipes.exam import BANK, LETTERS, Option, Outcome, Practice, Question, find, select
from recipes.exam.questions import run_option
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


def test_the_bank_holds_the_module_questions_and_twelve_more():
    assert [q.id for q in BANK] == [f"Q{i}" for i in range(1, 18)]
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
    with pytest.raises(ParameterError, match="options must be"):
        Question("Q0", "t", "t?", opts, "A", "e", frozenset())
    four = (*opts, Option("D", "D", lambda lab: Outcome("x", False)))
    with pytest.raises(ParameterError, match="unknown resources"):
        Question("Q0", "t", "t?", four, "A", "e", frozenset({"gpu"}))
    with pytest.raises(ParameterError, match="has options A, B, C, D"):
        Question("Q0", "t", "t?", four, "A", "e", frozenset()).option("E")


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

    q = Question(
        "Q1", "t", "t?", tuple(Option(k, k, check) for k in LETTERS), "A", "e", frozenset()
    )
    p = Practice("Q1", lab=FakeLab(), bank=(q,))
    p.run("Q1")
    saved = json.loads(p.save(tmp_path / "practice.json").read_text())
    option = saved["questions"]["Q1"]["options"]["A"]
    assert option["evidence"] == {"1": 3, "frame": None, "t": [1.5, "x"]}
    assert (option["status"], option["fits"], option["happened"]) == ("ran", True, "ran")
    assert saved["questions"]["Q1"]["answer"] == "A" and saved["sizes"] is None


def test_notebook_07_states_each_question_as_the_bank_holds_it():
    import nbformat

    from recipes.target import repo_root

    nb = nbformat.read(repo_root() / "notebooks" / "07_exam_practice.ipynb", as_version=4)
    stated = [
        c.source for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("### Q")
    ]
    assert stated == [exam.render_question(q) for q in BANK]
    runs = [c.source for c in nb.cells if c.cell_type == "code" and "practice.run(" in c.source]
    assert runs == [f'exam.show(practice.run("{q.id}"))' for q in BANK]
