"""Golden-output hygiene for nbval."""

from __future__ import annotations

import nbformat
import pytest

from recipes.errors import KitError
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
