"""``mdk teardown --target databricks`` against the workspace double.

One double per module, as ``mdk workspace up --no-spark`` starts it (tracking server,
serving endpoint, the one host), in a temporary MDK_HOME, stopped by pid at the end. Each
test makes its own world in a catalog of its own (``MDK_CATALOG``): objects with the tag
``created_by=mdk`` and objects without it (endpoints, registered models and versions,
tables, a monitor), then runs ``mdk teardown`` through typer's CliRunner and checks what is
left, and which DELETE calls the double's request log shows. Endpoints are not scoped by
catalog, so each test deletes the endpoints it made at its end.
"""

from __future__ import annotations

import json
import os
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from recipes import tables
from recipes.tooling import cli
from recipes.tooling import teardown as td
from recipes.workspace_names import CREATED_BY

pytestmark = [pytest.mark.server, pytest.mark.timeout(300)]

runner = CliRunner()
EXPERIMENT = "/Shared/mdk-teardown"
UC = "/api/2.0/mlflow/unity-catalog"
TABLES = "/api/2.1/unity-catalog/tables"


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """The double without Spark; its env for clients; ``down`` at the end."""
    from recipes.workspace import services

    home = tmp_path_factory.mktemp("teardown") / "mdk"
    services.up(home, spark=False)
    try:
        yield home, services.env(home)
    finally:
        services.down(home)


@pytest.fixture(scope="module")
def run_id(ws):
    """One logged model (a tiny logistic regression) that every test registers from."""
    import mlflow
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression

    from recipes.target import reset_mlflow_uris

    home, env = ws
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.uniform(size=40), "b": rng.uniform(size=40)})
    model = LogisticRegression().fit(X, (X.a > X.b).astype(int))
    with pytest.MonkeyPatch.context() as mp:
        _client_env(mp, env)
        mlflow.set_experiment(EXPERIMENT)
        with mlflow.start_run() as run:
            mlflow.sklearn.log_model(
                model,
                name="model",
                pip_requirements=["scikit-learn"],
                signature=infer_signature(X, model.predict(X)),
            )
        reset_mlflow_uris()
    return run.info.run_id


def _client_env(mp: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for key in [k for k in os.environ if k.startswith("DATABRICKS_")]:
        mp.delenv(key)
    for key, value in env.items():
        mp.setenv(key, value)
    mp.setenv("MDK_TARGET", "databricks")
    mp.setenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


@dataclass
class World:
    """What one test made: names by what teardown must do with them."""

    home: Path  # the double's folder (MDK_HOME/workspace)
    catalog: str
    w: object
    client: object
    kit_endpoint: str
    user_endpoint: str
    payload: str  # the kit endpoint's inference table
    tagged_tables: list[str]
    user_tables: list[str]
    elsewhere_table: str  # tagged, but in a schema teardown does not look in
    monitored: str | None  # the tagged table with a monitor (its metric table is untagged)

    def log(self) -> Path:
        return self.home / "logs" / "workspace-requests.jsonl"

    def mark(self) -> int:
        return len(self.log().read_text().splitlines())

    def deletes_since(self, mark: int) -> Counter:
        lines = self.log().read_text().splitlines()[mark:]
        entries = [json.loads(line) for line in lines]
        return Counter(e["path"] for e in entries if e["method"] == "DELETE")

    def endpoints(self) -> set[str]:
        return {e.name for e in self.w.serving_endpoints.list()}

    def tables(self) -> set[str]:
        return set(tables.files.list_tables(home=self.home))

    def versions(self, name: str) -> list[int]:
        found = self.client.search_model_versions(filter_string=f"name = '{name}'")
        return sorted(int(v.version) for v in found)

    def models(self) -> set[str]:
        return {m.name for m in self.client.search_registered_models()}


def _table(home: Path, name: str, *, tagged: bool) -> str:
    """A Delta table in the double's warehouse (delta-rs); ``tagged``: with the kit's
    ``created_by`` property, as ``tables.mark_created`` sets it through Spark."""
    from deltalake import DeltaTable

    rows = pa.table(
        {
            "prediction": pa.array([0, 1], pa.int64()),
            "model_version": ["1", "2"],
            "timestamp": pa.array(
                pd.to_datetime(["2026-01-01", "2026-01-02"]), pa.timestamp("us", tz="UTC")
            ),
        }
    )
    tables.append(name, rows, home=home)
    if tagged:  # delta-rs takes a key outside delta.* only with raise_if_not_exists=False
        DeltaTable(str(tables.table_path(name, home))).alter.set_table_properties(
            dict([CREATED_BY]), raise_if_not_exists=False
        )
    return name


def _register(run_id: str, name: str, *, tagged: bool) -> int:
    import mlflow

    from recipes import registry

    version = int(mlflow.register_model(f"runs:/{run_id}/model", name).version)
    if tagged:
        registry.tag_created(name, version)
    return version


def _endpoint(w, name: str, model: str, catalog: str, tags) -> str:
    from databricks.sdk.service.serving import (
        AiGatewayConfig,
        AiGatewayInferenceTableConfig,
        EndpointCoreConfigInput,
        ServedEntityInput,
    )

    config = EndpointCoreConfigInput(
        name=name,
        served_entities=[
            ServedEntityInput(
                entity_name=model,
                entity_version="1",
                workload_size="Small",
                scale_to_zero_enabled=True,
            )
        ],
    )
    gateway = AiGatewayConfig(
        inference_table_config=AiGatewayInferenceTableConfig(
            catalog_name=catalog,
            schema_name="mdk",
            table_name_prefix=name.replace("-", "_"),
            enabled=True,
        )
    )
    # not waited for
    w.serving_endpoints.create(name=name, config=config, ai_gateway=gateway, tags=tags)
    return name


def test_payload_tables_are_the_gateways_and_a_legacy_one_an_older_endpoint_names():
    from databricks.sdk.service.serving import ServingEndpointDetailed

    table = {"catalog_name": "main", "schema_name": "mdk", "table_name_prefix": "churn_ab"}
    gateway = ServingEndpointDetailed.from_dict(
        {"name": "churn-ab", "ai_gateway": {"inference_table_config": {**table, "enabled": False}}}
    )  # a disabled table still holds what it logged
    assert td.payload_tables(gateway) == ["main.mdk.churn_ab_payload"]
    legacy = ServingEndpointDetailed.from_dict(
        {
            "name": "old",
            "config": {
                "auto_capture_config": {
                    "catalog_name": "main",
                    "schema_name": "mdk",
                    "table_name_prefix": "old",
                    "enabled": True,
                    "state": {"payload_table": {"name": "old_payload_v2"}},
                }
            },
            "ai_gateway": {"inference_table_config": {**table, "enabled": True}},
        }
    )
    assert td.payload_tables(legacy) == ["main.mdk.churn_ab_payload", "main.mdk.old_payload_v2"]
    assert td.payload_tables(ServingEndpointDetailed.from_dict({"name": "bare"})) == []


def _world(ws, run_id, monkeypatch, *, monitor: bool, everything: bool) -> World:
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.service.serving import EndpointTag
    from mlflow import MlflowClient

    from recipes.serving.deploy import created_by_tags

    home, env = ws
    _client_env(monkeypatch, env)
    cat = f"c{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("MDK_CATALOG", cat)
    w, client = WorkspaceClient(), MlflowClient()
    double = home / "workspace"
    suffix = uuid.uuid4().hex[:6]
    kit_ep, user_ep = f"kit-{suffix}", f"user-{suffix}"
    if everything:
        # models: tagged with tagged versions; untagged; tagged holding an untagged version;
        # tagged in another schema
        for _ in range(2):
            _register(run_id, f"{cat}.mdk.kit_model", tagged=True)
        _register(run_id, f"{cat}.mdk.user_model", tagged=False)
        _register(run_id, f"{cat}.mdk.mixed_model", tagged=True)
        _register(run_id, f"{cat}.mdk.mixed_model", tagged=False)
        _register(run_id, f"{cat}.other.kit_model", tagged=True)
        _endpoint(w, kit_ep, f"{cat}.mdk.user_model", cat, created_by_tags())
        _endpoint(
            w, user_ep, f"{cat}.mdk.user_model", cat, [EndpointTag(key="team", value="growth")]
        )
    # the AI Gateway inference tables, as the endpoint's capture writes them (untagged)
    payload = _table(double, f"{cat}.mdk.kit_{suffix}_payload", tagged=False)
    user_payload = _table(double, f"{cat}.mdk.user_{suffix}_payload", tagged=False)
    tagged = [
        _table(double, f"{cat}.mdk.kit_scores", tagged=True),
        _table(double, f"{cat}.features.kit_features", tagged=True),
    ]
    user = [_table(double, f"{cat}.mdk.user_scores", tagged=False), user_payload]
    monitored = None
    if monitor:
        from databricks.sdk.service.catalog import (
            MonitorInferenceLog,
            MonitorInferenceLogProblemType,
        )

        monitored = tagged[0]
        w.quality_monitors.create(
            table_name=monitored,
            inference_log=MonitorInferenceLog(
                problem_type=MonitorInferenceLogProblemType.PROBLEM_TYPE_CLASSIFICATION,
                prediction_col="prediction",
                model_id_col="model_version",
                timestamp_col="timestamp",
                granularities=["1 day"],
            ),
            output_schema_name=f"{cat}.mdk",
            assets_dir="/Workspace/Shared/mdk/teardown",
        )
        # the monitor's metric table, as a refresh makes it (untagged on Databricks)
        _table(double, f"{monitored}_profile_metrics", tagged=False)
    elsewhere = _table(double, f"{cat}.other.kit_elsewhere", tagged=True)
    return World(
        double, cat, w, client, kit_ep, user_ep, payload, tagged, user, elsewhere, monitored
    )


@pytest.fixture
def world_factory(ws, run_id, monkeypatch):
    made: list[World] = []

    def make(*, monitor: bool = False, everything: bool = True) -> World:
        """``everything=False``: tables only (no models, no endpoints)."""
        made.append(_world(ws, run_id, monkeypatch, monitor=monitor, everything=everything))
        return made[-1]

    yield make
    from recipes.target import reset_mlflow_uris

    for world in made:  # endpoints are not scoped by catalog: leave none to another test
        for name in (world.kit_endpoint, world.user_endpoint):
            td._get_or_none(lambda n=name, w=world.w: w.serving_endpoints.delete(n))
    reset_mlflow_uris()


def _teardown(*args: str, **kwargs):
    return runner.invoke(cli.app, ["teardown", "--target", "databricks", *args], **kwargs)


# ----------------------------------------------------------------------------- tests


def test_teardown_deletes_what_carries_the_tag_and_nothing_else(world_factory):
    world = world_factory(monitor=True)
    cat = world.catalog
    mark = world.mark()

    result = _teardown("--yes")

    assert result.exit_code == 0, result.output
    assert (
        f"model {cat}.mdk.mixed_model: kept, it holds 1 version(s) without the tag" in result.output
    )
    # what carries the tag (or belongs to what does) is gone
    assert world.kit_endpoint not in world.endpoints()
    assert not (
        {*world.tagged_tables, world.payload, f"{world.monitored}_profile_metrics"} & world.tables()
    )
    assert f"{cat}.mdk.kit_model" not in world.models()
    assert world.versions(f"{cat}.mdk.mixed_model") == [2]
    # what does not is there
    assert world.user_endpoint in world.endpoints()
    assert {*world.user_tables, world.elsewhere_table} <= world.tables()
    assert world.versions(f"{cat}.mdk.user_model") == [1]
    assert world.versions(f"{cat}.other.kit_model") == [1]
    # and the double saw DELETE calls for exactly those objects, endpoints first
    deleted = world.deletes_since(mark)
    expected = Counter(
        {
            f"/api/2.0/serving-endpoints/{world.kit_endpoint}": 1,
            f"{TABLES}/{world.monitored}/monitor": 1,
            **{
                f"{TABLES}/{t}": 1
                for t in [*world.tagged_tables, world.payload, f"{world.monitored}_profile_metrics"]
            },
            f"{UC}/model-versions/delete": 3,  # kit_model v1, v2 and mixed_model v1
            f"{UC}/registered-models/delete": 1,  # kit_model
        }
    )
    # a refresh that finished before the monitor was deleted wrote the drift table as well
    deleted.pop(f"{TABLES}/{world.monitored}_drift_metrics", None)
    assert deleted == expected
    lines = [line.split()[1] for line in result.output.splitlines() if line.startswith("deleted ")]
    assert lines[0] == "endpoint" and lines[-1] == "model"
    assert lines.index("monitor") < lines.index("table") < lines.index("version")


def test_without_a_terminal_or_yes_nothing_is_deleted(world_factory):
    world = world_factory()
    before = (world.endpoints(), world.tables(), world.models())
    mark = world.mark()

    result = _teardown()

    assert result.exit_code == 1
    assert (
        result.output.strip()
        .splitlines()[-1]
        .startswith("nothing deleted: no terminal to confirm on; rerun with --yes")
    )
    assert world.kit_endpoint in result.output and f"{world.catalog}.mdk.kit_model" in result.output
    assert world.deletes_since(mark) == Counter()
    assert (world.endpoints(), world.tables(), world.models()) == before


def test_a_declined_confirmation_deletes_nothing(world_factory, monkeypatch):
    world = world_factory()
    monkeypatch.setattr(cli, "_interactive", lambda: True)
    mark = world.mark()

    result = _teardown(input="n\n")

    assert result.exit_code == 1
    assert "Delete these" in result.output and "nothing deleted." in result.output
    assert world.deletes_since(mark) == Counter()
    assert world.kit_endpoint in world.endpoints()


def test_a_failure_is_reported_and_the_rest_go_on(world_factory):
    world = world_factory(everything=False)
    plan = td.Plan(
        [td.Item("endpoint", "no-such-endpoint"), td.Item("table", world.tagged_tables[0])]
    )

    outcomes = td.delete(world.w, world.client, plan)

    assert outcomes[0].error and "\n" not in outcomes[0].error
    assert "no-such-endpoint" in outcomes[0].error
    assert outcomes[1].error is None
    assert world.tagged_tables[0] not in world.tables()


def test_the_double_lists_gets_and_deletes_tables_with_their_properties(world_factory):
    from databricks.sdk.errors import NotFound

    world = world_factory(everything=False)
    cat = world.catalog
    listed = {t.full_name: t for t in world.w.tables.list(catalog_name=cat, schema_name="mdk")}

    assert listed[f"{cat}.mdk.kit_scores"].properties == {"created_by": "mdk"}
    assert not listed[f"{cat}.mdk.user_scores"].properties
    got = world.w.tables.get(f"{cat}.mdk.kit_scores")
    assert got.table_type.value == "MANAGED" and got.data_source_format.value == "DELTA"
    assert [(c.name, c.type_text, c.type_name.value, c.position) for c in got.columns] == [
        ("prediction", "bigint", "LONG", 0),
        ("model_version", "string", "STRING", 1),
        ("timestamp", "timestamp", "TIMESTAMP", 2),
    ]
    assert got.storage_location == tables.table_path(got.full_name, world.home).as_uri()
    world.w.tables.delete(f"{cat}.mdk.kit_scores")
    with pytest.raises(NotFound):
        world.w.tables.get(f"{cat}.mdk.kit_scores")
    with pytest.raises(NotFound):
        world.w.tables.delete(f"{cat}.mdk.kit_scores")
    assert list(world.w.tables.list(catalog_name=cat, schema_name="nothing_here")) == []


def test_teardown_on_the_local_target_says_what_to_do_in_one_line(monkeypatch):
    result = runner.invoke(cli.app, ["teardown", "--target", "local"])

    assert result.exit_code == 0
    assert len(result.output.strip().splitlines()) == 1
    assert "mdk down" in result.output and "make clean" in result.output
