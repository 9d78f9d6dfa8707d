"""The kit as a learner sees it: JupyterLab in chromium, Run All Cells, real clicks on the
panels, and ``mdk run``'s report.html opened in the same browser.

Each test asserts on state the click left (the registry's alias through ``MlflowClient``, the
endpoint's routes through the databricks SDK) or on what the page renders (07's QuizPanel
saying right or wrong, images decoded, not ``<Figure size ...>`` text). Screenshots of each panel go to the test's artifacts.

06 itself needs Spark and a monitor refresh (about 100 s here), and the notebook tier already
runs it. Its charts are checked here on 06's own chart statements run by ``mdk run``'s runner
on small pandas frames of the monitor's shapes (a few seconds): the same ``show(...)`` lines,
so a chart 06 left as a bare ``Figure`` fails the test as ``<Figure size ...>`` text.
"""

from __future__ import annotations

import re
import tempfile
import time
import warnings
from pathlib import Path
from typing import NoReturn

import nbformat
import pytest

from recipes.target import repo_root

NOTEBOOKS = repo_root() / "notebooks"

# JupyterLab's Run All Cells, read from the prompts: "done" when every code cell has run
# (``[n]``) or a cell has stopped the run with a traceback; "running" while a cell is queued or
# running (``[*]``); "stalled" when neither (the run was dropped: a kernel restart, a lost
# connection).
_RUN_STATE = """() => {
  const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')];
  const errors = document.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]');
  if ([...errors].some(e => /Traceback|Error:/.test(e.textContent))) return 'done';
  if (prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent))) return 'done';
  if (prompts.some(p => /\\[\\*\\]/.test(p.textContent))) return 'running';
  return 'stalled';
}"""
_SETTLED = f"() => ({_RUN_STATE})() !== 'running'"

_STARTED = """() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')]
  .some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))"""

_STDERR = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
_IDLE = ".jp-Notebook-ExecutionIndicator[data-status='idle']"
# a widget JupyterLab could not render shows one of these lines in its output instead
_WIDGET_TROUBLE = re.compile(r"Error displaying widget|model not found|Loading widget")
# ... and this one once it has given up on it
_WIDGET_FAILED = re.compile(r"^Error displaying widget")

# How long a notebook may take from opening to its panel on screen: 02 or 04 run alone in
# about 15 s here; a loaded 2-core machine has needed over 60 s, so the deadline is generous
# and a miss says what the notebook shows rather than only that time ran out.
RUN_DEADLINE_S = 180


class Deadline:
    """One time budget shared by the waits of a test (Playwright takes milliseconds)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def ms(self) -> float:
        return max(1.0, (self.end - time.monotonic()) * 1000)


def visible_errors(page) -> str:
    """What the notebook shows that reads as trouble: stderr outputs (tracebacks, warnings)
    and widgets that did not render, in page order."""
    texts = page.locator(_STDERR).all_inner_texts()
    texts += page.locator(".jp-OutputArea-output", has_text=_WIDGET_TROUBLE).all_inner_texts()
    return "\n---\n".join(t.strip() for t in texts if t.strip()) or "(no error output visible)"


def fail(page, what: str, deadline: Deadline) -> NoReturn:
    """Fail with the cells' prompts, the notebook's visible errors and a full-page screenshot."""
    prompts = page.locator(".jp-CodeCell .jp-InputArea-prompt").all_inner_texts()
    kernel = page.locator(".jp-Notebook-ExecutionIndicator").first
    status = kernel.get_attribute("data-status") if kernel.count() else "unknown"
    shot = Path(tempfile.gettempdir()) / f"mdk-lab-failure-{time.time_ns()}.png"
    page.screenshot(path=str(shot), full_page=True)
    raise AssertionError(
        f"{what} within {deadline.seconds:.0f} s (kernel {status}; prompts {prompts}).\n"
        f"The notebook shows:\n{visible_errors(page)[-3000:]}\n"
        f"The browser's console:\n{console(page)}\nScreenshot: {shot}"
    )


def console(page) -> str:
    """The last errors and warnings the page logged (see the ``page`` fixture)."""
    return "\n".join(getattr(page, "console_lines", [])[-12:])[-3000:] or "(nothing logged)"


def prepare(lab, name: str, suffix: str, **parameters) -> str:
    """Write ``notebooks/<name>.ipynb`` into the lab's folder with ``parameters`` injected as
    papermill would (not executed); returns its path relative to the lab's root."""
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    nb = parameterize_notebook(load_notebook_node(str(NOTEBOOKS / f"{name}.ipynb")), parameters)
    for cell in nb.cells:  # as a learner gets it: no prompt numbers, no outputs yet
        if cell.cell_type == "code":
            cell.execution_count, cell.outputs = None, []
    relative = f"{name}-{suffix}.ipynb"
    nbformat.write(nb, lab.root / relative)
    return relative


def _click_run_all(page, deadline: Deadline) -> None:
    """Run > Run All Cells from the menu bar, until the prompts show the run has started."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(3):  # a click before the kernel is connected may be dropped
        page.locator(".jp-Notebook .jp-Cell").first.click()  # the notebook is the current widget
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
        try:
            page.wait_for_function(_STARTED, timeout=min(10_000, deadline.ms()), polling=250)
            return
        except PlaywrightTimeout:
            pass
    fail(page, "Run All Cells did not start", deadline)


def _settle(page, deadline: Deadline) -> str:
    """Wait until the run is no longer running; ``"done"`` or ``"stalled"``."""
    page.wait_for_function(_SETTLED, timeout=deadline.ms(), polling=500)
    if page.evaluate(f"({_RUN_STATE})()") == "stalled":  # or between two states: look again
        time.sleep(2)
        page.wait_for_function(_SETTLED, timeout=deadline.ms(), polling=500)
    return page.evaluate(f"({_RUN_STATE})()")


def run_all_cells(page, deadline: Deadline) -> None:
    """Run > Run All Cells from the menu bar, then wait until every cell has run and the
    kernel is idle again; fail with what the notebook shows if that takes past ``deadline``.

    A run that stops with cells left, none running and no error (seen once: the first cell
    ran, the others kept ``[ ]`` with the kernel idle) is run again once, with a warning in
    the test report; a second such stop fails."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=deadline.ms())
        page.locator(_IDLE).wait_for(timeout=deadline.ms())  # the kernel is connected
    except PlaywrightTimeout:
        fail(page, "the notebook's kernel was not ready", deadline)
    try:
        _click_run_all(page, deadline)
        if _settle(page, deadline) == "stalled":
            prompts = page.locator(".jp-CodeCell .jp-InputArea-prompt").all_inner_texts()
            warnings.warn(
                f"Run All Cells stopped with cells left and none running (prompts "
                f"{prompts}); running all cells again",
                stacklevel=2,
            )
            page.locator(_IDLE).wait_for(timeout=deadline.ms())
            _click_run_all(page, deadline)
            if _settle(page, deadline) == "stalled":
                fail(page, "Run All Cells stopped twice with cells left and none running", deadline)
        page.locator(_IDLE).wait_for(timeout=deadline.ms())
    except PlaywrightTimeout:
        fail(page, "Run All Cells did not finish", deadline)
    tracebacks = [t for t in page.locator(_STDERR).all_inner_texts() if _failed(t)]
    assert not tracebacks, "a cell failed in JupyterLab:\n" + "\n".join(tracebacks)[-3000:]


def _failed(text: str) -> bool:
    return "Traceback" in text or "Error:" in text


def wait_for_panel(page, label: str, deadline: Deadline):
    """The cell output holding the widget with this button (the panel, as rendered), once it
    is on screen; fail with the notebook's visible errors if it is not by ``deadline``.

    When JupyterLab shows "Error displaying widget" in place of a widget, the kernel made the
    widget but the page lost it (seen once, 07's panel in a full run on a loaded machine: "model
    not found", every cell run, the kernel idle). The cell is run again once, as a learner
    would, with a warning in the test report naming the console's errors; a second loss fails.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    button = page.get_by_role("button", name=label, exact=True)
    panel = page.locator(".jp-OutputArea-output", has=button).last
    lost = page.locator(".jp-OutputArea-output", has_text=_WIDGET_FAILED)
    for attempt in range(2):
        try:
            panel.or_(lost).first.wait_for(timeout=deadline.ms())
        except PlaywrightTimeout:
            fail(page, f"the panel with a {label!r} button was not shown", deadline)
        if panel.is_visible():
            return panel
        if attempt == 0:
            warnings.warn(
                f"JupyterLab showed {lost.first.inner_text().strip()!r} for the panel with a "
                f"{label!r} button; running its cell again. The browser's console:\n"
                f"{console(page)}",
                stacklevel=2,
            )
            _run_cell_again(
                page, page.locator(".jp-Notebook .jp-CodeCell", has=lost).last, deadline
            )
    fail(page, f"the panel with a {label!r} button was shown twice as a lost widget", deadline)


def _run_cell_again(page, cell, deadline: Deadline) -> None:
    """Select ``cell`` by its prompt, run it (Ctrl+Enter) and wait until it has a new number.
    The cell is held by its position, since ``cell`` may find it by an output the run clears."""
    from playwright.sync_api import expect

    cells = ".jp-Notebook .jp-CodeCell"
    index = cell.evaluate(f"(c) => [...document.querySelectorAll('{cells}')].indexOf(c)")
    prompt = page.locator(cells).nth(index).locator(".jp-InputArea-prompt")
    before = prompt.inner_text().strip()
    prompt.click()
    page.keyboard.press("Control+Enter")
    done = re.compile(r"\[\d+\]")
    expect(prompt).not_to_have_text(before, timeout=deadline.ms())
    expect(prompt).to_have_text(done, timeout=deadline.ms())
    page.locator(_IDLE).wait_for(timeout=deadline.ms())


def wait_until(check, timeout_s: float = 30, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    value = check()
    while not value and time.monotonic() < deadline:
        time.sleep(0.3)
        value = check()
    assert value, f"timed out waiting for {what}"
    return value


def test_alias_panel_set_alias_click_moves_the_alias_in_the_registry(lab, page, artifacts, unique):
    from mlflow import MlflowClient

    name = f"browser-{unique}"
    # alias "browser" is outside the gate (only champion/challenger pass it), so any version may take it
    nb = prepare(lab, "02_promote", unique, model_name=name, alias="browser", apply=True)
    deadline = Deadline(RUN_DEADLINE_S)
    lab.open(page, nb)
    run_all_cells(page, deadline)
    panel = wait_for_panel(page, "Set alias", deadline)
    client = MlflowClient(lab.tracking_uri)
    before = int(client.get_model_version_by_alias(name, "browser").version)
    select = panel.locator(".widget-dropdown", has_text="Version").locator("select")
    versions = [
        int(re.match(r"v(\d+)", t).group(1)) for t in select.locator("option").all_inner_texts()
    ]
    index, target = next((i, v) for i, v in enumerate(versions) if v != before)
    select.select_option(index=index)
    panel.get_by_role("button", name="Set alias", exact=True).click()
    panel.get_by_text(f"Set @browser → v{target}").wait_for()
    after = wait_until(
        lambda: int(client.get_model_version_by_alias(name, "browser").version) == target,
        what=f"@browser -> v{target} in the registry",
    )
    assert after and target != before
    panel.screenshot(path=str(artifacts / "alias_panel.png"))
    assert (artifacts / "alias_panel.png").stat().st_size > 1000


def _set_slider(slider, page, value: int) -> None:
    """Move an ipywidgets IntSlider with the keyboard, as a person would (arrow keys)."""
    handle = slider.locator(".noUi-handle")
    readout = slider.locator(".widget-readout")
    handle.focus()
    for _ in range(150):
        current = int(readout.inner_text().strip())
        if current == value:
            return
        page.keyboard.press("ArrowRight" if current < value else "ArrowLeft")
    raise AssertionError(f"the slider did not reach {value}: readout {readout.inner_text()}")


def test_traffic_panel_apply_click_moves_the_endpoints_routes(
    lab, page, artifacts, unique, monkeypatch
):
    from playwright.sync_api import expect

    from recipes.serving import traffic
    from recipes.serving.client import workspace_client

    name, endpoint = f"browser-{unique}", f"browser-ab-{unique}"
    nb = prepare(
        lab,
        "04_ab_split",
        unique,
        model_name=name,
        endpoint_name=endpoint,
        n_requests=60,
        apply=False,
    )
    deadline = Deadline(RUN_DEADLINE_S)
    lab.open(page, nb)
    run_all_cells(page, deadline)
    panel = wait_for_panel(page, "Apply split", deadline)
    monkeypatch.setenv("MDK_HOME", str(lab.home))  # the lab's endpoint, read over the SDK
    monkeypatch.setenv("MLFLOW_TRACKING_URI", lab.tracking_uri)
    w = workspace_client(start=False)
    assert traffic.routes(w.serving_endpoints.get(endpoint)) == {"champion": 90, "challenger": 10}
    slider = panel.locator(".widget-slider", has_text="challenger %")
    champion = panel.locator(".widget-text", has_text="champion %")
    for field in (slider, champion):  # the labels read in full, not "challenge…"
        label = field.locator(".widget-label").first
        cut = f"the label {label.inner_text()!r} is wider than its box (cut with an ellipsis)"
        assert label.evaluate("e => e.scrollWidth <= e.clientWidth"), cut
    _set_slider(slider, page, 30)
    # synced by the kernel (observe), after a round trip
    expect(champion.locator("input")).to_have_value("70", timeout=30_000)
    panel.get_by_role("button", name="Apply split", exact=True).click()
    wait_until(
        lambda: (
            traffic.routes(w.serving_endpoints.get(endpoint)) == {"champion": 70, "challenger": 30}
        ),
        timeout_s=60,
        what="routes 70/30 on the endpoint",
    )
    panel.locator(".widget-html", has_text="challenger").first.wait_for()
    panel.screenshot(path=str(artifacts / "traffic_panel.png"))
    assert (artifacts / "traffic_panel.png").stat().st_size > 1000
    # its workers stop now, in order: a SIGTERM to the endpoint's process group at the end of
    # the session reaches the workers first, and the endpoint starts restarting them ("died
    # (signal 15); restarting it") before it exits, which made the session's end 5-10 s longer
    w.serving_endpoints.delete(endpoint)


# QuizPanel's verdict line: "<b>Right.</b>" or "<b>Not quite: the answer is B.</b>"
_VERDICT = ".widget-html b"


def test_quiz_panel_answer_and_run_it_clicks_say_right_or_wrong(lab, page, artifacts, unique):
    """07 itself, on Q16 alone: its checks compute drift statistics in the kernel and need no
    service, so the notebook runs in seconds. Its last cell has answered A (wrong); the
    browser then picks B, presses Run it, and the page must say Right; then D, Not quite."""
    from playwright.sync_api import expect

    nb = prepare(lab, "07_exam_practice", unique, questions="Q16", model_name=f"exam-{unique}")
    deadline = Deadline(RUN_DEADLINE_S)
    lab.open(page, nb)
    run_all_cells(page, deadline)
    panel = wait_for_panel(page, "Run it", deadline)
    right = panel.locator(_VERDICT, has_text=re.compile(r"^Right\.$"))
    wrong = panel.locator(_VERDICT, has_text=re.compile(r"^Not quite: the answer is B\.$"))
    score = panel.locator(".widget-html", has_text="Score:")
    expect(wrong).to_be_visible()  # the notebook's own choose("Q16", "A")
    expect(right).to_have_count(0)
    expect(score).to_contain_text("Score: 0 right of 1 question(s) answered")

    panel.get_by_role("radio", name=re.compile(r"^B\) KS for numeric features")).check()
    panel.get_by_role("button", name="Run it", exact=True).click()
    expect(right).to_be_visible(timeout=30_000)  # the kernel ran B's check and said so
    expect(wrong).to_have_count(0)
    expect(panel).to_contain_text("chi² for categorical")  # the explanation beside it
    expect(score).to_contain_text("Score: 0 right of 1")  # the first answer counts, not this
    right.scroll_into_view_if_needed()  # the panel is taller than the page: its verdict
    page.screenshot(path=str(artifacts / "quiz_panel.png"))
    assert (artifacts / "quiz_panel.png").stat().st_size > 1000

    panel.get_by_role("radio", name=re.compile(r"^D\) PSI 0\.2 means")).check()
    panel.get_by_role("button", name="Run it", exact=True).click()
    expect(wrong).to_be_visible(timeout=30_000)
    expect(right).to_have_count(0)


def _images_decoded(page) -> list[dict]:
    return page.eval_on_selector_all(
        "img",
        "els => els.map(e => ({src: e.getAttribute('src').slice(0, 40), "
        "w: e.naturalWidth, h: e.naturalHeight, done: e.complete}))",
    )


# The frames 06 draws, in the shapes its monitor leaves them (the drift metrics table, read as
# pandas, and quality_metrics' frame): two windows, the second drifted; a challenger clearly
# better on enough labels, so 06's verdict cell says promote_challenger.
_MONITOR_FRAMES = """\
import pandas as pd

from recipes import monitoring
from recipes.monitoring import ALL
from recipes.pictures import show

hours = pd.date_range("2026-11-26 08:00", periods=3, freq="h")
windows = [{"start": a, "end": b} for a, b in zip(hours[:-1], hours[1:], strict=True)]
drift = pd.DataFrame([
    {"window": win, "model_id": ALL, "column_name": column, "drift_type": "BASELINE",
     "ks_test": {"statistic": ks, "pvalue": p}, "chi_squared_test": None,
     "population_stability_index": psi, "js_distance": ks / 2, "wasserstein_distance": ks * 3}
    for win, shift in zip(windows, (0.0, 1.0), strict=True)
    for column, ks, p, psi in [
        ("days_since_last_visit", 0.03 + 0.3 * shift, 0.4 * (1 - shift) + 1e-12, 0.02 + 0.5 * shift),
        ("total_purchases", 0.02, 0.6, 0.01),
    ]
])
quality = pd.DataFrame([
    {"model_id": ALL, "labeled_rows": 1200, "accuracy": 0.79, "precision": 0.71, "recall": 0.64,
     "f1": 0.67, "roc_auc": 0.80},
    {"model_id": "1", "labeled_rows": 600, "accuracy": 0.72, "precision": 0.63, "recall": 0.55,
     "f1": 0.59, "roc_auc": 0.74},
    {"model_id": "2", "labeled_rows": 600, "accuracy": 0.86, "precision": 0.79, "recall": 0.73,
     "f1": 0.76, "roc_auc": 0.86},
])
versions = {"champion": 1, "challenger": 2}
"""


def monitor_charts_notebook(path: Path) -> tuple[Path, list[str]]:
    """A notebook that runs 06's own chart statements and verdict cells, without Spark.

    Every top-level statement of ``06_monitor.ipynb`` that draws a chart (``plot_``) becomes a
    cell of its own, exactly as written there, after one cell that builds pandas frames in
    the monitor's shapes. Its own cell makes it the cell's last statement, so a chart that 06
    left as a bare ``Figure`` would show as ``<Figure size ...>`` text, not a picture. 06's
    verdict and golden cells follow. Returns the path and the chart statements.
    """
    import ast

    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    source = nbformat.read(NOTEBOOKS / "06_monitor.ipynb", as_version=4)
    charts, verdict_cells = [], []
    for cell in source.cells:
        if cell.cell_type != "code":
            continue
        for statement in ast.parse(cell.source).body:
            segment = ast.get_source_segment(cell.source, statement) or ""
            if "plot_" in segment:
                charts.append(segment)
        if "monitoring.verdict(" in cell.source or "NBVAL_CHECK_OUTPUT" in cell.source:
            verdict_cells.append(cell.source)
    nb = new_notebook(
        cells=[
            new_markdown_cell(
                "06's charts and verdict on small pandas frames (no Spark, no server)."
            ),
            new_code_cell(_MONITOR_FRAMES),
            *[new_code_cell(chart) for chart in charts],
            *[new_code_cell(cell) for cell in verdict_cells],
        ]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path, charts


@pytest.fixture(scope="module")
def charts_run(tmp_path_factory):
    """``mdk run``'s runner and report on the monitor-charts notebook, once for the module."""
    from recipes.target import scoped_env
    from recipes.tooling import report, runner

    base = tmp_path_factory.mktemp("charts")
    notebook, charts = monitor_charts_notebook(base / "06_monitor_charts.ipynb")
    out = base / "run"
    with scoped_env(MDK_HOME=str(base / "home"), MDK_TARGET="local"):
        [result] = runner.run_notebooks([notebook], {}, out_dir=out)
    assert result.status == "ok", result.error
    return out, result, charts, report.write_report(out)


def test_06s_chart_statements_are_found(tmp_path):
    """The drift and quality charts: if 06 stops drawing one, the image tests below say so."""
    _, charts = monitor_charts_notebook(tmp_path / "charts.ipynb")
    assert any("plot_drift" in c for c in charts) and any("plot_quality" in c for c in charts)


def test_report_html_renders_its_table_and_pictures(charts_run, page, artifacts):
    out, result, charts, report_page = charts_run
    page.goto(report_page.as_uri())
    rows = page.locator("#summary tbody tr")
    assert rows.count() == 1
    cells = rows.first.locator("td")
    assert cells.nth(0).inner_text() == result.notebook
    assert cells.nth(1).inner_text() == "ok"
    assert "verdict: promote_challenger" in cells.nth(4).inner_text()  # 06's golden cell
    pictures = _images_decoded(page)  # the charts mdk run saved as files, decoded by chromium
    assert len(pictures) == len(charts), pictures
    assert all(p["done"] and p["w"] > 100 and p["h"] > 100 for p in pictures), pictures
    page.screenshot(path=str(artifacts / "report.png"), full_page=True)
    page.locator("#summary a", has_text=result.notebook).click()
    page.wait_for_load_state()
    assert Path(page.url.removeprefix("file://")).name == Path(result.notebook).stem + ".html"


def test_06s_charts_show_as_png_images_not_figure_text(charts_run, page, artifacts):
    """The executed notebook's page (nbconvert, as the report links it) in chromium."""
    out, result, charts, _ = charts_run
    page.goto((out / (Path(result.notebook).stem + ".html")).as_uri())
    text = page.locator("body").inner_text()
    assert "<Figure size" not in text, "a chart rendered as text, not as a picture"
    pngs = [p for p in _images_decoded(page) if p["src"].startswith("data:image/png")]
    assert len(pngs) == len(charts), (pngs, charts)
    assert all(p["done"] and p["w"] > 100 and p["h"] > 100 for p in pngs), pngs
    assert "verdict: promote_challenger" in text
    page.screenshot(path=str(artifacts / "charts.png"), full_page=True)


@pytest.mark.parametrize("dist", ["ipywidgets", "jupyterlab_widgets"])
def test_widget_packages_are_installed(dist):
    """The lab side of the widgets matches the kernel side (ipywidgets 8 <-> jupyterlab_widgets 3)."""
    from importlib.metadata import version

    majors = {"ipywidgets": "8", "jupyterlab_widgets": "3"}
    assert version(dist).split(".")[0] == majors[dist]
