"""recipes.tooling.report: the run's report.html, built from small synthetic executed notebooks
(written with nbformat, no kernel), parsed with html.parser."""

from __future__ import annotations

import base64
import json
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from recipes.errors import NotFoundError
from recipes.tooling import report

# a 1x1 PNG
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


class Page(HTMLParser):
    """Collects links, image sources, element ids, table cells and text, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.images: list[str] = []
        self.ids: set[str] = set()
        self.cells: list[str] = []
        self.text: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "a" and a.get("href"):
            self.hrefs.append(a["href"])
        if tag == "img":
            self.images.append(a.get("src") or "")
        if tag == "td":
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.cells.append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text("utf-8"))
    page.close()
    return page


def _executed(path: Path, *, fail: bool = False) -> Path:
    """An executed-looking notebook: a golden cell, a PNG figure, and optionally an error."""
    cells = [
        new_markdown_cell("A synthetic notebook."),
        new_code_cell(
            '# NBVAL_CHECK_OUTPUT\nprint("verdict: ok")',
            outputs=[new_output("stream", name="stdout", text="verdict: ok\nrows: 3\n")],
        ),
        new_code_cell(
            'show(fig, "drift")',
            outputs=[
                new_output(
                    "display_data",
                    data={
                        "image/png": base64.b64encode(PNG).decode(),
                        "text/plain": "<Figure>",
                    },
                )
            ],
        ),
    ]
    if fail:
        cells.append(
            new_code_cell(
                'raise ValueError("broken on purpose")',
                outputs=[
                    new_output(
                        "error",
                        ename="ValueError",
                        evalue="broken on purpose",
                        traceback=["\x1b[31mValueError\x1b[0m: broken on purpose"],
                    )
                ],
            )
        )
        cells.append(new_code_cell('print("never reached")'))
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


@pytest.fixture
def run_dir(tmp_path) -> Path:
    """A run folder as ``mdk run`` leaves it: one ok and one failed notebook, a saved picture,
    and a notebook whose run died before papermill wrote it."""
    out = tmp_path / "runs" / "20261128-000000"
    out.mkdir(parents=True)
    _executed(out / "01_good.ipynb")
    _executed(out / "02_bad.ipynb", fail=True)
    (out / "01_good-cell02-1-drift.png").write_bytes(PNG)
    results = [
        {
            "notebook": "01_good.ipynb",
            "status": "ok",
            "seconds": 1.25,
            "output": str(out / "01_good.ipynb"),
            "error": None,
            "pictures": ["01_good-cell02-1-drift.png"],
            "parameters": {"n_rows": 500},
        },
        {
            "notebook": "02_bad.ipynb",
            "status": "failed",
            "seconds": 0.5,
            "output": str(out / "02_bad.ipynb"),
            "error": "ValueError: broken on purpose",
            "pictures": [],
            "parameters": {},
        },
        {
            "notebook": "03_dead.ipynb",
            "status": "failed",
            "seconds": 0.1,
            "output": str(out / "03_dead.ipynb"),
            "error": "DeadKernelError: Kernel died",
            "pictures": [],
            "parameters": {},
        },
    ]
    (out / "summary.json").write_text(
        json.dumps({"started_at": "2026-11-28T00:00:00", "results": results})
    )
    return out


def _resolve(base: Path, href: str) -> tuple[Path, str]:
    parts = urlsplit(href)
    assert not parts.scheme and not parts.netloc, f"link leaves the run folder: {href}"
    return base / unquote(parts.path), parts.fragment


def test_report_parses_and_every_link_resolves_to_a_file_and_anchor(run_dir):
    path = report.write_report(run_dir)
    assert path == run_dir / "report.html"
    page = parse(path)
    assert page.hrefs, "the report links nothing"
    for href in page.hrefs:
        target, fragment = _resolve(run_dir, href)
        assert target.is_file(), href
        if fragment:
            assert fragment in parse(target).ids, f"{href}: no element with id {fragment!r}"
    assert {"01_good.html", "02_bad.html"} <= {h.split("#")[0] for h in page.hrefs}


def test_report_images_are_data_uris_or_existing_files(run_dir):
    path = report.write_report(run_dir)
    sources = parse(path).images + parse(run_dir / "01_good.html").images
    assert sources, "no images at all"
    for src in sources:
        if src.startswith("data:"):
            assert src.startswith("data:image/png;base64,")
            assert base64.b64decode(src.split(",", 1)[1]) == PNG
        else:
            assert _resolve(run_dir, src)[0].is_file(), src
    # the executed notebook's figure is inline in its page, not a separate file
    assert any(s.startswith("data:image/png") for s in parse(run_dir / "01_good.html").images)


def test_a_failed_notebooks_cell_and_error_come_before_the_table(run_dir):
    text = report.write_report(run_dir).read_text("utf-8")
    error = text.index("ValueError: broken on purpose")
    assert error < text.index("id='summary'")
    assert text.index("raise ValueError(&quot;broken on purpose&quot;)") < text.index(
        "id='summary'"
    )
    assert "\x1b[" not in text  # ANSI colours stripped from the traceback
    assert "DeadKernelError: Kernel died" in text  # no executed notebook: the summary's line
    page = parse(run_dir / "report.html")
    cell_links = [h for h in page.hrefs if h.startswith("02_bad.html#")]
    assert cell_links, "no link to the failing cell"


def test_the_table_holds_status_seconds_parameters_and_golden_lines(run_dir):
    cells = parse(report.write_report(run_dir)).cells
    assert cells[:5] == ["01_good.ipynb", "ok", "1.2", "n_rows=500", "verdict: ok\nrows: 3"]
    assert cells[5:8] == ["02_bad.ipynb", "failed", "0.5"]
    assert cells[10:12] == ["03_dead.ipynb", "failed"]


def test_golden_lines_and_first_error_of_a_clean_notebook(tmp_path):
    nb = nbformat.read(_executed(tmp_path / "a.ipynb"), as_version=4)
    assert report.golden_lines(nb) == ["verdict: ok", "rows: 3"]
    assert report.first_error(nb) is None


def test_a_folder_without_summary_is_one_clear_error(tmp_path):
    with pytest.raises(NotFoundError, match="No summary.json"):
        report.write_report(tmp_path)


def test_a_skipped_notebook_is_a_row_with_its_reason_not_a_failure(run_dir):
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["results"] = [
        summary["results"][0],
        {
            "notebook": "07_exam.ipynb",
            "status": "skipped",
            "seconds": 0.0,
            "output": str(run_dir / "07_exam.ipynb"),
            "error": "runs on local only, not databricks",
            "pictures": [],
            "parameters": {},
        },
    ]
    (run_dir / "summary.json").write_text(json.dumps(summary))
    path = report.write_report(run_dir)
    text = path.read_text("utf-8")
    assert "class='failure'" not in text
    cells = parse(path).cells
    assert cells[5:7] == ["07_exam.ipynb", "skipped"]
    assert cells[9] == "runs on local only, not databricks"
    assert "1 of 1 notebooks ok, 1 skipped." in text


def test_a_cell_tagged_report_is_shown_under_its_notebook(run_dir):
    """08 tags its registry table ``report``: the versions' lineage tags reach the page."""
    path = run_dir / "01_good.ipynb"
    nb = nbformat.read(path, as_version=4)
    table = "version aliases tags\n3 challenger training_window=T0/T1,violation_count=2\n"
    cell = new_code_cell(
        "print(versions)", outputs=[new_output("stream", name="stdout", text=table)]
    )
    cell.metadata["tags"] = ["report"]
    nb.cells.append(cell)
    nbformat.write(nb, path)
    text = report.write_report(run_dir).read_text("utf-8")
    reported = text.index("id='reported'")
    assert text.index("id='summary'") < reported < text.index("training_window=T0/T1")
    assert report.report_lines(nb) == table.splitlines()
    # a notebook without such a cell adds nothing
    assert report.report_lines(nbformat.read(run_dir / "02_bad.ipynb", as_version=4)) == []
