"""Notebook tests run every notebook against a real MLflow tracking server.

In CI, ``.ci/run`` starts ``mlflow server`` and exports ``MLFLOW_TRACKING_URI``; here that
server is used. Run alone (``make test`` on a laptop), the session starts its own on a free
loopback port and stops it by pid afterwards. Each test registers under its own model
name, so tests never see each other's versions.
"""

from __future__ import annotations

import os
import uuid

import nbformat
import papermill
import pytest

from recipes.target import repo_root
from tests.notebooks.nbtools import NOTEBOOKS

_CI_TRACKING_URI = os.environ.get("MLFLOW_TRACKING_URI", "")  # read before any fixture runs


@pytest.fixture(scope="session")
def tracking_server(tmp_path_factory):
    """The URL of a live ``mlflow server``: the CI's, or one this session starts."""
    if _CI_TRACKING_URI.startswith("http"):
        yield _CI_TRACKING_URI
        return
    from recipes import stack

    home = tmp_path_factory.mktemp("server-home")
    service = stack.start_mlflow_server(home=home)
    try:
        yield service.url
    finally:
        stack.stop("mlflow", home=home)


@pytest.fixture(autouse=True)
def mdk_home(mdk_home, monkeypatch, tracking_server):
    """The shared fixture's fresh MDK_HOME, with MLflow on the tracking server instead."""
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_server)
    mlflow.set_tracking_uri(tracking_server)
    mlflow.set_registry_uri(tracking_server)
    return mdk_home


@pytest.fixture
def model_name():
    """A registered-model name no other test uses."""
    return f"churn-test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def run_notebook(tmp_path):
    """Execute ``notebooks/<name>.ipynb`` with papermill; returns the executed notebook."""

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
        return nbformat.read(out, as_version=4)

    return run
