"""``get_open_api``: the endpoint's OpenAPI document, made from the served models' signatures.

In process: ``openapi.document`` from real ``ModelSignature``s (validated with
openapi-spec-validator, and real request bodies checked against it), and the route through
Starlette's TestClient. One real server, through ``WorkspaceClient``: ``export_metrics``
counts what was sent and ``get_open_api`` validates and names the model's columns and params.
"""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from recipes import formats
from recipes.data import FEATURES
from recipes.endpoint import openapi
from recipes.errors import ApiError
from tests.serving.conftest import RECORD, Server
from tests.serving.fakes import app_client, dbx, fake_endpoint, fake_entity, parse

PARAMS = {"threshold": 0.5, "top_k": 3, "mode": "fast", "weights": [1.0, 2.0]}


def churn_signature(params: dict | None = PARAMS, **extra_columns) -> dict:
    """churn-predictor's inputs (three ``long``s, and ``extra_columns``), a long output."""
    from mlflow.models import infer_signature

    frame = pd.DataFrame({**{f: [1, 2] for f in FEATURES}, **extra_columns})
    return infer_signature(frame, np.array([0, 1]), params=params).to_dict()


def request_schema(doc: dict, path: str) -> dict:
    return doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]


def checker(doc: dict, path: str) -> OAS30Validator:
    return OAS30Validator(request_schema(doc, path))


@pytest.fixture(scope="module")
def signed():
    return churn_signature(segment=["a", "b"], spend=[1.5, 2.5])


def test_document_validates_and_names_columns_params_and_predictions(signed):
    doc = openapi.document("ep", {"champion": signed}, (("champion", 100),))
    validate(doc)  # OpenAPI 3.0 (openapi-spec-validator)
    assert doc["openapi"].startswith("3.") and "servers" not in doc  # the document's own host
    assert set(doc["paths"]) == {
        "/serving-endpoints/ep/invocations",
        "/serving-endpoints/ep/served-models/champion/invocations",
    }
    req = request_schema(doc, "/serving-endpoints/ep/served-models/champion/invocations")
    assert set(req["properties"]) == {*formats.FORMATS, "params", "client_request_id"}
    record = req["properties"]["dataframe_records"]["items"]
    assert record["properties"] == {
        **{f: {"type": "integer", "format": "int64"} for f in FEATURES},
        "segment": {"type": "string"},
        "spend": {"type": "number", "format": "double"},
    }
    assert set(record["required"]) == {*FEATURES, "segment", "spend"}
    split = req["properties"]["dataframe_split"]["properties"]["columns"]["items"]
    assert split["enum"] == [*FEATURES, "segment", "spend"]
    params = req["properties"]["params"]["properties"]
    assert params == {
        "threshold": {"type": "number", "format": "double", "default": 0.5},
        "top_k": {"type": "integer", "format": "int64", "default": 3},
        "mode": {"type": "string", "default": "fast"},
        "weights": {"type": "array", "items": {"type": "number", "format": "double"},
                    "default": [1.0, 2.0]},
    }  # fmt: skip
    ok = doc["paths"]["/serving-endpoints/ep/invocations"]["post"]["responses"]["200"]
    predictions = ok["content"]["application/json"]["schema"]["properties"]["predictions"]
    assert predictions == {"type": "array", "items": {"type": "integer", "format": "int64"}}
    assert "served-model-name" in ok["headers"]


def test_request_schema_takes_what_the_endpoint_parses(signed):
    """Every body the data plane parses validates, and what it refuses does not."""
    doc = openapi.document("ep", {"champion": signed}, (("champion", 100),))
    v = checker(doc, "/serving-endpoints/ep/invocations")
    row = {**RECORD, "segment": "a", "spend": 1.5}
    cols = list(row)
    good = [
        {"dataframe_records": [row], "params": {"threshold": 0.9}},
        {"dataframe_split": {"columns": cols, "data": [list(row.values())]}},
        {"instances": [row], "client_request_id": "abc"},
        {"inputs": {k: [v] for k, v in row.items()}, "params": {"top_k": 5}},
        {"inputs": row},  # one value per column: one row
    ]
    for body in good:
        formats.parse(body)  # the endpoint's own parser takes it
        assert v.is_valid(body), (body, list(v.iter_errors(body)))
    bad = [
        {"dataframe_records": [row], "instances": [row]},  # two formats
        {"params": {"threshold": 0.9}},  # no format
        {"dataframe_records": [row], "extra": 1},  # a key the endpoint refuses
        {"dataframe_records": []},  # no rows
        {"dataframe_records": [{k: v for k, v in row.items() if k != "spend"}]},
        {"dataframe_records": [{**row, "total_purchases": "many"}]},
        {"dataframe_records": [row], "params": {"threshold": "high"}},
        {"dataframe_records": [row], "client_request_id": 7},
    ]
    for body in bad:
        assert not v.is_valid(body), body
    op = doc["paths"]["/serving-endpoints/ep/invocations"]["post"]
    for example in op["requestBody"]["content"]["application/json"]["examples"].values():
        assert v.is_valid(example["value"])
        formats.parse(example["value"])


def test_entities_with_different_signatures_and_none():
    a = churn_signature(params={"threshold": 0.5})
    b = churn_signature(params=None)
    doc = openapi.document("ab", {"a": a, "b": b, "c": None}, (("a", 50), ("b", 50), ("c", 0)))
    validate(doc)
    top = request_schema(doc, "/serving-endpoints/ab/invocations")
    assert len(top["anyOf"]) == 2  # the two entities with traffic; c has none
    assert "threshold" in json.dumps(top["anyOf"][0]) and "threshold" not in json.dumps(
        top["anyOf"][1]["properties"]["params"]
    )
    untyped = request_schema(doc, "/serving-endpoints/ab/served-models/c/invocations")
    assert untyped["properties"]["dataframe_records"]["items"]["properties"] == {}
    v = checker(doc, "/serving-endpoints/ab/served-models/c/invocations")
    assert v.is_valid({"dataframe_records": [{"anything": [1, "x"]}]})
    same = openapi.document("s", {"a": a, "a2": a}, (("a", 50), ("a2", 50)))
    assert "anyOf" not in request_schema(same, "/serving-endpoints/s/invocations")


def test_tensor_and_nested_types():
    from mlflow.models import ModelSignature
    from mlflow.types.schema import Array, ColSpec, Map, Object, Property, Schema, TensorSpec

    sig = ModelSignature(
        inputs=Schema([
            ColSpec(Array("double"), "vec"),
            ColSpec(Object([Property("a", "long"), Property("b", "string", required=False)]), "obj"),
            ColSpec(Map("double"), "m"),
            ColSpec("datetime", "ts", required=False),
        ]),
        outputs=Schema([TensorSpec(np.dtype("float32"), (-1, 2))]),
    ).to_dict()  # fmt: skip
    doc = openapi.document("t", {"x": sig}, (("x", 100),))
    validate(doc)
    props = request_schema(doc, "/serving-endpoints/t/invocations")["properties"]
    record = props["dataframe_records"]["items"]["properties"]
    assert record["vec"] == {"type": "array", "items": {"type": "number", "format": "double"}}
    assert record["obj"]["required"] == ["a"] and record["m"]["type"] == "object"
    assert record["ts"] == {"type": "string", "format": "date-time", "nullable": True}
    ok = doc["paths"]["/serving-endpoints/t/invocations"]["post"]["responses"]["200"]
    item = ok["content"]["application/json"]["schema"]["properties"]["predictions"]["items"]
    assert item == {"type": "array", "items": {"type": "number", "format": "float"}}


def test_endpoint_document_waits_for_the_models():
    sig = churn_signature()
    loading = fake_endpoint("ep", {"a": fake_entity("a", loaded=False,
                                                     deployment="DEPLOYMENT_CREATING")})  # fmt: skip
    failed = fake_endpoint("ep", {"a": fake_entity("a", loaded=False,
                                                    deployment="DEPLOYMENT_FAILED",
                                                    message="boom")})  # fmt: skip
    for ep, status, code in (
        (
            fake_endpoint("ep", {"a": fake_entity("a")}, active=False),
            503,
            "TEMPORARILY_UNAVAILABLE",
        ),
        (loading, 503, "TEMPORARILY_UNAVAILABLE"),
        (failed, 409, "RESOURCE_CONFLICT"),
    ):
        with pytest.raises(ApiError) as exc:
            openapi.endpoint_document(ep)
        assert (exc.value.status, exc.value.error_code) == (status, code)
    ready = fake_endpoint("ep", {"a": fake_entity("a", signature=sig, loaded=True)})
    assert "threshold" in json.dumps(openapi.endpoint_document(ready))


def test_openapi_route(tmp_path):
    sig = churn_signature()
    endpoints = {
        "ep": fake_endpoint("ep", {"a": fake_entity("a", signature=sig)}),
        "cold": fake_endpoint("cold", {"a": fake_entity("a", loaded=False)}),
    }
    with app_client(tmp_path, endpoints) as (client, _):
        resp = client.get("/api/2.0/serving-endpoints/ep/openapi")
        assert resp.status_code == 200 and resp.headers["content-type"] == "application/json"
        doc = resp.json()
        validate(doc)
        assert doc["info"]["title"] == "ep"
        missing = client.get("/api/2.0/serving-endpoints/nowhere/openapi")
        assert missing.status_code == 404
        assert missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
        assert client.get("/api/2.0/serving-endpoints/cold/openapi").status_code == 503
        anonymous = client.get(
            "/api/2.0/serving-endpoints/ep/openapi", headers={"Authorization": ""}
        )
        assert anonymous.status_code == 401


# -- one real server, through the official SDK ---------------------------------------------

MODEL = "churn-threshold"


@pytest.fixture(scope="module")
def threshold_server(tmp_path_factory, _trained_store):
    """A server over a copy of the session's store, plus a model whose signature has params."""
    import mlflow
    from mlflow.models import ModelSignature

    from recipes.target import reset_mlflow_uris, scoped_env, use_target
    from recipes.train import requirements
    from tests.homes import local_env

    store = tmp_path_factory.mktemp("openapi-store")
    shutil.copy(_trained_store / "mlflow.db", store / "mlflow.db")
    with scoped_env(**local_env(store)):
        use_target("local")
        try:
            model = mlflow.sklearn.load_model("models:/churn-predictor/1")
            exp = mlflow.create_experiment("openapi", artifact_location=str(store / "artifacts"))
            with mlflow.start_run(experiment_id=exp):
                mlflow.sklearn.log_model(
                    model,
                    name="model",
                    signature=ModelSignature.from_dict(churn_signature({"threshold": 0.5})),
                    pip_requirements=requirements(),
                    registered_model_name=MODEL,
                )
        finally:
            reset_mlflow_uris()
    home = tmp_path_factory.mktemp("openapi-serving") / "mdk"
    home.mkdir()
    srv = Server(home, store)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def test_sdk_sees_databricks_metrics_and_a_valid_openapi(threshold_server):
    from databricks.sdk.service.serving import EndpointCoreConfigInput, ServedEntityInput

    srv = threshold_server
    w = srv.client()
    name = "openapi-metrics"
    entity = ServedEntityInput(name="th", entity_name=MODEL, entity_version="1",
                               workload_size="Small", scale_to_zero_enabled=False)  # fmt: skip
    w.serving_endpoints.create_and_wait(
        name=name, config=EndpointCoreConfigInput(name=name, served_entities=[entity])
    )
    sent_ok = 5
    for i in range(sent_ok):
        body = {"dataframe_records": [RECORD], "params": {"threshold": 0.1 * i}}
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
