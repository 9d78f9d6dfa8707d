"""Golden-output hygiene for nbval, and the cells a notebook takes from the code."""

from __future__ import annotations

import nbformat
import pytest

from recipes import exam
from recipes.errors import KitError
from recipes.tooling import golden
from recipes.tooling.golden import clean, is_golden, refresh, stray_outputs


def _nb():
    golden = nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(1)")
    plain = nbformat.v4.new_code_cell("x = 1\nx")
    for cell, count in ((golden, 3), (plain, 4)):
        cell.execution_count = count
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"{count}\n")]
        cell.metadata["papermill"] = {"duration": 0.1}
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# t"), golden, plain])
    nb.metadata["papermill"] = {"parameters": {}}
    return nb


def test_is_golden_only_for_marked_code_cells():
    nb = _nb()
    assert [is_golden(c) for c in nb.cells] == [False, True, False]


def test_stray_outputs_finds_non_golden_outputs():
    assert stray_outputs(_nb()) == [2]


def test_clean_keeps_golden_outputs_and_strips_the_rest():
    nb = clean(_nb())
    assert stray_outputs(nb) == []
    assert nb.cells[1].outputs[0]["text"] == "3\n" and nb.cells[1].execution_count == 3
    assert "papermill" not in nb.metadata and "papermill" not in nb.cells[1].metadata


def test_clean_takes_fresh_golden_outputs_from_an_executed_copy():
    executed = _nb()
    executed.cells[1].outputs[0]["text"] = "fresh\n"
    executed.cells[1].execution_count = 9
    nb = clean(_nb(), golden_from=executed)
    assert nb.cells[1].outputs[0]["text"] == "fresh\n" and nb.cells[1].execution_count == 9
    assert nb.cells[2].outputs == [] and nb.cells[2].execution_count is None


def test_two_golden_cells_with_the_same_source_keep_their_own_outputs():
    import copy

    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(table)") for _ in range(2)]
    )
    executed = copy.deepcopy(nb)  # papermill keeps the cell ids
    for cell, text in zip(executed.cells, ("before\n", "after\n"), strict=True):
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        cell.execution_count = 1
    cleaned = clean(nb, golden_from=executed)
    assert [c.outputs[0]["text"] for c in cleaned.cells] == ["before\n", "after\n"]


def _write(path, *sources: str, golden_output: str):
    """A notebook of code cells; the golden one already holds ``golden_output``."""
    cells = [nbformat.v4.new_code_cell(src) for src in sources]
    for cell in filter(is_golden, cells):
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=golden_output)]
        cell.execution_count = 1
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    return path


def test_refresh_reruns_in_a_fresh_store_and_rewrites_only_golden_cells(tmp_path, mdk_home):
    path = _write(
        tmp_path / "golden_output.ipynb",
        'import os\nhome = os.environ["MDK_HOME"]',
        "# NBVAL_CHECK_OUTPUT\nprint(6 * 7)",
        "print(home)",
        golden_output="stale\n",
    )
    refresh([path])
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[1].outputs[0]["text"] == "42\n" and nb.cells[1].execution_count
    assert nb.cells[2].outputs == [] and stray_outputs(nb) == []
    assert not (mdk_home / "runs").exists()  # ran in its own temporary MDK_HOME


def test_refresh_leaves_goldens_alone_when_a_notebook_fails(tmp_path):
    path = _write(
        tmp_path / "broken_golden.ipynb",
        "# NBVAL_CHECK_OUTPUT\nprint(1)",
        "raise ValueError('broken on purpose')",
        golden_output="1\n",
    )
    before = path.read_text()
    with pytest.raises(KitError, match="goldens left as they were: ValueError: broken on purpose"):
        refresh([path])
    assert path.read_text() == before


# --------------------------------------------------------------------------- generated cells


def _practice_nb(*questions):
    """A notebook shaped as 07: set-up, the question cells of ``questions``, then a golden cell."""
    cells = [
        nbformat.v4.new_markdown_cell("# 07"),
        nbformat.v4.new_code_cell("practice = exam.Practice(questions, lab=lab)"),
        *golden.question_cells(questions),
        nbformat.v4.new_markdown_cell("## Your turn"),
        nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(1)"),
    ]
    cells[-1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    cells[-1].execution_count = 7
    return nbformat.v4.new_notebook(cells=cells)


def test_question_cells_state_each_question_then_run_it():
    q1, q3 = exam.BANK[0], exam.BANK[2]
    cells = golden.question_cells([q1, q3])
    assert [(c.cell_type, c.id) for c in cells] == [
        ("markdown", "q1-question"),
        ("code", "q1-run"),
        ("markdown", "q3-question"),
        ("code", "q3-run"),
    ]
    assert cells[2].source == exam.render_question(q3)
    assert cells[2].source.startswith("### Q3 · Batch Inference\n\nA data engineer")
    assert cells[3].source == 'exam.show(practice.run("Q3"))'
    assert cells[3].outputs == [] and cells[3].execution_count is None


def test_with_question_cells_replaces_them_in_place_and_leaves_the_rest():
    bank = exam.BANK
    nb = _practice_nb(bank[1], bank[0])  # stale: another set, in another order
    nb.cells[2].id = "5e1f0a2b"  # a question cell typed by hand, before the cells were generated
    out = golden.with_question_cells(nb, bank[:3])
    assert [c.id for c in out.cells[2:8]] == [
        f"q{n}-{part}" for n in (1, 2, 3) for part in ("question", "run")
    ]
    assert [c.source for c in out.cells[:2]] == [
        "# 07",
        "practice = exam.Practice(questions, lab=lab)",
    ]
    assert out.cells[-2].source == "## Your turn" and out.cells[-1].outputs[0]["text"] == "1\n"
    again = golden.with_question_cells(nbformat.from_dict(out), bank[:3])
    assert nbformat.writes(again) == nbformat.writes(out)  # nothing left to change


def test_with_question_cells_refuses_a_notebook_without_them_or_with_cells_between():
    with pytest.raises(KitError, match="No question cells"):
        golden.with_question_cells(nbformat.v4.new_notebook(cells=[]))
    nb = _practice_nb(*exam.BANK[:2])
    nb.cells.insert(4, nbformat.v4.new_code_cell("x = 1"))
    with pytest.raises(KitError, match=r"must stand together: cells \[4\] are between"):
        golden.with_question_cells(nb)


def test_write_generated_cells_rewrites_07_alone_and_executes_nothing(tmp_path):
    stale = tmp_path / "07_exam_practice.ipynb"
    nbformat.write(_practice_nb(exam.BANK[0]), stale)
    other = tmp_path / "01_register.ipynb"
    nbformat.write(_practice_nb(exam.BANK[0]), other)
    before = other.read_text()
    assert golden.write_generated_cells([stale, other]) == [stale]
    nb = nbformat.read(stale, as_version=4)
    assert [c.id for c in nb.cells if c.id.startswith("q")] == [
        f"q{n}-{part}" for n in range(1, len(exam.BANK) + 1) for part in ("question", "run")
    ]
    assert stray_outputs(nb) == [] and nb.cells[-1].outputs[0]["text"] == "1\n"
    assert other.read_text() == before
    assert golden.write_generated_cells([stale]) == []  # up to date


def test_refresh_generates_the_cells_before_it_executes(tmp_path, mdk_home, monkeypatch):
    path = _write(
        tmp_path / "generated_cells.ipynb", "# NBVAL_CHECK_OUTPUT\nprint(0)", golden_output="0\n"
    )

    def generate(nb):
        nb.cells[0].source = "# NBVAL_CHECK_OUTPUT\nprint(6 * 7)"
        return nb

    monkeypatch.setitem(golden.GENERATED, "generated_cells", generate)
    refresh([path])
    cell = nbformat.read(path, as_version=4).cells[0]
    assert cell.source.endswith("print(6 * 7)") and cell.outputs[0]["text"] == "42\n"
