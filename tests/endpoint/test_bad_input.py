"""Bad input on both planes: always a 4xx with the right ``error_code`` and a one-line message.

One table, one app, in process (``tests/endpoint/inproc.py``: the real app, Manager and
Entity under Starlette's ``TestClient``; the workers are coroutines): parsing, the column
and params checks, the bearer check and the body reader are the front's, so no process is
needed to see them. ``bad-ready`` serves a stand-in with churn-predictor's signature for the
data-plane rows, ``bad-params`` one whose signature declares ``threshold``; ``bad-busy`` is
updated twice in a row for the 409. The model's features are ``long``, so a value that is
not a JSON integer (``320.5``, ``320.0``, ``"320"``, ``true``, ``null``) is a 400
BAD_REQUEST naming the column, in every format, exactly where ``pyfunc.predict`` refuses the
frame those rows make (checked against the real churn model, served in process).
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from recipes.endpoint.asgi import Bearer, read_body
from recipes.errors import ApiError
from recipes.formats import FORMATS, MAX_BYTES, MISSING, Invocation, conform, decode, encode, parse
from tests.endpoint.inproc import serve_inproc, stub_model
from tests.endpoint.server import MODEL, RECORD, capture, entity, routes

READY = "bad-ready"
BUSY = "bad-busy"
PARAMS = "bad-params"
PARAMS_MODEL = "churn-threshold"
SLOW_LOAD = 0.5  # seconds a v2 worker takes to load: an update stays IN_PROGRESS that long
BAD_REQUEST = "BAD_REQUEST"
INVALID = "INVALID_PARAMETER_VALUE"
NOT_FOUND = "RESOURCE_DOES_NOT_EXIST"
UNAUTHENTICATED = "UNAUTHENTICATED"


@pytest.fixture(scope="module")
def endpoints(tmp_path_factory):
    """The app in process: churn-predictor v1/v2 and churn-threshold v1 are stand-ins."""
    home = tmp_path_factory.mktemp("bad-input") / "mdk"
    home.mkdir()
    models = {
        f"models:/{MODEL}/1": stub_model(),
        f"models:/{MODEL}/2": stub_model(),
        f"models:/{PARAMS_MODEL}/1": stub_model(params={"threshold": 0.5}),
    }
    slow = {f"models:/{MODEL}/2": SLOW_LOAD}
    with serve_inproc(home, models, load_seconds=slow, idle_seconds=1) as app:
        for name in (READY, BUSY):
            app.create(name, {"served_entities": [entity("champion", 1)]})
        app.create(PARAMS, {"served_entities": [{**entity("th", 1), "entity_name": PARAMS_MODEL}]})
        for name in (READY, BUSY, PARAMS):
            app.wait_ready(name)
        yield app


@dataclass(frozen=True)
class Case:
    id: str
    call: Callable  # (tests.endpoint.inproc.Inproc) -> httpx.Response
    status: int
    code: str


def _invoke(body, *, served: str | None = None, name: str = READY):
    return lambda s: s.invoke(name, body, served=served)


def _create(config, *, name: str = "bad-new", **extra):
    return lambda s: s.api("POST", json={"name": name, "config": config, **extra})


def _config(*ents, **more) -> dict:
    return {"served_entities": list(ents) or [entity("champion", 1)], **more}


def _rec(**change) -> dict:
    return {**RECORD, **change}


@functools.cache
def _over_16_mb() -> bytes:
    body = json.dumps({"dataframe_records": [RECORD] * 230_000}).encode()
    assert len(body) > 17 * 2**20
    return body


def _nested(depth: int = 100_000) -> bytes:
    return b'{"dataframe_records": ' + b"[" * depth + b"]" * depth + b"}"


def _update_while_updating(s):
    # three new entities on v2, whose workers take SLOW_LOAD to load: the update is in progress
    first = s.api(
        "PUT", f"/{BUSY}/config", json=_config(*(entity(f"next{i}", 2) for i in range(3)))
    )
    assert first.status_code == 200, first.text
    assert first.json()["state"]["config_update"] == "IN_PROGRESS"
    return s.api("PUT", f"/{BUSY}/config", json=_config(entity("again", 1)))


def _no_auth(method: str, path: str, **kwargs):
    return lambda s: s.request(method, path, **kwargs)


def _auth(header: str, method: str, path: str, **kwargs):
    return lambda s: s.request(method, path, headers={"Authorization": header}, **kwargs)


API = "/api/2.0/serving-endpoints"
INVOCATIONS = f"/serving-endpoints/{READY}/invocations"
SPLIT = {"columns": list(RECORD), "data": [list(RECORD.values())]}

CASES = [
    # -- data plane: the payload --------------------------------------------------------
    Case("malformed-json", _invoke(b'{"dataframe_records": [{'), 400, BAD_REQUEST),
    Case("deeply-nested-json", _invoke(_nested()), 400, BAD_REQUEST),
    Case("body-not-an-object", _invoke([RECORD]), 400, BAD_REQUEST),
    Case("empty-body", _invoke(b""), 400, BAD_REQUEST),
    Case(
        "two-input-keys",
        _invoke({"dataframe_records": [RECORD], "instances": [RECORD]}),
        400,
        BAD_REQUEST,
    ),
    Case("no-input-key", _invoke({"params": {}}), 400, BAD_REQUEST),
    Case(
        "unknown-key", _invoke({"dataframe_records": [RECORD], "columns": ["a"]}), 400, BAD_REQUEST
    ),
    Case("empty-records", _invoke({"dataframe_records": []}), 400, BAD_REQUEST),
    Case("records-not-a-list", _invoke({"dataframe_records": RECORD}), 400, BAD_REQUEST),
    Case("record-not-an-object", _invoke({"dataframe_records": [[15, 320, 7]]}), 400, BAD_REQUEST),
    Case(
        "missing-column",
        _invoke({"dataframe_records": [{"total_purchases": 15}]}),
        400,
        BAD_REQUEST,
    ),
    Case(
        "a-record-lacks-a-column",
        _invoke({"dataframe_records": [RECORD, {"total_purchases": 1, "avg_session_duration": 2}]}),
        400,
        BAD_REQUEST,
    ),
    Case(
        "string-for-a-number",
        _invoke({"dataframe_records": [_rec(total_purchases="abc")]}),
        400,
        BAD_REQUEST,
    ),
    Case(
        "list-for-a-number",
        _invoke({"dataframe_records": [_rec(total_purchases=[1, 2])]}),
        400,
        BAD_REQUEST,
    ),
    Case(
        "null-for-a-number",
        _invoke({"dataframe_records": [_rec(total_purchases=None)]}),
        400,
        BAD_REQUEST,
    ),
    Case(
        "nan-literal",
        _invoke(
            b'{"dataframe_records": [{"total_purchases": NaN, '
            b'"avg_session_duration": 1, "days_since_last_visit": 1}]}'
        ),
        400,
        BAD_REQUEST,
    ),
    Case(
        "int-too-big-for-a-float",
        _invoke({"dataframe_records": [_rec(total_purchases=10**400)]}),
        400,
        BAD_REQUEST,
    ),
    Case(
        "fractional-for-a-long",
        _invoke({"dataframe_records": [_rec(avg_session_duration=320.5)]}),
        400,
        BAD_REQUEST,
    ),
    Case(
        "whole-float-for-a-long-split",
        _invoke({"dataframe_split": {**SPLIT, "data": [[15, 320.0, 7]]}}),
        400,
        BAD_REQUEST,
    ),
    Case(
        "string-for-a-long-instances",
        _invoke({"instances": [_rec(avg_session_duration="320")]}),
        400,
        BAD_REQUEST,
    ),
    Case(
        "fractional-for-a-long-inputs",
        _invoke(
            {"inputs": {**{k: [v] for k, v in RECORD.items()}, "days_since_last_visit": [7.5]}}
        ),
        400,
        BAD_REQUEST,
    ),
    Case("split-not-an-object", _invoke({"dataframe_split": [RECORD]}), 400, BAD_REQUEST),
    Case(
        "split-row-length-mismatch",
        _invoke({"dataframe_split": {**SPLIT, "data": [[15, 320]]}}),
        400,
        BAD_REQUEST,
    ),
    Case(
        "split-columns-not-strings",
        _invoke({"dataframe_split": {**SPLIT, "columns": [1, 2, 3]}}),
        400,
        BAD_REQUEST,
    ),
    Case(
        "split-without-data",
        _invoke({"dataframe_split": {"columns": SPLIT["columns"]}}),
        400,
        BAD_REQUEST,
    ),
    Case(
        "inputs-columns-of-different-lengths",
        _invoke(
            {
                "inputs": {
                    "total_purchases": [1, 2],
                    "avg_session_duration": [3],
                    "days_since_last_visit": [4, 5],
                }
            }
        ),
        400,
        BAD_REQUEST,
    ),
    Case(
        "params-not-an-object",
        _invoke({"dataframe_records": [RECORD], "params": [1]}),
        400,
        BAD_REQUEST,
    ),
    Case(
        "param-string-for-a-double",
        _invoke({"dataframe_records": [RECORD], "params": {"threshold": "0.7"}}, name=PARAMS),
        400,
        BAD_REQUEST,
    ),
    Case(
        "param-bool-for-a-double",
        _invoke({"dataframe_records": [RECORD], "params": {"threshold": True}}, name=PARAMS),
        400,
        BAD_REQUEST,
    ),
    Case(
        "param-list-for-a-double",
        _invoke({"dataframe_records": [RECORD], "params": {"threshold": [0.7]}}, name=PARAMS),
        400,
        BAD_REQUEST,
    ),
    Case(
        "param-object-for-a-double",
        _invoke({"dataframe_records": [RECORD], "params": {"threshold": {"v": 1}}}, name=PARAMS),
        400,
        BAD_REQUEST,
    ),
    Case(
        "param-wrong-type-beside-an-unknown-one",
        _invoke({"dataframe_records": [RECORD], "params": {"threshold": "x", "k": 1}}, name=PARAMS),
        400,
        BAD_REQUEST,
    ),
    Case(
        "client-request-id-not-a-string",
        _invoke({"dataframe_records": [RECORD], "client_request_id": 7}),
        400,
        BAD_REQUEST,
    ),
    Case(
        "payload-over-16-mb",
        lambda s: s.invoke(READY, _over_16_mb(), timeout=120),
        400,
        BAD_REQUEST,
    ),
    Case(
        "unknown-endpoint",
        _invoke({"dataframe_records": [RECORD]}, name="bad-nowhere"),
        404,
        NOT_FOUND,
    ),
    Case(
        "unknown-served-entity",
        _invoke({"dataframe_records": [RECORD]}, served="nobody"),
        404,
        NOT_FOUND,
    ),
    # -- control plane: create ----------------------------------------------------------
    Case("create-malformed-json", lambda s: s.api("POST", content=b'{"name": '), 400, BAD_REQUEST),
    Case("create-deeply-nested-json", lambda s: s.api("POST", content=_nested()), 400, BAD_REQUEST),
    Case("create-body-not-an-object", lambda s: s.api("POST", json=["bad-new"]), 400, INVALID),
    Case("create-without-config", lambda s: s.api("POST", json={"name": "bad-new"}), 400, INVALID),
    Case("create-no-served-entities", _create({"served_entities": []}), 400, INVALID),
    Case(
        "traffic-not-summing-to-100",
        _create(_config(entity("a"), entity("b"), traffic_config=routes(a=50, b=40))),
        400,
        INVALID,
    ),
    Case(
        "route-to-an-unknown-entity",
        _create(_config(entity("a"), traffic_config=routes(a=50, ghost=50))),
        400,
        INVALID,
    ),
    Case(
        "negative-traffic",
        _create(_config(entity("a"), entity("b"), traffic_config=routes(a=110, b=-10))),
        400,
        INVALID,
    ),
    Case(
        "traffic-as-a-string",
        _create(
            _config(
                entity("a"),
                traffic_config={
                    "routes": [{"served_model_name": "a", "traffic_percentage": "100"}]
                },
            )
        ),
        400,
        INVALID,
    ),
    Case(
        "route-not-an-object",
        _create(_config(entity("a"), traffic_config={"routes": ["a"]})),
        400,
        INVALID,
    ),
    Case(
        "unknown-model",
        _create(_config({**entity("a"), "entity_name": "no-such-model"})),
        404,
        NOT_FOUND,
    ),
    Case("unknown-version", _create(_config(entity("a", 99))), 404, NOT_FOUND),
    Case("non-numeric-version", _create(_config(entity("a", "latest"))), 400, INVALID),
    Case("missing-entity-name", _create(_config({"entity_version": "1"})), 400, INVALID),
    Case("duplicate-endpoint-name", _create(_config(), name=READY), 409, "RESOURCE_ALREADY_EXISTS"),
    Case("endpoint-name-with-spaces", _create(_config(), name="bad endpoint"), 400, INVALID),
    Case("endpoint-name-too-long", _create(_config(), name="b" * 64), 400, INVALID),
    Case(
        "more-than-10-served-entities",
        _create(_config(*(entity(f"e{i}") for i in range(11)))),
        400,
        INVALID,
    ),
    Case(
        "duplicate-served-entity-names", _create(_config(entity("a"), entity("a", 2))), 400, INVALID
    ),
    Case("bad-served-entity-name", _create(_config(entity("not ok"))), 400, INVALID),
    Case(
        "bad-workload-size",
        _create(_config({**entity("a"), "workload_size": "Huge"})),
        400,
        INVALID,
    ),
    Case(
        "scale-to-zero-not-a-bool",
        _create(_config({**entity("a"), "scale_to_zero_enabled": "yes"})),
        400,
        INVALID,
    ),
    Case(
        "external-model-given",
        _create(
            _config(
                {
                    "name": "ext",
                    "external_model": {"name": "gpt", "provider": "openai", "task": "llm/v1/chat"},
                }
            )
        ),
        400,
        INVALID,
    ),
    Case(
        "capture-bad-catalog-name",
        _create(
            _config(), ai_gateway={"inference_table_config": capture("ok", catalog="my catalog")}
        ),
        400,
        INVALID,
    ),
    Case(
        "capture-bad-table-prefix",
        _create(_config(), ai_gateway={"inference_table_config": capture("bad-prefix")}),
        400,
        INVALID,
    ),
    Case(
        "capture-not-an-object",
        _create(_config(), ai_gateway={"inference_table_config": "main.serving"}),
        400,
        INVALID,
    ),
    Case(
        "capture-legacy-refused", _create(_config(auto_capture_config=capture("ok"))), 400, INVALID
    ),
    Case("tags-not-a-list", _create(_config(), tags={"team": "ml"}), 400, INVALID),
    Case("tag-without-key", _create(_config(), tags=[{"value": "ml"}]), 400, INVALID),
    # -- control plane: other verbs -----------------------------------------------------
    Case(
        "update-unknown-endpoint",
        lambda s: s.api("PUT", "/bad-nowhere/config", json=_config()),
        404,
        NOT_FOUND,
    ),
    Case(
        "update-bad-traffic",
        lambda s: s.api(
            "PUT", f"/{READY}/config", json=_config(traffic_config=routes(champion=99))
        ),
        400,
        INVALID,
    ),
    Case("update-while-updating", _update_while_updating, 409, "RESOURCE_CONFLICT"),
    Case("get-unknown-endpoint", lambda s: s.api("GET", "/bad-nowhere"), 404, NOT_FOUND),
    Case("delete-unknown-endpoint", lambda s: s.api("DELETE", "/bad-nowhere"), 404, NOT_FOUND),
    Case(
        "logs-unknown-served-entity",
        lambda s: s.api("GET", f"/{READY}/served-models/nobody/logs"),
        404,
        NOT_FOUND,
    ),
    Case(
        "metrics-unknown-endpoint", lambda s: s.api("GET", "/bad-nowhere/metrics"), 404, NOT_FOUND
    ),
    Case(
        "patch-tags-unknown-endpoint",
        lambda s: s.api("PATCH", "/bad-nowhere/tags", json={"add_tags": []}),
        404,
        NOT_FOUND,
    ),
    Case(
        "patch-tags-bad-idle-seconds",
        lambda s: s.api(
            "PATCH",
            f"/{READY}/tags",
            json={"add_tags": [{"key": "mdk_idle_seconds", "value": "soon"}]},
        ),
        400,
        INVALID,
    ),
    Case(
        "patch-tags-add-not-a-list",
        lambda s: s.api("PATCH", f"/{READY}/tags", json={"add_tags": "team=ml"}),
        400,
        INVALID,
    ),
    Case(
        "patch-tags-delete-not-a-list",
        lambda s: s.api("PATCH", f"/{READY}/tags", json={"delete_tags": 5}),
        400,
        INVALID,
    ),
    # -- auth on both planes ------------------------------------------------------------
    Case("control-no-token", _no_auth("GET", API), 401, UNAUTHENTICATED),
    Case("control-wrong-token", _auth("Bearer mdk-wrong", "GET", API), 401, UNAUTHENTICATED),
    Case("control-basic-scheme", _auth("Basic dXNlcjpwYXNz", "GET", API), 401, UNAUTHENTICATED),
    Case(
        "data-no-token",
        _no_auth("POST", INVOCATIONS, json={"dataframe_records": [RECORD]}),
        401,
        UNAUTHENTICATED,
    ),
    Case(
        "data-wrong-token",
        _auth("Bearer mdk-wrong", "POST", INVOCATIONS, json={"dataframe_records": [RECORD]}),
        401,
        UNAUTHENTICATED,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_a_one_line_4xx(endpoints, case):
    resp = case.call(endpoints)
    assert resp.status_code < 500, f"{resp.status_code}: {resp.text[:500]}"
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert (resp.status_code, body.get("error_code")) == (case.status, case.code), body
    message = body.get("message")
    assert isinstance(message, str) and message.strip()
    assert "\n" not in message and "\r" not in message, message


def test_the_table_is_large_enough():
    assert len(CASES) >= 30 and len({c.id for c in CASES}) == len(CASES)


def test_bad_input_left_the_ready_endpoint_serving(endpoints):
    resp = endpoints.invoke(READY, {"dataframe_records": [RECORD]})
    assert resp.status_code == 200 and set(resp.json()) == {"predictions"}
    ep = endpoints.endpoint(READY)
    assert ep["state"] == {"ready": "READY", "config_update": "NOT_UPDATING"}
    assert ep["config"]["config_version"] == 1
    assert [e["name"] for e in ep["config"]["served_entities"]] == ["champion"]


def test_a_rejected_tag_patch_changes_nothing(endpoints):
    """A 400 from PATCH .../tags must leave the tags as they were (and the scaler alive)."""
    name = "bad-tags"
    endpoints.create(
        name,
        {"served_entities": [entity("idle", 1, scale_to_zero=True)]},
        tags=[{"key": "team", "value": "ml"}],
    )
    endpoints.wait_ready(name)
    resp = endpoints.api(
        "PATCH", f"/{name}/tags", json={"add_tags": [{"key": "mdk_idle_seconds", "value": "-1"}]}
    )
    assert resp.status_code == 400
    assert endpoints.endpoint(name)["tags"] == [{"key": "team", "value": "ml"}]
    deadline = time.monotonic() + 10  # the app's idle time is 1 s
    while not endpoints.endpoint(name)["config"]["served_entities"][0]["mdk"]["scaled_to_zero"]:
        assert time.monotonic() < deadline, "scale-to-zero stopped working after a rejected PATCH"
        time.sleep(0.1)


# what the endpoint and pyfunc.predict are given for total_purchases, and pyfunc's dtype
VALUES = [
    (15, None),
    (2**63 - 1, None),
    (-(2**63), None),
    (15.0, "float64"),
    (15.5, "float64"),
    ("15", "object"),
    (True, "object"),
    (None, "float64"),
    (2**63, "uint64"),
    (10**20, "object"),
]


@pytest.fixture(scope="module")
def baseline_model(tmp_path_factory):
    """A churn baseline as churn-predictor v1 is made (``train.fit``: scaler + logistic
    regression, the sklearn flavor, the ``long`` signature), saved to a folder and loaded by
    pyfunc: no registry, no session store to train."""
    import mlflow.pyfunc
    import mlflow.sklearn

    from recipes.data import make_churn
    from recipes.train import fit, requirements, signature

    path = tmp_path_factory.mktemp("baseline") / "model"
    mlflow.sklearn.save_model(
        fit(make_churn(400, 0)), path, signature=signature(), pip_requirements=requirements()
    )
    return mlflow.pyfunc.load_model(str(path))


@pytest.fixture(scope="module")
def pyfunc_endpoint(endpoints, baseline_model):
    """``bad-pyfunc``: the baseline behind the app, on the sklearn fast path as a worker
    serves it."""
    name, uri = "bad-pyfunc", f"models:/{MODEL}-pyfunc/1"
    endpoints.pool.models[uri] = baseline_model
    config = {"served_entities": [{**entity("v1", 1), "entity_name": f"{MODEL}-pyfunc"}]}
    endpoints.create(name, config)
    endpoints.wait_ready(name)
    assert endpoints.manager.endpoints[name].entities["v1"].fast_path
    return name


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_endpoint_refuses_exactly_what_pyfunc_refuses(
    endpoints, pyfunc_endpoint, baseline_model, fmt
):
    """For each value in a long column (beside an integer record), the endpoint answers
    pyfunc.predict's verdict on the frame the rows make: the same predictions, or a 400
    BAD_REQUEST naming the column where pyfunc raises "Can not safely convert"."""
    import mlflow
    import pandas as pd

    model = baseline_model
    for value, dtype in VALUES:
        records = [RECORD, _rec(total_purchases=value)]
        resp = _invoke(encode(records, fmt), name=pyfunc_endpoint)(endpoints)
        if dtype is None:
            expected = model.predict(pd.DataFrame(records)).tolist()
            assert resp.status_code == 200, (value, resp.text)
            assert resp.json()["predictions"] == expected, value
            continue
        with pytest.raises(mlflow.MlflowException) as err:
            model.predict(pd.DataFrame(records))
        assert f"column total_purchases. Can not safely convert {dtype} to int64" in str(err.value)
        assert resp.status_code == 400, (value, resp.text)
        body = resp.json()
        assert body["error_code"] == BAD_REQUEST, (value, body)
        assert body["message"].startswith("Column 'total_purchases' expects a whole number")
        assert f"record 1 has {value!r}" in body["message"], body


def test_a_param_of_the_wrong_type_is_named(endpoints):
    for value in ("0.7", True, [0.7]):
        body = {"dataframe_records": [RECORD], "params": {"threshold": value}}
        resp = endpoints.invoke(PARAMS, body)
        assert resp.status_code == 400, resp.text
        assert resp.json()["error_code"] == BAD_REQUEST
        message = resp.json()["message"]
        assert "'threshold' expects a" in message and f"double, got {value!r}" in message


# -- the pure parts, called directly ---------------------------------------------------------
def test_parse_keeps_the_format_params_and_client_request_id():
    body = {
        "dataframe_split": {"columns": ["b", "a"], "data": [[1, 2]]},
        "params": {"k": 1},
        "client_request_id": "r-1",
    }
    inv = parse(decode(json.dumps(body).encode()))
    assert inv == Invocation(["b", "a"], [[1, 2]], {"k": 1}, "r-1", "dataframe_split")
    inv = parse({"inputs": {"a": 1, "b": [2]}})
    assert (inv.columns, inv.rows, inv.params, inv.format) == (["a", "b"], [[1, 2]], None, "inputs")
    inv = parse({"instances": [{"a": 1}, {"b": 2}]})
    assert inv.rows == [[1, MISSING], [MISSING, 2]] and inv.format == "instances"


def test_conform_reorders_and_keeps_the_rest():
    inv = Invocation(["b", "a"], [[1, 2]], {"k": 1}, "r-1", "dataframe_records")
    out = conform(inv, ["a", "b"], ["long", "number"])
    assert out == Invocation(["a", "b"], [[2, 1]], {"k": 1}, "r-1", "dataframe_records")
    with pytest.raises(ApiError) as err:
        conform(inv, ["a", "b"], ["string", "number"])
    assert (err.value.status, err.value.error_code) == (400, BAD_REQUEST)
    assert "Column 'a' expects a string; record 0 has 2" in err.value.message


def _receive(*chunks: bytes, disconnect: bool = False):
    messages = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ]
    if disconnect:
        messages[-1:] = [{"type": "http.disconnect"}]

    async def receive():
        return messages.pop(0)

    return receive, messages


def test_the_body_reader_drains_past_16_mb_then_refuses():
    import asyncio

    receive, _ = _receive(b"ab", b"", b"cd")
    assert asyncio.run(read_body(receive)) == b"abcd"
    half = b"x" * (MAX_BYTES // 2 + 1)
    receive, left = _receive(half, half, b"tail")
    with pytest.raises(ApiError) as err:
        asyncio.run(read_body(receive))
    assert err.value.status == 400 and "the limit is 16 MB" in err.value.message
    assert left == []  # every chunk was read, so the client gets the answer


def test_one_bearer_check_for_both_planes():
    bearer = Bearer("mdk-secret")

    def scope(header: bytes | None) -> dict:
        return {"headers": [(b"authorization", header)] if header is not None else []}

    assert bearer.allows(scope(b"Bearer mdk-secret"))
    assert bearer.allows(scope(b"bearer   mdk-secret "))
    for header in (None, b"", b"Bearer mdk-wrong", b"Basic mdk-secret", b"Bearer"):
        assert not bearer.allows(scope(header)), header
    with pytest.raises(ApiError) as err:
        bearer.check(scope(None))
    assert (err.value.status, err.value.error_code) == (401, UNAUTHENTICATED)
