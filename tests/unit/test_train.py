"""recipes.train: the logged churn model takes the seed's integer record in every path.

Its signature declares the three features ``long``. Paths: ``pyfunc.predict`` on a pandas
frame, ``spark_udf`` on bigint Spark columns, and the real MLflow scoring server (FastAPI)
over HTTP. A float (even a whole one) or a string for a feature is refused by pyfunc and
``spark_udf``, naming the column; MLflow's scoring server casts JSON to the signature's
types first, so there ``320.9`` becomes ``320``.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from recipes import formats, stack
from recipes.data import FEATURES, LABEL, make_churn, seed_record
from recipes.errors import ParameterError
from recipes.train import REQUIRED, fit, requirements, signature, train_and_log

MODEL_URI = "models:/churn-predictor/2"  # the challenger (trees) in the shared `trained` store

# The seed's integer record, plus a customer who clearly churns (so both classes appear).
INT_RECORDS = [
    seed_record(),
    {"total_purchases": 1, "avg_session_duration": 60, "days_since_last_visit": 70},
    {"total_purchases": 30, "avg_session_duration": 500, "days_since_last_visit": 0},
]
FLOAT_RECORDS = [{k: float(v) for k, v in r.items()} for r in INT_RECORDS]
# what pyfunc refuses in a long column: floats (whole or not), strings, booleans, nulls
REFUSED = {320.5: "float64", 320.0: "float64", "320": "object", True: "bool", None: "object"}


def _raw_predictions(model_uri: str, records) -> list[int]:
    """The sklearn pipeline itself on float64 input: no MLflow schema enforcement."""
    model = mlflow.sklearn.load_model(model_uri)
    frame = pd.DataFrame(records, dtype="float64")[list(FEATURES)]
    return [int(p) for p in model.predict(frame)]


@pytest.fixture
def expected(trained) -> list[int]:
    preds = _raw_predictions(MODEL_URI, FLOAT_RECORDS)
    assert preds[0] == 0 and preds[1] == 1  # the seed customer stays, the other churns
    return preds


def test_the_signature_declares_long_features_and_a_long_prediction():
    sig = signature()
    assert [(c.name, c.type.name) for c in sig.inputs.inputs] == [(f, "long") for f in FEATURES]
    assert [c.type.name for c in sig.outputs.inputs] == ["long"]


# --------------------------------------------------------------------------- pyfunc


def _pyfunc(uri: str, records: list[dict]) -> list:
    return np.asarray(mlflow.pyfunc.load_model(uri).predict(pd.DataFrame(records))).tolist()


def test_pyfunc_accepts_int_records(trained, expected):
    model = mlflow.pyfunc.load_model(MODEL_URI)
    ints = pd.DataFrame(INT_RECORDS)
    assert all(str(t) == "int64" for t in ints.dtypes)  # what the seed's JSON becomes
    out = np.asarray(model.predict(ints))
    assert out.tolist() == expected and np.issubdtype(out.dtype, np.integer)
    assert model.predict(pd.DataFrame([seed_record()])).tolist() == [expected[0]]
    int32 = ints.astype("int32")  # a narrower integer column is upcast, as MLflow documents
    assert np.asarray(model.predict(int32)).tolist() == expected


@pytest.mark.parametrize("value", list(REFUSED), ids=[repr(v) for v in REFUSED])
def test_pyfunc_refuses_a_non_integer_naming_the_column(trained, value):
    model = mlflow.pyfunc.load_model(MODEL_URI)
    frame = pd.DataFrame([{**seed_record(), "avg_session_duration": value}])
    with pytest.raises(mlflow.MlflowException) as err:
        model.predict(frame)
    assert (
        "Incompatible input types for column avg_session_duration. "
        f"Can not safely convert {REFUSED[value]} to int64."
    ) in str(err.value)


def test_pyfunc_accepts_the_training_data_dtypes(trained):
    data = make_churn(200, seed=5)  # int64 features, as trained
    out = mlflow.pyfunc.load_model(MODEL_URI).predict(data[list(FEATURES)])
    assert np.asarray(out).tolist() == _raw_predictions(MODEL_URI, data[list(FEATURES)])


# --------------------------------------------------------------------------- spark_udf


@pytest.mark.spark
def test_spark_udf_takes_bigint_columns_and_refuses_double(spark, trained, expected):
    from pyspark.sql.types import DoubleType, LongType

    udf = mlflow.pyfunc.spark_udf(spark, model_uri=MODEL_URI, env_manager="local")
    pdf = pd.DataFrame(INT_RECORDS).assign(row=range(len(INT_RECORDS)))
    df = spark.createDataFrame(pdf).coalesce(1)  # one task: one worker loads the model
    assert {df.schema[c].dataType for c in FEATURES} == {LongType()}
    out = df.withColumn("prediction", udf(*FEATURES))
    assert out.schema["prediction"].dataType == LongType()  # from the signature
    assert [r.prediction for r in out.orderBy("row").select("prediction").collect()] == expected
    doubles = df.withColumn("avg_session_duration", df["avg_session_duration"].cast("double"))
    assert doubles.schema["avg_session_duration"].dataType == DoubleType()
    with pytest.raises(Exception) as err:
        doubles.withColumn("prediction", udf(*FEATURES)).collect()
    assert "Incompatible input types for column avg_session_duration" in str(err.value)


# --------------------------------------------------------------------------- REST


@pytest.fixture
def scoring_server(trained, monkeypatch):
    """MLflow's own scoring app for MODEL_URI on uvicorn, in a thread on a loopback port."""
    import uvicorn
    from mlflow.pyfunc import scoring_server as ss

    # init() marks the process as a serving environment; let monkeypatch undo that.
    monkeypatch.delenv("_MLFLOW_IS_IN_SERVING_ENVIRONMENT", raising=False)
    app = ss.init(mlflow.pyfunc.load_model(MODEL_URI))
    port = stack.free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "scoring server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    assert not thread.is_alive()


def test_rest_scoring_server_takes_ints_and_casts_floats(scoring_server, expected):
    """MLflow's scoring server casts each JSON column to the signature's type (``astype``)
    before ``predict``: whole floats pass, and a fractional value is truncated, not refused
    as ``pyfunc.predict`` refuses it (the kit's endpoint follows ``pyfunc.predict``)."""
    import requests

    url = f"{scoring_server}/invocations"
    for records in (INT_RECORDS, FLOAT_RECORDS):
        for fmt in ("dataframe_records", "dataframe_split"):
            resp = requests.post(url, json=formats.encode(records, fmt), timeout=30)
            assert resp.status_code == 200, resp.text
            assert resp.json() == {"predictions": expected}
    # more than 21 days since the last visit is lapsed: 21 stays, 22 (and 21.9) churn
    recent = {"total_purchases": 5, "avg_session_duration": 400, "days_since_last_visit": 21}
    fractional = {**recent, "days_since_last_visit": 21.9}
    assert _raw_predictions(MODEL_URI, [recent, fractional]) == [0, 1]
    got = requests.post(url, json={"dataframe_records": [recent, fractional]}, timeout=30)
    assert got.status_code == 200, got.text
    assert got.json()["predictions"] == [0, 0]  # 21.9 was read as 21
    # A schema error is the caller's fault: 4xx, never 5xx.
    bad = [{"total_purchases": 15, "avg_session_duration": 320}]
    resp = requests.post(url, json={"dataframe_records": bad}, timeout=30)
    assert 400 <= resp.status_code < 500, resp.text
    assert "days_since_last_visit" in resp.text


# --------------------------------------------------------------------------- train_and_log


def test_train_and_log_result_and_register(mlflow_local):
    result = train_and_log(400, seed=3, C=0.5, registered_model_name="churn-logged")
    assert result.version == 1 and isinstance(result.version, int)
    assert result.model_uri == f"runs:/{result.run_id}/model"
    assert result.logged_model_uri.startswith("models:/m-")
    run = mlflow.get_run(result.run_id)
    assert run.data.metrics == result.metrics
    assert {"accuracy", "precision", "recall", "f1", "roc_auc"} <= set(result.metrics)
    assert result.metrics["roc_auc"] > 0.6  # it learned the rule, not noise
    assert run.data.params["C"] == "0.5" and run.data.params["n_rows"] == "400"

    mv = mlflow.register_model(result.model_uri, "churn-from-run")
    assert int(mv.version) == 1
    preds = _pyfunc("models:/churn-from-run/1", [seed_record()])
    assert preds == _pyfunc("models:/churn-logged/1", [seed_record()])
    assert preds[0] in (0, 1)


def test_trained_store_versions_are_ints(trained):
    versions = mlflow.MlflowClient().search_model_versions(f"name='{trained}'")
    assert sorted(int(v.version) for v in versions) == [1, 2]
    assert all(isinstance(v.version, int) for v in versions)


# --------------------------------------------------------------------------- fit


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    return make_churn(200, seed=1)


@pytest.mark.parametrize("C", [0, -1.0])
def test_fit_rejects_a_non_positive_c(small, C):
    with pytest.raises(ParameterError, match="C must be > 0"):
        fit(small, C=C)


@pytest.mark.parametrize("missing", [LABEL, "total_purchases"])
def test_fit_rejects_missing_columns(small, missing):
    with pytest.raises(ParameterError, match=missing):
        fit(small.drop(columns=[missing]))


def test_fit_rejects_an_unknown_kind(small):
    with pytest.raises(ParameterError, match="Unknown model kind 'forest'.*baseline, challenger"):
        fit(small, kind="forest")


def test_the_challenger_beats_the_baseline_by_8_points_and_005_roc_auc_on_held_out_rows():
    """The story's gap, measured as 01 measures it: held-out rows of the training data, and
    2,000 fresh rows."""
    from recipes.data import split
    from recipes.train import held_out_metrics

    train, test = split(make_churn(5000, 0), seed=0)
    fresh = make_churn(2000, seed=12345, id_offset=5_000_000)
    v1, v2 = fit(train, kind="baseline"), fit(train, kind="challenger")
    for rows in (test, fresh):
        m1, m2 = held_out_metrics(v1, rows), held_out_metrics(v2, rows)
        assert m2["accuracy"] - m1["accuracy"] >= 0.08, (m1, m2)
        assert m2["roc_auc"] - m1["roc_auc"] >= 0.05, (m1, m2)


def test_the_challenger_is_logged_with_its_trusted_tree_type_and_loads(mlflow_local):
    result = train_and_log(400, seed=3, kind="challenger", registered_model_name="churn-trees")
    flavor = mlflow.models.get_model_info(result.logged_model_uri).flavors["sklearn"]
    assert flavor["skops_trusted_types"] == [
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"
    ]
    assert mlflow.get_run(result.run_id).data.params["kind"] == "challenger"
    assert _pyfunc("models:/churn-trees/1", INT_RECORDS)[1] == 1  # the lapsed customer churns


def test_fit_learns(small):
    model = fit(small, C=1.0)
    assert set(model.predict(small[list(FEATURES)])) == {0, 1}


# what the inference finds only because this is a pytest process, not because a model needs it
_TEST_PROCESS_IMPORTS = {"pytest", "rich", "psutil", "pluggy", "iniconfig", "packaging"}


@pytest.mark.slow
def test_the_pinned_requirements_are_what_inference_finds_without_the_test_tooling(mlflow_local):
    from mlflow.utils.requirements_utils import _infer_requirements
    from packaging.requirements import Requirement

    result = train_and_log(400, seed=3, kind="challenger")
    logged = mlflow.pyfunc.get_model_dependencies(result.logged_model_uri)
    assert Path(logged).read_text().split() == requirements()
    inferred = {
        Requirement(r).name for r in _infer_requirements(result.logged_model_uri, "sklearn")
    }
    assert (inferred | {"mlflow"}) - _TEST_PROCESS_IMPORTS == set(REQUIRED)  # log_model adds mlflow
    assert all(r.count("==") == 1 for r in requirements())  # pinned to this environment
