"""``params`` end to end: checked as pyfunc checks them, batched apart, applied by the model.

In process: the front's check (:mod:`recipes.endpoint.params_schema`) against MLflow's own
``_enforce_params_schema`` value by value; an entity batching only requests with equal
params; the sklearn fast path only without params. Then one real endpoint process for the
module, serving :mod:`recipes.threshold_model` (logged over churn-predictor v1 into a copy
of the session's store), queried through the official ``WorkspaceClient`` in the four input
formats with two thresholds, against ``pyfunc.load_model(uri).predict(df, params=...)``.

The SDK's ``serving_endpoints.query`` has no ``params`` argument (databricks-sdk 0.167:
``extra_params`` is for external and foundation models only), so a request with ``params``
goes through the same client's ``api_client.do`` to ``/serving-endpoints/{name}/invocations``,
the call ``query`` makes.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import re
import shutil

import pytest
from openapi_spec_validator import validate

from recipes.data import FEATURES, make_churn
from recipes.endpoint.config import EntitySpec
from recipes.endpoint.entity import Entity
from recipes.endpoint.params_schema import ParamsSchema, enforce_params
from recipes.errors import ApiError
from recipes.formats import FORMATS, Invocation, encode
from tests.endpoint.fakes import dbx, parse, request_schema
from tests.endpoint.inproc import InprocPool, stub_model
from tests.endpoint.server import RECORD, Server

THRESHOLD_MODEL = "churn-threshold"
LOW, HIGH = 0.2, 0.8


# -- the front's check, against MLflow's -----------------------------------------------------
SPECS = [
    ("d", "double", 0.5, None),
    ("f", "float", 0.5, None),
    ("l", "long", 3, None),
    ("i", "integer", 3, None),
    ("b", "boolean", True, None),
    ("s", "string", "x", None),
    ("t", "datetime", datetime.datetime(2026, 1, 31), None),
    ("ds", "double", [1.0], (-1,)),
    ("ls", "long", [1], (-1,)),
]
VALUES = [
    0.7,
    1,
    -3,
    10**20,
    True,
    False,
    "0.7",
    "",
    "2026-02-01",
    "2026-02-01T10:00:00",
    "yesterday",
    None,
    [0.7],
    [1, 2],
    [1.5, None],
    [[1]],
    [True],
    {"a": 1},
]


def _mlflow_schema():
    from mlflow.types.schema import ParamSchema, ParamSpec

    return ParamSchema([ParamSpec(n, t, d, s) for n, t, d, s in SPECS])


def test_the_front_enforces_params_exactly_as_mlflow_does():
    """Each declared type with each JSON value: MLflow's ``_enforce_params_schema`` and the
    front refuse the same values, and agree on what the model gets (defaults included)."""
    from mlflow.exceptions import MlflowException
    from mlflow.models.utils import _enforce_params_schema

    ours = ParamsSchema.from_signature({"params": _mlflow_schema().to_json()})
    theirs = _mlflow_schema()
    for name, kind, *_ in SPECS:
        for value in VALUES:
            try:
                want = _enforce_params_schema({name: value}, theirs)
            except MlflowException:
                want = "refused"
            try:
                got = enforce_params(ours, {name: value})[0]
            except ApiError as exc:
                assert (exc.status, exc.error_code) == (400, "BAD_REQUEST")
                assert f"{name!r} expects" in exc.message, exc.message
                got = "refused"
            assert got == want, (kind, value)
            if got != "refused":  # the types too: 1 becomes 1.0 for a double, as in MLflow
                assert {k: type(v) for k, v in got.items()} == {
                    k: type(v) for k, v in want.items()
                }, (kind, value)


def test_defaults_unknown_names_and_models_without_a_schema():
    schema = ParamsSchema.from_signature({"params": _mlflow_schema().to_json()})
    params, warning = enforce_params(schema, None)
    assert params["d"] == 0.5 and params["t"] == datetime.datetime(2026, 1, 31) and not warning
    params, warning = enforce_params(schema, {"d": 1, "nope": 2})
    assert params["d"] == 1.0 and "nope" not in params
    assert warning.startswith("Unrecognized params ['nope'] are ignored for inference.")
    assert enforce_params(None, None) == (None, "") and enforce_params(None, {}) == (None, "")
    params, warning = enforce_params(None, {"d": 1})
    assert params is None and "does not define a params schema" in warning and "['d']" in warning
    with pytest.raises(ApiError) as err:
        enforce_params(schema, {"d": "high", "l": 1.5, "b": 1})
    for name in ("'d'", "'l'", "'b'"):
        assert name in err.value.message
    assert ParamsSchema.from_signature(None) is None
    assert ParamsSchema.from_signature({"inputs": "[]", "params": None}) is None


# -- one entity in process: batches, fast path -----------------------------------------------
def _echo_threshold(frame, params):
    return [params["threshold"]] * len(frame)


def test_a_batch_holds_only_requests_with_equal_params(tmp_path):
    """Six requests queued at once: three batches, one per distinct params (no params and
    the default are equal once filled in), each answer from its own params."""
    model = stub_model(params={"threshold": 0.5}, answer=_echo_threshold)
    sent = [
        {"threshold": 0.3},
        {"threshold": 0.7},
        None,
        {"threshold": 0.3},
        {"threshold": 0.5},
        {"threshold": 0.7, "unknown": 1},
    ]

    async def run():
        pool = InprocPool({"models:/m/1": model}, tmp_path)
        ent = Entity(
            EntitySpec("e", "m", "1"), endpoint="ep", pool=pool, log_path=tmp_path / "e.log"
        )
        await ent.start()
        invs = [
            ent.conform(Invocation(list(FEATURES), [[1, 2, 3]] * (i + 1), p))
            for i, p in enumerate(sent)
        ]
        try:
            return await asyncio.gather(*(ent.predict(inv, 10) for inv in invs)), ent.stats
        finally:
            await ent.stop(drain_timeout=1)
            await pool.close()

    answers, stats = asyncio.run(run())
    expected = [0.3, 0.7, 0.5, 0.3, 0.5, 0.7]
    assert answers == [[t] * (i + 1) for i, t in enumerate(expected)]
    assert stats.batches == 3
    assert model.stub.calls == [
        (1 + 4, {"threshold": 0.3}),
        (2 + 6, {"threshold": 0.7}),
        (3 + 5, {"threshold": 0.5}),
    ]
    assert "Unrecognized params ['unknown']" in (tmp_path / "e.log").read_text()


def test_an_undeclared_column_is_dropped_with_mlflows_warning_in_the_log(tmp_path):
    """As pyfunc's schema enforcement: a column the signature does not declare is ignored,
    and the entity's log says so in MLflow's words; a request with only the model's
    columns logs nothing."""
    model = stub_model(params={"threshold": 0.5}, answer=_echo_threshold)

    async def run():
        pool = InprocPool({"models:/m/1": model}, tmp_path)
        ent = Entity(
            EntitySpec("e", "m", "1"), endpoint="ep", pool=pool, log_path=tmp_path / "e.log"
        )
        await ent.start()
        try:
            plain = ent.conform(Invocation(list(FEATURES), [[1, 2, 3]]))
            logged_before = (
                (tmp_path / "e.log").read_text() if (tmp_path / "e.log").exists() else ""
            )
            extra = ent.conform(Invocation([*FEATURES, "threshold"], [[1, 2, 3, 0.9]]))
            return plain, extra, logged_before
        finally:
            await ent.stop(drain_timeout=1)
            await pool.close()

    plain, extra, before = asyncio.run(run())
    assert plain.columns == extra.columns == list(FEATURES) and extra.rows == [[1, 2, 3]]
    assert "extra inputs" not in before
    assert (
        "Found extra inputs in the model input that are not defined in the model signature: "
        "`['threshold']`. These inputs will be ignored."
    ) in (tmp_path / "e.log").read_text()


def test_the_sklearn_fast_path_runs_only_without_params(tmp_path):
    import mlflow.pyfunc
    import mlflow.sklearn

    from recipes.endpoint.worker import prepare
    from recipes.train import fit, requirements, signature

    path = tmp_path / "model"
    mlflow.sklearn.save_model(
        fit(make_churn(300, 0)), path, signature=signature(), pip_requirements=requirements()
    )
    predictor, hello = prepare(mlflow.pyfunc.load_model(str(path)))
    assert hello["fast_path"] and hello["signature"]["params"] is None
    kernel, calls = predictor.kernel or predictor.estimator.predict, []

    def spy(X):
        calls.append(len(X))
        return kernel(X)

    predictor.kernel = spy
    rows = make_churn(5, 1)[list(FEATURES)].values.tolist()
    plain = predictor.predict([Invocation(list(FEATURES), rows)])
    with_params = predictor.predict([Invocation(list(FEATURES), rows, {"k": 1})])
    assert calls == [5]  # the second went through pyfunc.predict(df, params=...)
    assert plain == with_params and plain[0][0] == "ok"


# -- the threshold model, logged into a copy of the session's store --------------------------
@pytest.fixture(scope="module")
def threshold_store(tmp_path_factory, _trained_store):
    """``(store, model)``: a copy of the session's store with churn-threshold v1 (over
    churn-predictor v1) in an experiment of its own, and that version loaded by pyfunc."""
    import mlflow
    from mlflow import MlflowClient

    from recipes.target import reset_mlflow_uris, scoped_env
    from recipes.threshold_model import log_threshold_model
    from tests.homes import local_env

    store = tmp_path_factory.mktemp("params-store")
    shutil.copy(_trained_store / "mlflow.db", store / "mlflow.db")
    uri = f"sqlite:///{store / 'mlflow.db'}"
    with scoped_env(**local_env(store)):
        mlflow.set_tracking_uri(uri)
        try:
            exp = MlflowClient(uri).create_experiment(
                "params", artifact_location=(store / "mlartifacts").as_uri()
            )
            with mlflow.start_run(experiment_id=exp):
                info = log_threshold_model(registered_model_name=THRESHOLD_MODEL)
            model = mlflow.pyfunc.load_model(f"models:/{THRESHOLD_MODEL}/1")
        finally:
            reset_mlflow_uris()
    assert info.registered_model_version == 1
    return store, model


def _rows() -> list[dict]:
    return make_churn(40, 5)[list(FEATURES)].to_dict(orient="records")


def test_the_threshold_model_applies_its_param(threshold_store):
    import mlflow
    import pandas as pd

    _, model = threshold_store
    params = model.metadata.get_params_schema().params
    assert [(p.name, p.dtype.name, p.default) for p in params] == [("threshold", "double", 0.5)]
    frame = pd.DataFrame(_rows())
    low, high = (model.predict(frame, params={"threshold": t}).tolist() for t in (LOW, HIGH))
    assert low != high and sum(low) > sum(high) and set(low) | set(high) <= {0, 1}
    assert model.predict(frame).tolist() == model.predict(frame, params={"threshold": 0.5}).tolist()
    with pytest.raises(mlflow.MlflowException, match="threshold"):
        model.predict(frame, params={"threshold": "high"})


def test_log_threshold_model_refuses_a_threshold_that_is_no_number():
    from recipes.errors import ParameterError
    from recipes.threshold_model import log_threshold_model

    with pytest.raises(ParameterError, match="threshold must be a number"):
        log_threshold_model(threshold="0.5")


# -- one real endpoint process, through the official SDK -------------------------------------
@pytest.fixture(scope="module")
def served(tmp_path_factory, threshold_store):
    """``(server, endpoint name, served entity name)``: a real endpoint process over the
    store, serving churn-threshold v1."""
    store, _ = threshold_store
    home = tmp_path_factory.mktemp("params-serving") / "mdk"
    home.mkdir()
    srv = Server(home, store)
    srv.start()
    try:
        name = "params"
        entity = {
            "name": "th",
            "entity_name": THRESHOLD_MODEL,
            "entity_version": "1",
            "workload_size": "Small",
            "scale_to_zero_enabled": False,
        }
        srv.create(name, {"served_entities": [entity]})
        srv.wait_ready(name)
        yield srv, name, "th"
    finally:
        srv.stop()


def _client(srv):
    from databricks.sdk import WorkspaceClient

    return WorkspaceClient(host=srv.url, token=srv.token)


def _query(w, name: str, body: dict) -> list:
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    out = w.api_client.do(
        "POST", f"/serving-endpoints/{name}/invocations", body=body, headers=headers
    )
    return out["predictions"]


def test_the_threshold_reaches_the_model_in_all_four_formats(served, threshold_store):
    import pandas as pd
    from databricks.sdk.service.serving import DataframeSplitInput

    srv, name, _ = served
    _, model = threshold_store
    w = _client(srv)
    rows = _rows()
    frame = pd.DataFrame(rows)
    want = {t: model.predict(frame, params={"threshold": t}).tolist() for t in (LOW, HIGH, 0.5)}
    assert want[LOW] != want[HIGH]
    for fmt in FORMATS:
        for t in (LOW, HIGH):
            body = encode(rows, fmt, params={"threshold": t})
            assert _query(w, name, body) == want[t], (fmt, t)
    # without params, the SDK's own query: the schema's default, 0.5
    split = DataframeSplitInput(columns=list(FEATURES), data=[list(r.values()) for r in rows])
    for kwargs in (
        {"dataframe_records": rows},
        {"dataframe_split": split},
        {"instances": rows},
        {"inputs": encode(rows, "inputs")["inputs"]},
    ):
        assert w.serving_endpoints.query(name, **kwargs).predictions == want[0.5], kwargs


def test_a_wrong_param_type_is_a_400_naming_it(served):
    from databricks.sdk.errors import BadRequest

    srv, name, _ = served
    w = _client(srv)
    body = encode(_rows()[:2], "dataframe_records", params={"threshold": "high"})
    with pytest.raises(BadRequest) as err:
        _query(w, name, body)
    assert err.value.error_code == "BAD_REQUEST"
    assert "'threshold' expects a double, got 'high'" in str(err.value)


def test_an_unknown_param_is_ignored_with_a_warning_in_the_logs(served, threshold_store):
    import pandas as pd

    srv, name, entity = served
    _, model = threshold_store
    w = _client(srv)
    rows = _rows()
    body = encode(rows, "dataframe_records", params={"threshold": LOW, "treshold": HIGH})
    assert (
        _query(w, name, body)
        == model.predict(pd.DataFrame(rows), params={"threshold": LOW}).tolist()
    )
    logs = w.serving_endpoints.logs(name, entity).logs
    assert "Unrecognized params ['treshold'] are ignored for inference." in logs


# -- export_metrics and get_open_api of that endpoint, through the SDK ---------------------
def test_sdk_sees_databricks_metrics_and_a_valid_openapi(served):
    from databricks.sdk.service.serving import EndpointCoreConfigInput, ServedEntityInput

    srv = served[0]
    w = srv.client()
    name = "openapi-metrics"
    entity = ServedEntityInput(
        name="th",
        entity_name=THRESHOLD_MODEL,
        entity_version="1",
        workload_size="Small",
        scale_to_zero_enabled=False,
    )
    w.serving_endpoints.create_and_wait(
        name=name, config=EndpointCoreConfigInput(name=name, served_entities=[entity])
    )
    sent_ok = 5
    for i in range(sent_ok):
        body = encode([RECORD], "dataframe_records", params={"threshold": 0.1 * i})
        assert srv.invoke(name, body).status_code == 200
    refused = [{"dataframe_records": [{}]}, {"nope": 1}]  # a missing column, an unknown key
    for body in refused:
        assert srv.invoke(name, body).status_code == 400
    sent_4xx = len(refused)

    text = w.serving_endpoints.export_metrics(name).contents.read().decode()
    types, s = parse(text)
    assert types["request_count_total"] == "gauge" and types["request_latency_ms"] == "histogram"
    assert s[("request_count_total", dbx(name, "th"))] == sent_ok + sent_4xx
    assert s[("request_4xx_count_total", dbx(name, "th"))] == sent_4xx
    assert s[("request_5xx_count_total", dbx(name, "th"))] == 0
    assert s[("request_latency_ms_count", dbx(name, "th"))] == sent_ok + sent_4xx
    assert s[("request_latency_ms_bucket", dbx(name, "th", le="+Inf"))] == sent_ok + sent_4xx
    assert 0 <= s[("cpu_usage_percentage", dbx(name, "th"))] <= 100
    assert 0 < s[("mem_usage_percentage", dbx(name, "th"))] < 100
    own = frozenset({"endpoint": name, "served_entity": "th", "status": "200"}.items())
    assert s[("mdk_requests_total", own)] == sent_ok

    raw = w.serving_endpoints.get_open_api(name).contents.read()
    doc = json.loads(raw)
    validate(doc)
    path = f"/serving-endpoints/{name}/served-models/th/invocations"
    assert path in doc["paths"] and f"/serving-endpoints/{name}/invocations" in doc["paths"]
    req = request_schema(doc, path)
    assert set(req["properties"]["dataframe_records"]["items"]["properties"]) == set(FEATURES)
    assert req["properties"]["params"]["properties"]["threshold"]["default"] == 0.5
    assert re.fullmatch(r"3\.\d\.\d", doc["openapi"])
