"""The browser tier: a real JupyterLab driven in Debian's chromium through Playwright.

The ``lab`` fixture starts, once per session, each on a free loopback port and stopped by
pid at the end (only for the tests that drive notebooks in JupyterLab):
- JupyterLab (``--ip 127.0.0.1``, a random token) serving a temporary folder, with its own
  ``MDK_HOME`` and tracking URI in its kernels' environment and its own Jupyter config,
  data and runtime folders;
- an ``mlflow server`` on a copy of the session's empty store;
- the kit's serving endpoint, with that ``MDK_HOME``, reading that server.
Each test writes its own parameterized copy of a kit notebook (papermill's parameterize,
no execution) into the lab's folder, with a model and endpoint name no other test uses.

Playwright's own browser download is not used (and not reachable here): chromium comes
from Debian (``sudo apt-get install chromium``) and is launched through ``executable_path``.
Without it the tier skips with that one line, or fails when ``CI`` is true.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from recipes import stack
from recipes.target import repo_root

INSTALL = "sudo apt-get install chromium"


def pytest_collection_modifyitems(items):
    """Everything under tests/browser/ is the ``browser`` tier (and starts servers). Without
    chromium, off CI, the tests that need it are skipped at collection, so the summary folds
    them into one line saying how to install it (in CI the ``chromium`` fixture fails)."""
    skip = None
    if find_chromium() is None and not _ci():
        skip = pytest.mark.skip(reason=f"no chromium found: {INSTALL}")
    for item in items:
        if "tests/browser/" in item.nodeid.replace("\\", "/"):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.server)
            if skip is not None and "chromium" in getattr(item, "fixturenames", ()):
                item.add_marker(skip)


def find_chromium() -> str | None:
    """Debian's chromium on the PATH (``MDK_CHROMIUM`` overrides), or None."""
    explicit = os.environ.get("MDK_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def chromium() -> str:
    """The chromium executable: skip without one on a laptop, fail in CI."""
    path = find_chromium()
    if path is None:
        if _ci():
            pytest.fail(f"CI is true and no chromium was found: {INSTALL}")
        pytest.skip(f"no chromium found: {INSTALL}")
    pytest.importorskip("playwright", reason="playwright is missing: make setup")
    return path


@pytest.fixture(scope="module")
def browser(chromium):
    """One headless chromium per module (Playwright's sync API). Not per session: while
    Playwright's sync API is open, its event loop counts as running in this thread, so a
    later module on the same xdist worker could not call ``asyncio.run`` (seen in a shuffled
    run: tests/endpoint/test_pool.py after this tier)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser, tmp_path):
    """A fresh page at a fixed size, so screenshots compare across runs. Its console's errors
    and warnings are kept in ``page.console_lines`` for a failure's message (JupyterLab logs
    there why a widget did not display)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    pg.console_lines = []
    pg.on(
        "console",
        lambda m: m.type in ("error", "warning") and pg.console_lines.append(f"{m.type}: {m.text}"),
    )
    try:
        yield pg
    finally:
        context.close()


@dataclass
class Lab:
    url: str  # http://127.0.0.1:PORT
    token: str
    root: Path  # the folder JupyterLab serves
    home: Path  # MDK_HOME of its kernels
    tracking_uri: str

    def open(self, page, relative: str):
        """Open a file of ``root`` in JupyterLab, logged in with the token, in a workspace of
        its own (``/lab/workspaces/<new>/tree/...``): only this tab, with no ``?reset``, whose
        redirect reloaded the page while it was starting the notebook's kernel. Seen once on
        a loaded machine: two kernels started, the first was shut down at once, the page kept
        waiting on its websocket ("Kernel never reached an 'alive' state") and Run All Cells
        ran nothing."""
        workspace = f"t{uuid.uuid4().hex[:12]}"
        page.goto(f"{self.url}/lab/workspaces/{workspace}/tree/{relative}?token={self.token}")
        return page


# User settings of the test's JupyterLab: start the notebook's kernel without asking, keep
# every cell in the page (no windowing, so a test sees all prompts), and no news pop-up.
_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "autoStartDefaultKernel": True,
        "windowingMode": "none",
    },
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
}


def _settings(folder: Path) -> None:
    import json

    for relative, values in _SETTINGS.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


@pytest.fixture(scope="session")
def lab(chromium, empty_store, tmp_path_factory) -> Lab:
    """JupyterLab on 127.0.0.1 with a token, serving a temporary folder, and what its kernels
    use: an ``mlflow server`` (its own home, a copy of the empty store) and the kit's serving
    endpoint (the kernels' ``MDK_HOME``) reading it. JupyterLab's process starts first, so
    its start-up overlaps the other two; at the end all three are stopped by pid at once."""
    pytest.importorskip("jupyterlab", reason="JupyterLab is missing: make setup-lab")
    base = tmp_path_factory.mktemp("lab")
    root, jupyter, home, mlflow_home = (base / d for d in ("root", "jupyter", "home", "mlflow"))
    for folder in (root, home, mlflow_home):
        folder.mkdir()
    shutil.copy(empty_store, mlflow_home / "mlflow.db")
    tracking_port, token = stack.free_port(), secrets.token_hex(16)
    tracking_uri = f"http://{stack.HOST}:{tracking_port}"
    env = {
        "MDK_TARGET": "local",
        "MLFLOW_TRACKING_URI": tracking_uri,
        "JUPYTER_CONFIG_DIR": str(jupyter / "config"),
        "JUPYTER_RUNTIME_DIR": str(jupyter / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(jupyter / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(jupyter / "workspaces"),
        "PYTHONPATH": str(repo_root()),
    }
    for key in ("MLFLOW_REGISTRY_URI", "SPARK_REMOTE", "DATABRICKS_HOST", "DATABRICKS_TOKEN"):
        env[key] = None
    _settings(jupyter / "settings")

    def command(port: int, home: Path) -> list[str]:
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1"]
        cmd += [
            f"--port={port}",
            f"--ServerApp.root_dir={root}",
            f"--IdentityProvider.token={token}",
        ]
        cmd += ["--ServerApp.port_retries=0", "--LabApp.news_url="]
        cmd += ["--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:  # CI containers run as root
            cmd.append("--allow-root")
        return cmd

    # a service of the kit's one services module, with the kernels' MDK_HOME as its home
    spec = stack.ServiceSpec(
        "jupyterlab", command, marker="jupyterlab", health_path=f"/api/status?token={token}"
    )

    def tracking_then_serving() -> None:
        stack.start_mlflow_server(port=tracking_port, home=mlflow_home)
        stack.start("serving", home=home, env={"MLFLOW_TRACKING_URI": tracking_uri})

    try:
        with ThreadPoolExecutor(2) as pool:  # JupyterLab's start-up overlaps the other two
            jupyterlab = pool.submit(
                stack.start, "jupyterlab", home=home, spec=spec, env=env, timeout=90
            )
            pool.submit(tracking_then_serving).result()
            url = jupyterlab.result().url
        yield Lab(url, token, root, home, tracking_uri)
    finally:  # each stop is a no-op for a service that never started
        stops = (
            lambda: stack.stop("jupyterlab", home=home),
            lambda: stack.stop("serving", home=home),
            lambda: stack.stop("mlflow", home=mlflow_home),
        )
        with ThreadPoolExecutor(len(stops)) as pool:
            for done in [pool.submit(stop) for stop in stops]:
                done.result()


@pytest.fixture
def artifacts(request, tmp_path) -> Path:
    """Where a test saves its screenshots: ``MDK_BROWSER_ARTIFACTS/<test>`` when set (CI
    uploads it), else the test's own tmp_path."""
    base = os.environ.get("MDK_BROWSER_ARTIFACTS")
    if not base:
        return tmp_path
    out = Path(base) / request.node.name
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture
def unique() -> str:
    """A suffix no other test uses, for model and endpoint names."""
    return uuid.uuid4().hex[:8]
