"""Notebook tests run every notebook against a real MLflow tracking server.

The test session starts its own ``mlflow server`` (sqlite, one worker) and its own serving
endpoint, each on a free loopback port with its own ``MDK_HOME``, and stops both by pid at
the end. Nothing started before the session is used, on a laptop or in CI. Each test
registers under its own model name, so tests never see each other's versions.
"""

from __future__ import annotations

import uuid

import nbformat
import papermill
import pytest

from recipes.target import repo_root
from tests.notebooks.nbtools import NOTEBOOKS, noise


@pytest.fixture(scope="session")
def tracking_server(tmp_path_factory, empty_store):
    """The URL of a live ``mlflow server`` this session starts (and stops by pid), on a copy
    of the session's already migrated empty store."""
    import shutil

    from recipes import stack

    home = tmp_path_factory.mktemp("server-home")
    shutil.copy(empty_store, home / "mlflow.db")
    service = stack.start_mlflow_server(home=home)
    try:
        yield service.url
    finally:
        stack.stop("mlflow", home=home)


@pytest.fixture(scope="session")
def serving_home(tracking_server, spark_connect, tmp_path_factory):
    """An MDK_HOME whose serving endpoint, started by this session, reads ``tracking_server``.

    The serve, A/B and monitor notebooks run with this MDK_HOME, so they find the endpoint,
    its token and its inference tables. Its warehouse is the session's Spark Connect
    server's (a symbolic link), so the tables the endpoint appends with delta-rs are the
    ones that server's catalog names: its monitor refresh jobs and the kernels of
    ``connect_kernel`` use it, and none starts a JVM of its own. It is stopped by pid at
    the end.
    """
    from recipes import stack
    from recipes.target import scoped_env

    home = tmp_path_factory.mktemp("serving-home")
    (home / "warehouse").symlink_to(spark_connect.workdir / "warehouse", target_is_directory=True)
    with scoped_env(
        MDK_HOME=str(home), MLFLOW_TRACKING_URI=tracking_server, MDK_SPARK_REMOTE=spark_connect.url
    ):
        stack.start("serving", home=home)
    try:
        yield home
    finally:
        stack.stop("serving", home=home)


@pytest.fixture
def served(serving_home, monkeypatch):
    """Run this test's notebooks against the session's serving endpoint (its MDK_HOME)."""
    monkeypatch.setenv("MDK_HOME", str(serving_home))
    return serving_home


@pytest.fixture
def connect_kernel(spark_connect, monkeypatch):
    """Kernels started by this test reach Spark through the session's Spark Connect server
    (``MDK_SPARK_REMOTE``), so the notebook's Spark cells run under Connect and no kernel
    starts a JVM. The in-order story shares its run's own server, as ``mdk run`` does; 07's
    run (test_exam_practice.py) starts the classic session a JupyterLab kernel gets.

    Returns the server: the tables its kernels write are in its own warehouse
    (``<server.workdir>/warehouse``), which is ``served``'s too, not the test's MDK_HOME's."""
    monkeypatch.setenv("MDK_SPARK_REMOTE", spark_connect.url)
    return spark_connect


@pytest.fixture(autouse=True)
def mdk_home(mdk_home, monkeypatch, request):
    """The shared fixture's fresh MDK_HOME, with MLflow on the tracking server instead; a
    module whose notebooks run in stores of their own (``OWN_STORES = True``: the story)
    starts no tracking server."""
    import mlflow

    if getattr(request.module, "OWN_STORES", False):
        return mdk_home
    tracking_server = request.getfixturevalue("tracking_server")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_server)
    mlflow.set_tracking_uri(tracking_server)
    mlflow.set_registry_uri(tracking_server)
    return mdk_home


@pytest.fixture
def model_name():
    """A registered-model name no other test uses."""
    return f"churn-test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def run_notebook(tmp_path, monkeypatch):
    """Execute ``notebooks/<name>.ipynb`` with papermill; returns the executed notebook.

    Every executed notebook must be quiet: no Spark/JVM log lines, MLflow log records,
    progress bars below 100 % or ``<Figure size ...>`` text (see ``nbtools.noise``).
    The kernel gets the environment ``mdk run`` gives it.
    """
    from recipes.quiet import QUIET_ENV

    for key, value in QUIET_ENV.items():
        monkeypatch.setenv(key, value)

    def run(name: str, **parameters) -> nbformat.NotebookNode:
        out = tmp_path / f"{name}-{uuid.uuid4().hex[:6]}.ipynb"
        papermill.execute_notebook(
            str(NOTEBOOKS / f"{name}.ipynb"),
            str(out),
            parameters=parameters,
            kernel_name="python3",
            progress_bar=False,
            cwd=str(repo_root()),
        )
        nb = nbformat.read(out, as_version=4)
        chatter = "\n".join(noise(nb))
        assert not chatter, f"{name} printed library chatter (see recipes.quiet):\n{chatter}"
        return nb

    return run
