"""Golden-output hygiene for nbval."""

from __future__ import annotations

import nbformat

from recipes.golden import clean, is_golden, stray_outputs


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
