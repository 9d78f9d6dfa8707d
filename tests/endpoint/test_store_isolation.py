"""A serving endpoint started after another test changed MLflow's URIs reads its own store.

MLflow exports the URIs it is given (``MLFLOW_TRACKING_URI``, ``MLFLOW_REGISTRY_URI``) into
the environment for subprocesses, and ``set_registry_uri(None)`` leaves the variable behind.
A server started later from the same pytest worker once read an earlier test's sqlite
registry that way.
"""

from __future__ import annotations

import json
import os
import urllib.request

import mlflow

from recipes import stack
from recipes.target import reset_mlflow_uris, scoped_env


def _health(url: str) -> dict:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url + "/health", timeout=10) as resp:
        return json.loads(resp.read())


def test_reset_forgets_the_exported_registry_uri(tmp_path):
    stale = f"sqlite:///{tmp_path / 'stale.db'}"
    mlflow.set_tracking_uri(stale)
    mlflow.set_registry_uri(stale)
    assert os.environ["MLFLOW_REGISTRY_URI"] == stale  # MLflow exports it
    reset_mlflow_uris()  # what each test's teardown does
    assert "MLFLOW_REGISTRY_URI" not in os.environ
    assert "MLFLOW_TRACKING_URI" not in os.environ


def test_a_server_started_after_another_tests_uris_reads_its_own_store(tmp_path):
    # an "earlier test" pointed this process at its own store and cleaned up after itself
    stale = f"sqlite:///{tmp_path / 'earlier' / 'mlflow.db'}"
    mlflow.set_tracking_uri(stale)
    mlflow.set_registry_uri(stale)
    reset_mlflow_uris()
    # now a session fixture starts a serving endpoint for its own home and store
    home = tmp_path / "serving-home"
    home.mkdir()
    ours = f"sqlite:///{home / 'mlflow.db'}"
    with scoped_env(MDK_HOME=str(home), MLFLOW_TRACKING_URI=ours):
        service = stack.start("serving", home=home)
    try:
        health = _health(service.url)
        assert health["tracking_uri"] == ours
        assert health["registry_uri"] == ours
        assert health["home"] == str(home)
    finally:
        stack.stop("serving", home=home)
    row = next(s for s in stack.status(home) if s.name == "serving")
    assert not row.alive  # stopped by its pid
