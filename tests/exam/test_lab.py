"""What a lab starts it stops, by pid: the serving endpoint with its endpoints, the workspace
double and the ``mlflow server`` behind it. A lab of its own, on a copy of the trained store."""

from __future__ import annotations

import shutil

import psutil
import pytest

from recipes import stack
from recipes.exam import SMALL, Lab
from recipes.target import scoped_env
from tests.exam.conftest import _env
from tests.homes import apply_env

pytestmark = pytest.mark.server


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_release_and_close_stop_what_the_lab_started(_trained_store, tmp_path, monkeypatch):
    home = tmp_path / "lab"
    home.mkdir()
    shutil.copy(_trained_store / "mlflow.db", home / "mlflow.db")
    apply_env(monkeypatch, _env(home))
    with scoped_env():
        lab = Lab("local", model_name="churn-predictor", sizes=SMALL)
        w, _ = lab.serving()
        serving = stack.read_record("serving", home=home)
        uc = lab.uc()
        mlflow_home = lab._uc_mlflow_home
        server = stack.read_record("mlflow", home=mlflow_home)
        assert serving and server and not _gone(serving.pid) and not _gone(uc.pid)
        assert stack.read_record("serving", home=home).url == serving.url

        lab.release("uc")
        assert _gone(uc.pid) and _gone(server.pid) and lab._uc is None
        assert stack.read_record("mlflow", home=mlflow_home) is None
        assert not _gone(serving.pid)  # serving is released on its own

        lab.close()
        assert _gone(serving.pid) and stack.read_record("serving", home=home) is None
        lab.close()  # idempotent
