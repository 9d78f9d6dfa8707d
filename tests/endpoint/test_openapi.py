"""``get_open_api``: the endpoint's OpenAPI document, made from the served models' signatures.

In process: ``openapi.document`` from real ``ModelSignature``s (validated with
openapi-spec-validator, and real request bodies checked against it), and the route through
Starlette's TestClient. Through ``WorkspaceClient`` against a real endpoint process:
tests/endpoint/test_params.py (``export_metrics`` and ``get_open_api`` of the threshold model).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from recipes import formats
from recipes.data import FEATURES
from recipes.endpoint import openapi
from recipes.errors import ApiError
from tests.endpoint.fakes import app_client, fake_endpoint, fake_entity, request_schema
from tests.endpoint.server import RECORD

PARAMS = {"threshold": 0.5, "top_k": 3, "mode": "fast", "weights": [1.0, 2.0]}


def churn_signature(params: dict | None = PARAMS, **extra_columns) -> dict:
    """churn-predictor's inputs (three ``long``s, and ``extra_columns``), a long output."""
    from mlflow.models import infer_signature

    frame = pd.DataFrame({**{f: [1, 2] for f in FEATURES}, **extra_columns})
    return infer_signature(frame, np.array([0, 1]), params=params).to_dict()


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
    assert set(req["properties"]) == {*formats.FORMATS, *formats.OPTIONAL}
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
        "weights": {
            "type": "array",
            "items": {"type": "number", "format": "double"},
            "default": [1.0, 2.0],
        },
    }
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
        inputs=Schema(
            [
                ColSpec(Array("double"), "vec"),
                ColSpec(
                    Object([Property("a", "long"), Property("b", "string", required=False)]), "obj"
                ),
                ColSpec(Map("double"), "m"),
                ColSpec("datetime", "ts", required=False),
            ]
        ),
        outputs=Schema([TensorSpec(np.dtype("float32"), (-1, 2))]),
    ).to_dict()
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
    loading = fake_endpoint(
        "ep", {"a": fake_entity("a", loaded=False, deployment="DEPLOYMENT_CREATING")}
    )
    failed = fake_endpoint(
        "ep", {"a": fake_entity("a", loaded=False, deployment="DEPLOYMENT_FAILED", message="boom")}
    )
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
