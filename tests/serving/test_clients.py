"""The seed's own client code against the local endpoint, with only host and token changed.

The seed builds ``WorkspaceClient()`` from the environment, scores with ``requests.post``,
and splits traffic 90/10 between ``champion`` and ``challenger``; ``EndpointCoreConfigInput``
now needs ``name=``. MLflow's ``get_deploy_client("databricks")`` must work unchanged too.
"""

from __future__ import annotations

import time
import warnings

import pandas as pd
import pytest
import requests
from databricks.sdk import WorkspaceClient
from databricks.sdk.service.serving import (
    EndpointCoreConfigInput,
    EndpointStateConfigUpdate,
    EndpointStateReady,
    Route,
    ServedEntityInput,
    TrafficConfig,
)

from tests.serving.conftest import MODEL, RECORD

ENDPOINT = "churn-predictor-endpoint"
DATABRICKS_ENV = (
    "DATABRICKS_CONFIG_PROFILE",
    "DATABRICKS_CONFIG_FILE",
    "DATABRICKS_CLIENT_ID",
    "DATABRICKS_CLIENT_SECRET",
    "DATABRICKS_AUTH_TYPE",
    "DATABRICKS_ACCOUNT_ID",
    "DATABRICKS_WORKSPACE_ID",
    "DATABRICKS_USERNAME",
    "DATABRICKS_PASSWORD",
    "DATABRICKS_AZURE_RESOURCE_ID",
    "DATABRICKS_GOOGLE_SERVICE_ACCOUNT",
)


@pytest.fixture(scope="module")
def server(shared_server):
    """The session's shared server: this module only makes endpoints of names of its own."""
    return shared_server


@pytest.fixture
def workspace_env(server, monkeypatch):
    """DATABRICKS_HOST and DATABRICKS_TOKEN point at the local server; nothing else is set."""
    for key in DATABRICKS_ENV:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("DATABRICKS_HOST", server.url)
    monkeypatch.setenv("DATABRICKS_TOKEN", server.token)
    monkeypatch.setenv("HOME", str(server.home))  # no ~/.databrickscfg to pick up
    return server


def _predict(pyfunc_models, version: int, rows: list[dict]) -> list:
    return pd.Series(pyfunc_models[version].predict(pd.DataFrame(rows))).tolist()


def test_seed_create_query_and_ab_split(workspace_env, pyfunc_models):
    server = workspace_env
    w = WorkspaceClient()

    # Create endpoint with a single served model
    waiter = w.serving_endpoints.create(
        name="churn-predictor-endpoint",
        config=EndpointCoreConfigInput(
            name="churn-predictor-endpoint",
            served_entities=[
                ServedEntityInput(
                    entity_name="churn-predictor",
                    entity_version="1",
                    workload_size="Small",
                    scale_to_zero_enabled=True,
                )
            ],
        ),
    )
    ep = waiter.result()
    assert ep.state.ready == EndpointStateReady.READY

    # Score a single record
    token = server.token
    url = f"{server.url}/serving-endpoints/churn-predictor-endpoint/invocations"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    data = {
        "dataframe_records": [
            {"total_purchases": 15, "avg_session_duration": 320, "days_since_last_visit": 7}
        ]
    }
    response = requests.post(url, headers=headers, json=data, timeout=60)
    predictions = response.json()
    assert response.status_code == 200, response.text
    assert predictions == {"predictions": _predict(pyfunc_models, 1, data["dataframe_records"])}

    # Traffic splitting (A/B testing)
    config = EndpointCoreConfigInput(
        name="churn-predictor-endpoint",
        served_entities=[
            ServedEntityInput(
                name="champion",
                entity_name="churn-predictor",
                entity_version="1",
                workload_size="Small",
                scale_to_zero_enabled=False,
            ),
            ServedEntityInput(
                name="challenger",
                entity_name="churn-predictor",
                entity_version="2",
                workload_size="Small",
                scale_to_zero_enabled=False,
            ),
        ],
        traffic_config=TrafficConfig(
            routes=[
                Route(served_model_name="champion", traffic_percentage=90),
                Route(served_model_name="challenger", traffic_percentage=10),
            ]
        ),
    )
    ep = w.serving_endpoints.update_config(
        name=ENDPOINT,
        served_entities=config.served_entities,
        traffic_config=config.traffic_config,
    ).result()
    assert ep.state.config_update == EndpointStateConfigUpdate.NOT_UPDATING
    assert {(e.name, e.entity_version) for e in ep.config.served_entities} == {
        ("champion", "1"),
        ("challenger", "2"),
    }
    assert {
        (r.served_model_name, r.traffic_percentage) for r in ep.config.traffic_config.routes
    } == {
        ("champion", 90),
        ("challenger", 10),
    }

    seen = set()
    with requests.Session() as s:
        for _ in range(100):
            response = s.post(url, headers=headers, json=data, timeout=60)
            assert response.status_code == 200, response.text
            seen.add(response.headers["served-model-name"])
    assert seen == {"champion", "challenger"}
    assert w.serving_endpoints.query(
        ENDPOINT, dataframe_records=data["dataframe_records"]
    ).predictions

    w.serving_endpoints.delete(ENDPOINT)
    assert ENDPOINT not in {e.name for e in w.serving_endpoints.list()}


def test_mlflow_deployments_client(workspace_env, pyfunc_models):
    from mlflow.deployments import get_deploy_client

    name = "mlflow-deploy-client"
    client = get_deploy_client("databricks")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "passing name ... is deprecated"
        created = client.create_endpoint(
            name=name,
            config={
                "served_entities": [
                    {
                        "name": "churn",
                        "entity_name": MODEL,
                        "entity_version": "2",
                        "workload_size": "Small",
                        "scale_to_zero_enabled": False,
                    }
                ]
            },
        )
    assert created["name"] == name

    deadline = time.monotonic() + 120
    while True:
        ep = client.get_endpoint(endpoint=name)
        if ep["state"] == {"ready": "READY", "config_update": "NOT_UPDATING"}:
            break
        assert ep["state"]["config_update"] != "UPDATE_FAILED", ep
        assert time.monotonic() < deadline, ep
        time.sleep(0.5)
    assert ep["config"]["served_entities"][0]["entity_version"] == "2"
    assert name in {e["name"] for e in client.list_endpoints()}

    response = client.predict(endpoint=name, inputs={"dataframe_records": [RECORD]})
    assert response["predictions"] == _predict(pyfunc_models, 2, [RECORD])

    client.delete_endpoint(endpoint=name)
    assert name not in {e["name"] for e in client.list_endpoints()}
