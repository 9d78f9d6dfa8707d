"""Target resolution: local by default, databricks on request, MLFLOW_TRACKING_URI wins."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest

from recipes import target
from recipes.errors import KitError, ParameterError


def test_local_default_is_sqlite_under_mdk_home(mdk_home, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    t = target.resolve()
    assert t.name == "local" and t.home == mdk_home
    assert t.tracking_uri == f"sqlite:///{mdk_home / 'mlflow.db'}" == t.registry_uri
    assert t.artifact_location == (mdk_home / "mlartifacts").as_uri()
    assert not t.unity_catalog and t.experiment_path() == "churn-predictor"


def test_tracking_uri_env_wins(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5999")
    t = target.resolve("local")
    assert t.tracking_uri == t.registry_uri == "http://127.0.0.1:5999"
    assert t.artifact_location is None  # the server decides where artifacts go


def test_default_home_is_repo_dot_mdk(monkeypatch):
    monkeypatch.delenv("MDK_HOME")
    assert target.mdk_home() == Path(target.__file__).resolve().parent.parent / ".mdk"


def test_databricks_target_uses_unity_catalog(monkeypatch):
    monkeypatch.setenv("MDK_TARGET", "databricks")
    t = target.resolve()
    assert (t.tracking_uri, t.registry_uri, t.unity_catalog) == (
        "databricks",
        "databricks-uc",
        True,
    )
    assert t.experiment_path("churn") == "/Shared/mdk/churn"
    monkeypatch.setenv("MDK_REGISTRY", "workspace")
    assert target.resolve().registry_uri == "databricks"


def test_parameter_overrides_env(monkeypatch):
    monkeypatch.setenv("MDK_TARGET", "databricks")
    assert target.resolve("local").name == "local"


def test_unknown_target_is_one_line():
    with pytest.raises(ParameterError, match="use one of local, databricks"):
        target.resolve("aws")


def test_use_target_creates_experiment_with_artifacts_under_home(mdk_home, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    target.use_target("local", experiment="exp-a")
    exp = mlflow.get_experiment_by_name("exp-a")
    assert exp.artifact_location == (mdk_home / "mlartifacts").as_uri()
    with mlflow.start_run() as run:
        mlflow.log_text("hi", "note.txt")
    assert (mdk_home / "mlartifacts" / run.info.run_id / "artifacts" / "note.txt").exists()
    target.use_target("local", experiment="exp-a")  # idempotent
    assert mlflow.get_experiment_by_name("exp-a").experiment_id == exp.experiment_id


def test_databricks_without_credentials_is_one_line(monkeypatch, tmp_path):
    for k in ("DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CONFIG_PROFILE"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(tmp_path / "no.databrickscfg"))
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(KitError, match="set DATABRICKS_HOST and DATABRICKS_TOKEN") as exc:
        target.use_target("databricks")
    assert "\n" not in str(exc.value)
    assert mlflow.get_tracking_uri() != "databricks"  # nothing was switched


@pytest.mark.server
def test_experiment_behind_a_server_is_refused_without_the_server(mdk_home, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    client = mlflow.MlflowClient(f"sqlite:///{mdk_home / 'mlflow.db'}")
    client.create_experiment("served-exp", artifact_location="mlflow-artifacts:/served-exp")
    with pytest.raises(KitError, match="run `mdk up` and export the MLFLOW_TRACKING_URI"):
        target.use_target("local", experiment="served-exp")
