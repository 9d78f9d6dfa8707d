"""The kit as a learner sees it: JupyterLab in chromium, Run All Cells, real clicks on the
panels, and ``mdk run``'s report.html opened in the same browser.

Each test asserts on state the click left (the registry's alias through ``MlflowClient``, the
endpoint's routes through the databricks SDK) or on what the page renders (images decoded,
not ``<Figure size ...>`` text). Screenshots of each panel go to the test's artifacts.
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from recipes.target import repo_root

NOTEBOOKS = repo_root() / "notebooks"

# JupyterLab: every code cell has run (``[n]``) and none is queued or running (``[*]``),
# or a cell has stopped the run with a traceback.
_RUN_DONE = """() => {
  const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')];
  const errors = document.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]');
  const failed = [...errors].some(e => /Traceback|Error:/.test(e.textContent));
  if (failed) return true;
  return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
}"""

_STARTED = """() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')]
  .some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))"""


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


def run_all_cells(page, timeout_s: float = 90) -> None:
    """Run > Run All Cells from the menu bar, then wait until every cell has run."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.locator(".jp-Notebook .jp-Cell").first.wait_for()
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for()
    for attempt in range(3):  # a click before the kernel is connected may be dropped
        page.locator(".jp-Notebook .jp-Cell").first.click()  # the notebook is the current widget
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
        try:
            page.wait_for_function(_STARTED, timeout=10_000, polling=250)
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
    try:
        page.wait_for_function(_RUN_DONE, timeout=timeout_s * 1000, polling=500)
    except PlaywrightTimeout:
        prompts = page.locator(".jp-CodeCell .jp-InputArea-prompt").all_inner_texts()
        shot = Path(tempfile.gettempdir()) / f"mdk-lab-timeout-{time.time_ns()}.png"
        page.screenshot(path=str(shot), full_page=True)
        raise AssertionError(
            f"Run All Cells did not finish: prompts {prompts}; see {shot}"
        ) from None
    tracebacks = [
        t
        for t in page.locator(
            '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
        ).all_inner_texts()
        if "Traceback" in t or "Error:" in t
    ]
    assert not tracebacks, "a cell failed in JupyterLab:\n" + "\n".join(tracebacks)[-3000:]


def output_with_button(page, label: str):
    """The cell output that holds the widget with this button (the panel, as rendered)."""
    button = page.get_by_role("button", name=label, exact=True)
    return page.locator(".jp-OutputArea-output", has=button).last


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
    lab.open(page, nb)
    run_all_cells(page)
    panel = output_with_button(page, "Set alias")
    panel.wait_for()
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
    nb = prepare(lab, "04_ab_split", unique, model_name=name, endpoint_name=endpoint,
                 n_requests=60, apply=False)  # fmt: skip
    lab.open(page, nb)
    run_all_cells(page)
    panel = output_with_button(page, "Apply split")
    panel.wait_for()
    monkeypatch.setenv("MDK_HOME", str(lab.home))  # the lab's endpoint, read over the SDK
    monkeypatch.setenv("MLFLOW_TRACKING_URI", lab.tracking_uri)
    w = workspace_client(start=False)
    assert traffic.routes(w.serving_endpoints.get(endpoint)) == {"champion": 90, "challenger": 10}
    slider = panel.locator(".widget-slider", has_text="challenger %")
    _set_slider(slider, page, 30)
    champion = panel.locator(".widget-text", has_text="champion %").locator("input")
    expect(champion).to_have_value("70")  # synced by the kernel (observe), after a round trip
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


def _images_decoded(page) -> list[dict]:
    return page.eval_on_selector_all(
        "img",
        "els => els.map(e => ({src: e.getAttribute('src').slice(0, 40), "
        "w: e.naturalWidth, h: e.naturalHeight, done: e.complete}))",
    )


def test_report_of_a_run_renders_its_table_and_06s_charts_as_images(
    lab, page, artifacts, unique, spark_connect, monkeypatch, tmp_path
):
    """``mdk run``'s runner and report on 06 (small), then both pages in chromium."""
    from recipes.tooling import report, runner

    for key, value in {"MDK_HOME": str(lab.home), "MLFLOW_TRACKING_URI": lab.tracking_uri,
                       "MDK_SPARK_REMOTE": spark_connect.url}.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    out = tmp_path / "run"
    params = {"model_name": f"browser-{unique}", "endpoint_name": f"browser-mon-{unique}",
              "n_requests": 400}  # fmt: skip
    [result] = runner.run_notebooks([NOTEBOOKS / "06_monitor.ipynb"], params, out_dir=out)
    page_path = report.write_report(out)
    assert result.status == "ok", result.error

    page.goto(page_path.as_uri())
    rows = page.locator("#summary tbody tr")
    assert rows.count() == 1
    assert rows.first.locator("td").nth(1).inner_text() == "ok"
    assert "verdict:" in rows.first.locator("td").nth(4).inner_text()
    pictures = _images_decoded(page)
    assert len(pictures) >= 2, pictures  # the drift and quality charts, saved as files
    assert all(p["done"] and p["w"] > 100 and p["h"] > 100 for p in pictures), pictures
    page.screenshot(path=str(artifacts / "report.png"), full_page=True)

    page.locator("#summary a", has_text="06_monitor.ipynb").click()
    page.wait_for_load_state()
    assert Path(page.url.removeprefix("file://")).name == "06_monitor.html"
    charts = [p for p in _images_decoded(page) if p["src"].startswith("data:image/png")]
    assert len(charts) >= 2, charts
    assert all(p["w"] > 100 and p["h"] > 100 for p in charts), charts
    assert "<Figure size" not in page.locator("body").inner_text()


@pytest.mark.parametrize("dist", ["ipywidgets", "jupyterlab_widgets"])
def test_widget_packages_are_installed(dist):
    """The lab side of the widgets matches the kernel side (ipywidgets 8 <-> jupyterlab_widgets 3)."""
    from importlib.metadata import version

    majors = {"ipywidgets": "8", "jupyterlab_widgets": "3"}
    assert version(dist).split(".")[0] == majors[dist]
