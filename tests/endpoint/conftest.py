"""A real endpoint for each module that asks for ``server`` (``tests/endpoint/server.py``);
the session's shared one and the loaded models are in tests/conftest.py, which
tests/serving/ uses too."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.endpoint.server import start_server


@pytest.fixture(scope="session")
def churn_store(_trained_store) -> Path:
    """The session's trained store (built once by tests/conftest.py): v1 and v2."""
    return _trained_store


@pytest.fixture(scope="module")
def server(tmp_path_factory, churn_store):
    """A real server for the module (``--idle-seconds 2 --seed 7``), stopped at teardown."""
    srv = start_server(tmp_path_factory, churn_store)
    try:
        yield srv
    finally:
        srv.stop()
