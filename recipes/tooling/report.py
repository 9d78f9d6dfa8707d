"""One HTML page over a run folder: ``report.html`` beside the executed notebooks.

:func:`write_report` reads the folder's ``summary.json`` (written by
:func:`recipes.tooling.runner.run_notebooks`) and the executed notebooks, converts each
notebook to ``<stem>.html`` with nbconvert (its figures inline as ``data:`` URIs), and writes
one page: every failed notebook's failing cell and error first, with a link to the cell, then
a table (notebook, status, seconds, parameters, golden-cell lines), then the text of every cell
a notebook tags ``report`` (08's registry table, with each version's lineage tags), then the
run's pictures.
The page and the converted notebooks link only to files in the same folder, so the folder can
be moved, zipped or opened without Jupyter.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPORT = "report.html"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; max-width: 80em; color: #222; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #ccc; padding: .3em .6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.ok { color: #1a7f37; font-weight: bold; }
td.failed { color: #c62828; font-weight: bold; }
td.skipped { color: #6a737d; }
pre { background: #f7f7f7; padding: .6em; overflow-x: auto; margin: .2em 0; }
section.failure { border-left: 4px solid #c62828; padding-left: 1em; margin-bottom: 1.5em; }
figure { display: inline-block; margin: .5em; }
figure img { max-width: 36em; border: 1px solid #ddd; }
"""


@dataclass(frozen=True)
class Failure:
    """Where an executed notebook failed.

    Attributes:
        cell: the index of the failing cell in the executed notebook.
        cell_id: the cell's ``id`` (nbformat 4.5), or None.
        source: the failing cell's code.
        error: ``"<ename>: <evalue>"``.
        traceback: the traceback as plain text (ANSI colours removed).
    """

    cell: int
    cell_id: str | None
    source: str
    error: str
    traceback: str


def _cell_lines(cell: Any) -> list[str]:
    lines: list[str] = []
    for out in cell.get("outputs", []):
        text = out.get("text") or out.get("data", {}).get("text/plain", "")
        text = "".join(text) if isinstance(text, list) else text
        lines += [line for line in text.splitlines() if line.strip()]
    return lines


def golden_lines(nb: Any) -> list[str]:
    """The printed lines of every ``# NBVAL_CHECK_OUTPUT`` code cell, in notebook order."""
    lines: list[str] = []
    for cell in nb.cells:
        if cell.cell_type == "code" and "NBVAL_CHECK_OUTPUT" in cell.source:
            lines += _cell_lines(cell)
    return lines


REPORT_TAG = "report"


def report_lines(nb: Any) -> list[str]:
    """The printed lines of every code cell tagged ``report``, in notebook order."""
    lines: list[str] = []
    for cell in nb.cells:
        if cell.cell_type == "code" and REPORT_TAG in cell.get("metadata", {}).get("tags", []):
            lines += _cell_lines(cell)
    return lines


def first_error(nb: Any) -> Failure | None:
    """The first code cell with an ``error`` output, or None when the notebook has none."""
    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if out.get("output_type") == "error":
                trace = _ANSI.sub("", "\n".join(out.get("traceback", [])))
                error = f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"
                return Failure(index, cell.get("id"), cell.source, error, trace)
    return None


def notebook_html(notebook: Path, out: Path | None = None) -> Path:
    """Convert an executed notebook to a standalone HTML file with nbconvert.

    Args:
        notebook: the executed ``.ipynb``.
        out: the HTML file; defaults to ``<notebook stem>.html`` beside it.

    Returns:
        The HTML file written. Pictures are embedded as ``data:`` URIs; each cell carries
        an ``id="cell-id=<id>"`` anchor (JupyterLab's template).
    """
    import nbformat
    from nbconvert import HTMLExporter

    notebook = Path(notebook)
    out = Path(out) if out is not None else notebook.with_suffix(".html")
    nb = nbformat.read(notebook, as_version=4)
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    out.write_text(body, encoding="utf-8")
    return out


def _anchor(page: Path, cell_id: str | None) -> str:
    """``#cell-id=<id>`` when the converted page has that anchor, else empty."""
    if not cell_id:
        return ""
    return f"#cell-id={cell_id}" if f'id="cell-id={cell_id}"' in page.read_text("utf-8") else ""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _params(params: dict) -> str:
    if not params:
        return "<i>defaults</i>"
    return "<br>".join(f"<code>{_e(k)}={_e(json.dumps(v))}</code>" for k, v in params.items())


def write_report(out_dir: Path) -> Path:
    """Write ``report.html`` (and one ``<stem>.html`` per executed notebook) in a run folder.

    Args:
        out_dir: a folder holding ``summary.json`` and the executed notebooks it names.

    Returns:
        The path of ``report.html``.

    Raises:
        NotFoundError: the folder has no ``summary.json``.
    """
    import nbformat

    from recipes.errors import NotFoundError

    out_dir = Path(out_dir)
    summary_path = out_dir / "summary.json"
    if not summary_path.is_file():
        raise NotFoundError(f"No summary.json in {out_dir}: run `mdk run` first.")
    summary = json.loads(summary_path.read_text())
    failures, rows, pictures, reported = [], [], [], []
    for entry in summary.get("results", []):
        name = entry["notebook"]
        executed = out_dir / Path(entry.get("output") or name).name
        nb = None
        if executed.is_file():
            try:
                nb = nbformat.read(executed, as_version=4)
            except (OSError, ValueError):  # a run that died while papermill wrote it
                nb = None
        page = notebook_html(executed) if nb is not None else None
        link = f'<a href="{_e(page.name)}">{_e(name)}</a>' if page else _e(name)
        status = entry.get("status", "?")
        if status == "failed":
            failure = first_error(nb) if nb is not None else None
            failures.append(_failure_html(name, entry.get("error"), failure, page))
        golden = golden_lines(nb) if nb is not None else []
        reported_lines = report_lines(nb) if nb is not None else []
        if reported_lines:
            text = chr(10).join(reported_lines)
            reported.append(f"<h3>{link}</h3><pre class='report'>{_e(text)}</pre>")
        golden_cell = f"<pre>{_e(chr(10).join(golden))}</pre>" if golden else ""
        if status == "skipped":  # not run on this target (its metadata): say why, in the row
            golden_cell = f"<i>{_e(entry.get('error') or 'skipped')}</i>"
        rows.append(
            f"<tr><td>{link}</td><td class='{_e(status)}'>{_e(status)}</td>"
            f"<td>{float(entry.get('seconds', 0)):.1f}</td>"
            f"<td>{_params(entry.get('parameters') or {})}</td><td>{golden_cell}</td></tr>"
        )
        for picture in entry.get("pictures", []):
            if (out_dir / picture).is_file():
                pictures.append(
                    f'<figure><a href="{_e(picture)}"><img src="{_e(picture)}" '
                    f'alt="{_e(picture)}"></a><figcaption>{_e(picture)}</figcaption></figure>'
                )
    started = summary.get("started_at", "")
    ok = sum(1 for e in summary.get("results", []) if e.get("status") == "ok")
    skipped = sum(1 for e in summary.get("results", []) if e.get("status") == "skipped")
    total = len(summary.get("results", [])) - skipped
    verdict = f"{ok} of {total} notebooks ok" + (f", {skipped} skipped" if skipped else "")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>mdk run {_e(started)}</title><style>{_CSS}</style></head><body>",
        f"<h1>mdk run {_e(started)}</h1>",
        f"<p id='verdict'>{_e(verdict)}.</p>",
        *failures,
        "<h2>Notebooks</h2>",
        "<table id='summary'><thead><tr><th>notebook</th><th>status</th><th>seconds</th>"
        "<th>parameters</th><th>golden cells</th></tr></thead><tbody>",
        *rows,
        "</tbody></table>",
    ]
    if reported:
        parts += ["<h2>What the notebooks report</h2>", "<div id='reported'>", *reported, "</div>"]
    if pictures:
        parts += ["<h2>Pictures</h2>", "<div id='pictures'>", *pictures, "</div>"]
    parts.append("</body></html>")
    report = out_dir / REPORT
    report.write_text("\n".join(parts), encoding="utf-8")
    return report


def _failure_html(name: str, error: str | None, failure: Failure | None, page: Path | None) -> str:
    """A failed notebook's section: the error, the failing cell and a link to it."""
    head = f"<h2>✗ {_e(name)} failed</h2>"
    if failure is None:
        line = f"<p class='error'>{_e(error or 'failed before any cell ran')}</p>"
        link = f'<p><a href="{_e(page.name)}">open the executed notebook</a></p>' if page else ""
        return f"<section class='failure'>{head}{line}{link}</section>"
    href = f"{page.name}{_anchor(page, failure.cell_id)}" if page else ""
    link = f'<p><a href="{_e(href)}">open cell {failure.cell}</a></p>' if page else ""
    return (
        f"<section class='failure'>{head}"
        f"<p class='error'><b>{_e(failure.error)}</b></p>"
        f"<p>in cell {failure.cell}:</p><pre class='source'>{_e(failure.source)}</pre>"
        f"<pre class='traceback'>{_e(failure.traceback)}</pre>{link}</section>"
    )
