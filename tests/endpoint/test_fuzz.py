"""Generated bad input on both planes, in process: never a 5xx, always ``{error_code, message}``.

Hypothesis builds request bodies near the shapes the endpoint takes (the four input formats,
``params``, ``client_request_id``, a create body with ``config`` and ``ai_gateway``) with
any JSON in every slot, and bytes that are no JSON at all. Whatever it sends, the answer is
a 2xx or a 4xx whose body names an ``error_code`` and a one-line message: a 5xx would be a
crash the client cannot act on. The app is the real one (``tests/endpoint/inproc.py``).
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recipes.data import FEATURES
from recipes.formats import FORMATS
from tests.endpoint.inproc import serve_inproc, stub_model
from tests.endpoint.server import MODEL, entity

THRESHOLD_MODEL = "churn-threshold"
ENDPOINTS = ("fuzz-plain", "fuzz-params")
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
columns = st.sampled_from([*FEATURES, "other", ""])
records = st.lists(st.dictionaries(columns, json_values, max_size=4), max_size=4)
split = st.fixed_dictionaries(
    {
        "columns": st.lists(columns, max_size=4) | json_values,
        "data": st.lists(st.lists(json_values, max_size=4), max_size=3) | json_values,
    }
)
columnar = st.dictionaries(columns, st.lists(json_values, max_size=3) | json_values, max_size=4)
params = st.dictionaries(st.sampled_from(["threshold", "other"]), json_values, max_size=2)


@st.composite
def invocation_bodies(draw):
    """An invocation body: one or more of the formats (any value in each), maybe params and
    a client_request_id, maybe a key no format knows."""
    body = {}
    for key in draw(st.lists(st.sampled_from(FORMATS), min_size=0, max_size=2, unique=True)):
        body[key] = draw(
            {
                "dataframe_records": records,
                "dataframe_split": split,
                "instances": records | columnar,
                "inputs": records | columnar,
            }[key]
            | json_values
        )
    if draw(st.booleans()):
        body["params"] = draw(params | json_values)
    if draw(st.booleans()):
        body["client_request_id"] = draw(json_values)
    if draw(st.integers(0, 9)) == 0:
        body[draw(st.text(max_size=6))] = draw(json_values)
    return body


gateway = st.fixed_dictionaries(
    {},
    optional={
        "inference_table_config": st.fixed_dictionaries(
            {},
            optional={
                "catalog_name": json_values,
                "schema_name": json_values,
                "table_name_prefix": json_values,
                "enabled": json_values,
            },
        )
        | json_values,
        "rate_limits": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "calls": json_values,
                    "key": st.sampled_from(["endpoint", "user"]) | json_values,
                    "renewal_period": json_values,
                },
            ),
            max_size=2,
        )
        | json_values,
        "usage_tracking_config": json_values,
        "guardrails": json_values,
    },
)
served_entity = st.fixed_dictionaries(
    {
        "entity_name": st.sampled_from([MODEL, "nope"]) | json_values,
        "entity_version": st.sampled_from(["1", 1, "0"]) | json_values,
    },
    optional={
        "name": json_values,
        "workload_size": json_values,
        "scale_to_zero_enabled": json_values,
        "environment_vars": json_values,
    },
)
create_bodies = st.fixed_dictionaries(
    {"name": st.text(alphabet="abc-_ ", min_size=0, max_size=8) | json_values},
    optional={
        "config": st.fixed_dictionaries(
            {},
            optional={
                "served_entities": st.lists(served_entity, max_size=2) | json_values,
                "traffic_config": json_values,
                "auto_capture_config": json_values,
            },
        )
        | json_values,
        "ai_gateway": gateway | json_values,
        "tags": json_values,
        "route_optimized": json_values,
    },
)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    home = tmp_path_factory.mktemp("fuzz") / "mdk"
    home.mkdir()
    models = {
        f"models:/{MODEL}/1": stub_model(),
        f"models:/{THRESHOLD_MODEL}/1": stub_model(params={"threshold": 0.5}),
    }
    with serve_inproc(home, models) as served:
        served.create(ENDPOINTS[0], {"served_entities": [entity("champion", 1)]})
        served.create(
            ENDPOINTS[1], {"served_entities": [{**entity("th", 1), "entity_name": THRESHOLD_MODEL}]}
        )
        for name in ENDPOINTS:
            served.wait_ready(name)
        yield served


def _answered_cleanly(resp) -> None:
    assert resp.status_code < 500, resp.text
    if resp.status_code >= 400:
        body = resp.json()
        assert set(body) == {"error_code", "message"}, body
        assert body["error_code"].isupper() and "\n" not in body["message"], body


@SETTINGS
@given(body=invocation_bodies(), endpoint=st.sampled_from(ENDPOINTS))
def test_any_invocation_body_is_answered_or_refused_with_a_4xx(app, body, endpoint):
    _answered_cleanly(app.invoke(endpoint, body))


@SETTINGS
@given(raw=st.binary(max_size=64) | st.text(max_size=64).map(str.encode))
def test_any_bytes_are_answered_or_refused_with_a_4xx(app, raw):
    _answered_cleanly(app.invoke(ENDPOINTS[0], raw))


@SETTINGS
@given(body=create_bodies)
def test_any_create_body_is_carried_out_or_refused_with_a_4xx(app, body):
    resp = app.api("POST", json=body)
    _answered_cleanly(resp)
    if resp.status_code == 200:  # a valid one: the endpoint exists; delete it again
        name = resp.json()["name"]
        _answered_cleanly(app.api("DELETE", f"/{name}"))


@SETTINGS
@given(body=gateway | json_values)
def test_any_put_ai_gateway_body_is_carried_out_or_refused_with_a_4xx(app, body):
    _answered_cleanly(app.api("PUT", f"/{ENDPOINTS[0]}/ai-gateway", content=json.dumps(body)))
