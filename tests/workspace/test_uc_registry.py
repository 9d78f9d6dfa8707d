"""MLflow's real ``databricks`` tracking and ``databricks-uc`` registry clients, end to end
against the workspace double (and the real ``mlflow server`` behind it).

One model, ``main.mdk.churn_predictor``, is made once per module: v1 by
``log_model(registered_model_name=...)`` in one run, v2 by ``register_model("runs:/...")``
from a second run, and ``@champion`` on v1. Tests that change it use names of their own (an
alias, a tag key, another model), so they pass in any order.
"""

from __future__ import annotations

import uuid

import numpy as np
import pandas as pd
import pytest
import requests

from tests.workspace.conftest import TOKEN, databricks_env

pytestmark = pytest.mark.server

NAME = "main.mdk.churn_predictor"
EXPERIMENT = "/Shared/mdk-uc-double"
UC = "/api/2.0/mlflow/unity-catalog"
PIP = ["scikit-learn"]  # skips MLflow's requirements inference (a subprocess per model)


def _data(n: int = 60, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "total_purchases": rng.integers(0, 40, n).astype(float),
            "avg_session_duration": rng.uniform(10, 600, n),
            "days_since_last_visit": rng.integers(0, 90, n).astype(float),
        }
    )
    y = ((X.days_since_last_visit > 45) & (X.total_purchases < 20)).astype(int)
    return X, y


def _fit(seed: int = 0):
    from sklearn.linear_model import LogisticRegression

    X, y = _data(seed=seed)
    return LogisticRegression(max_iter=500).fit(X, y), X


@pytest.fixture(scope="module")
def story(double, tmp_path_factory):
    """v1 (log_model + registered_model_name), v2 (register_model from runs:/), @champion=v1."""
    import mlflow
    from mlflow.models import infer_signature

    from recipes.target import reset_mlflow_uris

    model, X = _fit()
    signature = infer_signature(X, model.predict(X))
    with pytest.MonkeyPatch.context() as mp:
        databricks_env(mp, double.url, tmp_path_factory.mktemp("cfg") / "databrickscfg")
        experiment_id = mlflow.set_experiment(EXPERIMENT).experiment_id
        mark = double.mark()
        with mlflow.start_run(experiment_id=experiment_id) as run1:
            info = mlflow.sklearn.log_model(
                model,
                name="model",
                signature=signature,
                registered_model_name=NAME,
                pip_requirements=PIP,
            )
        v1_calls = double.calls_since(mark)
        with mlflow.start_run(experiment_id=experiment_id) as run2:
            mlflow.sklearn.log_model(model, name="model", signature=signature, pip_requirements=PIP)
        mark = double.mark()
        v2 = mlflow.register_model(f"runs:/{run2.info.run_id}/model", NAME)
        v2_calls = double.calls_since(mark)
        mlflow.MlflowClient().set_registered_model_alias(NAME, "champion", 1)
        reset_mlflow_uris()
    return {
        "model": model,
        "X": X,
        "signature": signature,
        "info": info,
        "v2": v2,
        "experiment_id": experiment_id,
        "run1": run1.info.run_id,
        "run2": run2.info.run_id,
        "v1_calls": v1_calls,
        "v2_calls": v2_calls,
    }


def _log_run(story) -> str:
    """A new run holding the module's model under ``model``; returns its id."""
    import mlflow

    with mlflow.start_run(experiment_id=story["experiment_id"]) as run:
        mlflow.sklearn.log_model(
            story["model"], name="model", signature=story["signature"], pip_requirements=PIP
        )
    return run.info.run_id


def _client():
    import mlflow

    return mlflow.MlflowClient()


# ----------------------------------------------------------------------------- register


def test_log_model_with_registered_model_name_creates_version_1(uc, story):
    assert story["info"].registered_model_version == "1"  # a str over REST, as on UC
    mv = _client().get_model_version(NAME, "1")
    assert (mv.version, mv.status, mv.run_id) == ("1", "READY", story["run1"])
    assert mv.source.startswith("models:/m-")
    assert (uc.home / "uc/files/Models/main/mdk/churn_predictor/1/MLmodel").is_file()
    calls = story["v1_calls"]
    assert ("POST", f"{UC}/model-versions/create", 200) in calls
    assert ("PUT", "/api/2.0/fs/files/Models/main/mdk/churn_predictor/1/MLmodel", 204) in calls
    assert calls.index(("POST", f"{UC}/model-versions/finalize", 200)) > max(
        i for i, c in enumerate(calls) if c[0] == "PUT"
    )


def test_register_model_from_a_run_creates_version_2(uc, story):
    v2 = story["v2"]
    assert (v2.name, v2.version, v2.status) == (NAME, "2", "READY")
    assert v2.run_id == story["run2"]
    # the model already exists: UC answers 409 and MLflow goes on to create the version
    assert ("POST", f"{UC}/registered-models/create", 409) in story["v2_calls"]
    assert ("POST", f"{UC}/model-versions/finalize", 200) in story["v2_calls"]


def test_a_model_without_signature_is_refused(uc, story):
    import mlflow
    from mlflow.exceptions import MlflowException

    model, _ = _fit()
    name = f"main.mdk.unsigned_{uuid.uuid4().hex[:6]}"
    mark = uc.mark()
    with (
        mlflow.start_run(experiment_id=story["experiment_id"]),
        pytest.raises(MlflowException, match="did not contain any signature metadata"),
    ):
        mlflow.sklearn.log_model(
            model, name="model", registered_model_name=name, pip_requirements=PIP
        )
    calls = uc.calls_since(mark)
    assert ("POST", f"{UC}/registered-models/create", 200) in calls  # as on UC
    assert not [c for c in calls if c[1].startswith(f"{UC}/model-versions/")]
    assert _client().search_model_versions(f"name = '{name}'") == []


def test_a_two_level_name_is_refused(uc, story, monkeypatch):
    """The double refuses a name short of three levels, as Unity Catalog does. MLflow's client
    would first complete it from an active Spark session's current catalog and schema
    (``get_full_name_from_sc``; ``main`` locally since tables are Delta): this test asks as a
    process with no Spark session, whatever an earlier test in this worker left running."""
    import mlflow
    from mlflow.exceptions import MlflowException
    from mlflow.store._unity_catalog.registry import rest_store

    monkeypatch.setattr(rest_store, "get_full_name_from_sc", lambda name, spark: name)
    mark = uc.mark()
    with pytest.raises(MlflowException) as caught:
        mlflow.register_model(f"runs:/{story['run2']}/model", "mdk.churn_predictor")
    # UC's 400 INVALID_PARAMETER_VALUE, re-raised by MLflow with its hint (and, as against a
    # workspace, with the error code lost: MLflow passes the code's name where it wants a number)
    assert "INVALID_PARAMETER_VALUE: Bad model name" in str(caught.value)
    assert "specify all three levels" in str(caught.value)
    assert "set the Model Registry URI to 'databricks'" in caught.value.message  # MLflow's hint
    assert uc.calls_since(mark)[-1] == ("POST", f"{UC}/registered-models/create", 400)


# ----------------------------------------------------------------------------- aliases


def test_aliases_set_get_and_delete(uc, story):
    from mlflow.exceptions import MlflowException

    client = _client()
    alias = f"challenger_{uuid.uuid4().hex[:6]}"
    client.set_registered_model_alias(NAME, alias, 2)
    assert client.get_model_version_by_alias(NAME, alias).version == "2"
    assert alias in client.get_model_version(NAME, "2").aliases
    assert client.get_registered_model(NAME).aliases[alias] == "2"
    client.delete_registered_model_alias(NAME, alias)
    with pytest.raises(MlflowException) as caught:
        client.get_model_version_by_alias(NAME, alias)
    assert caught.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert alias not in client.get_registered_model(NAME).aliases


def test_an_alias_on_a_missing_version_is_refused(uc, story):
    from mlflow.exceptions import MlflowException

    with pytest.raises(MlflowException) as caught:
        _client().set_registered_model_alias(NAME, "nowhere", 99)
    assert caught.value.error_code == "RESOURCE_DOES_NOT_EXIST"


# ----------------------------------------------------------------------------- search, tags


def test_search_model_versions_by_name_and_by_run(uc, story):
    from mlflow.exceptions import MlflowException

    client = _client()
    by_name = client.search_model_versions(f"name = '{NAME}'")
    assert sorted(mv.version for mv in by_name) == ["1", "2"]
    assert {mv.status for mv in by_name} == {"READY"}
    by_run = client.search_model_versions(f"run_id = '{story['run2']}'")
    assert [(mv.name, mv.version) for mv in by_run] == [(NAME, "2")]
    with pytest.raises(MlflowException, match="Unsupported filter query"):
        client.search_model_versions(f"name LIKE '{NAME}%'")


def test_tags_and_descriptions(uc, story):
    client = _client()
    key = f"reviewed_{uuid.uuid4().hex[:6]}"
    client.set_registered_model_tag(NAME, key, "yes")
    client.update_registered_model(NAME, description="Churn classifier")
    client.set_model_version_tag(NAME, "1", key, "baseline")
    client.update_model_version(NAME, "1", description="the logistic baseline")
    model = client.get_registered_model(NAME)
    assert (model.tags[key], model.description) == ("yes", "Churn classifier")
    mv = client.get_model_version(NAME, "1")
    assert (mv.tags[key], mv.description) == ("baseline", "the logistic baseline")
    client.delete_model_version_tag(NAME, "1", key)
    client.delete_registered_model_tag(NAME, key)
    assert key not in client.get_registered_model(NAME).tags
    assert key not in client.get_model_version(NAME, "1").tags


# ----------------------------------------------------------------------------- load, UC's refusals


def test_load_by_alias_downloads_the_files_and_predicts(uc, story):
    import mlflow

    mark = uc.mark()
    loaded = mlflow.pyfunc.load_model(f"models:/{NAME}@champion")
    X = story["X"]
    np.testing.assert_array_equal(loaded.predict(X), story["model"].predict(X))
    assert loaded.metadata.signature is not None
    calls = uc.calls_since(mark)
    assert ("GET", f"{UC}/registered-models/alias", 200) in calls
    downloads = {p.rsplit("/", 1)[-1] for m, p, s in calls if m == "GET" and s == 200}
    assert {"MLmodel", "model.pkl"} <= downloads or {"MLmodel", "model.skops"} <= downloads


def test_stage_transition_is_refused_before_any_write(uc, story):
    from mlflow.exceptions import MlflowException

    mark = uc.mark()
    with pytest.raises(MlflowException, match="unsupported for models in the Unity Catalog"):
        _client().transition_model_version_stage(NAME, "1", "Production")
    # MLflow's client checks that the name is not a prompt, then its UC store refuses
    assert uc.calls_since(mark) == [("GET", f"{UC}/registered-models/get", 200)]


def test_models_latest_uri_is_refused(uc, story):
    import mlflow
    from mlflow.exceptions import MlflowException

    with pytest.raises(MlflowException, match="'get_latest_versions' is unsupported"):
        mlflow.pyfunc.load_model(f"models:/{NAME}/latest")


# ----------------------------------------------------------------------------- presigned URLs


def test_presigned_urls_when_the_client_turns_the_sdk_repository_off(uc, story, monkeypatch):
    """With the env var set to false the client asks for temporary credentials; the double
    says DEFAULT_STORAGE and the files move through its presigned URLs, both ways."""
    import mlflow

    monkeypatch.setenv("MLFLOW_USE_DATABRICKS_SDK_MODEL_ARTIFACTS_REPO_FOR_UC", "false")
    run_id = _log_run(story)
    name = f"main.mdk.presigned_{uuid.uuid4().hex[:6]}"
    mark = uc.mark()
    mv = mlflow.register_model(f"runs:/{run_id}/model", name)
    loaded = mlflow.pyfunc.load_model(f"models:/{name}/{mv.version}")
    np.testing.assert_array_equal(loaded.predict(story["X"]), story["model"].predict(story["X"]))
    calls = uc.calls_since(mark)
    assert ("POST", f"{UC}/model-versions/generate-temporary-credentials", 200) in calls
    assert any(m == "PUT" and p.startswith("/mdk/presigned/Models/") for m, p, _ in calls)
    assert any(m == "GET" and p.startswith("/mdk/presigned/Models/") for m, p, _ in calls)
    sdk_calls = [c for c in calls if "is-databricks-sdk" in c[1] or "/fs/files/" in c[1]]
    assert sdk_calls == []


def test_registering_from_a_run_keeps_the_runs_model(uc, story):
    """register_model("runs:/...") to Unity Catalog downloads the logged model and deletes
    what it downloaded. The double's tracking server keeps run artifacts behind the double
    (not in a file:// root, where that download is the logged model's own folder), so the
    logged model stays whole and can be registered again."""
    import mlflow

    run_id = _log_run(story)
    (logged,) = mlflow.search_logged_models(
        experiment_ids=[story["experiment_id"]],
        filter_string=f"source_run_id = '{run_id}'",
        output_format="list",
    )
    assert logged.artifact_location.startswith(f"{uc.url}/mdk/run-artifacts/api/2.0/")
    stored = logged.artifact_location.split("/mlflow-artifacts/artifacts/", 1)[1]
    folder = uc.artifacts / stored
    before = sorted(p.name for p in folder.iterdir())
    assert "MLmodel" in before
    first = mlflow.register_model(f"runs:/{run_id}/model", f"main.mdk.kept_{uuid.uuid4().hex[:6]}")
    assert sorted(p.name for p in folder.iterdir()) == before
    again = mlflow.register_model(f"runs:/{run_id}/model", first.name)
    assert (first.version, again.version) == ("1", "2")


def test_the_databricks_sdk_files_api_reads_a_version(uc, story):
    """The real databricks-sdk lists and downloads a version's files; the plain Files API
    GET (the SDK's fallback after presigned URLs) answers the same bytes."""
    from databricks.sdk import WorkspaceClient

    folder = "/Models/main/mdk/churn_predictor/1"
    on_disk = (uc.home / "uc/files" / folder.lstrip("/") / "MLmodel").read_bytes()
    w = WorkspaceClient()
    names = {e.name for e in w.files.list_directory_contents(folder)}
    assert {"MLmodel", "requirements.txt"} <= names
    assert w.files.download(f"{folder}/MLmodel").contents.read() == on_disk
    plain = requests.get(
        f"{uc.url}/api/2.0/fs/files{folder}/MLmodel",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert (plain.status_code, plain.content) == (200, on_disk)
    assert w.files.get_metadata(f"{folder}/MLmodel").content_length == len(on_disk)


# ----------------------------------------------------------------------------- raw REST errors


def test_errors_are_databricks_json_with_one_line_messages(uc, story):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    answers = [
        requests.get(f"{uc.url}{UC}/registered-models/get", params={"name": NAME}),
        requests.get(
            f"{uc.url}{UC}/registered-models/get", params={"name": "main.mdk.none"}, headers=auth
        ),
        requests.put(
            f"{uc.url}/api/2.0/fs/files/Models/main/mdk/churn_predictor/1/MLmodel",
            data=b"x",
            headers=auth,
        ),
        requests.get(
            f"{uc.url}/mdk/presigned/Models/main/mdk/churn_predictor/1/MLmodel",
            params={"op": "read", "expires": "9999999999", "sig": "0" * 64},
        ),
        requests.get(
            f"{uc.url}{UC}/model-versions/search", params={"filter": "name = 'x'"}, headers=auth
        ),
    ]
    got = [(r.status_code, r.json()["error_code"]) for r in answers]
    assert got == [
        (401, "UNAUTHENTICATED"),
        (404, "RESOURCE_DOES_NOT_EXIST"),
        (403, "PERMISSION_DENIED"),  # a finalized version's files are read-only
        (403, "PERMISSION_DENIED"),  # a forged presigned URL
        (400, "INVALID_PARAMETER_VALUE"),  # a one-level name
    ]
    for r in answers:
        assert r.json()["message"] and "\n" not in r.json()["message"]
    assert (uc.home / "uc/files/Models/main/mdk/churn_predictor/1/MLmodel").read_bytes() != b"x"
