"""``mdk workspace up/env/status/down`` end to end, and the empty-workspace guarantee.

One stack per module: ``mdk workspace up`` (through the CLI) in a temporary MDK_HOME starts
the tracking server, the serving endpoint, a Spark Connect server and the double; the module's
teardown runs ``mdk workspace down`` and checks that every one of those pids is gone. Clients
reach the stack only through what ``mdk workspace env`` prints.

The empty-workspace tests run the first cells of 02-06 with ``target="databricks"`` against
the double, as the kernel would (in this process, like ``nbtools.run_first_checks``): each
must stop in its first cell after the parameter check with one line naming what is missing
and the notebook that makes it, and the double's request log must show no write before it.
They look for names no other test here makes (the ``main.mdk`` model, the ``churn-ab``
endpoint, the ``/Shared/mdk`` experiment), so they pass in any order.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
import requests

from recipes import workspace_names
from recipes.errors import NotFoundError
from recipes.stack import pid_alive
from recipes.target import repo_root
from tests.notebooks.nbtools import NOTEBOOKS, run_first_checks
from tests.workspace.stack import PARTS, mdk_cli, status_pids

pytestmark = [pytest.mark.server, pytest.mark.spark, pytest.mark.timeout(300)]

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
#: POSTs that only read (searches, and a download URL for files the caller may read). They
#: are allowed before a notebook's check; none of 02-06's first cells makes one today.
READ_ONLY_POSTS = {
    "/api/2.0/mlflow/experiments/search",
    "/api/2.0/mlflow/runs/search",
    "/api/2.0/mlflow/logged-models/search",
    "/api/2.0/mlflow/traces/search",
    "/api/2.0/fs/create-download-url",
}


# ----------------------------------------------------------------------------- the CLI


def test_up_starts_every_part_once_and_env_points_clients_at_the_double(stack):
    assert sorted(stack.pids) == sorted(PARTS)
    assert all(pid_alive(pid) for pid in stack.pids.values())
    again = status_pids(mdk_cli(stack.home, "workspace", "up"))  # idempotent: the same pids
    assert again == stack.pids
    env = stack.env
    assert env["DATABRICKS_HOST"].startswith("http://127.0.0.1:")
    token = (stack.ws / "serving" / "token").read_text().strip()
    assert env["DATABRICKS_TOKEN"] == token
    assert (env["MLFLOW_TRACKING_URI"], env["MLFLOW_REGISTRY_URI"]) == (
        "databricks",
        "databricks-uc",
    )
    assert env["SPARK_REMOTE"] == env["MDK_SPARK_REMOTE"]
    assert env["SPARK_REMOTE"].startswith("sc://127.0.0.1:")
    config = Path(env["DATABRICKS_CONFIG_FILE"])
    assert config.parent == stack.ws  # never ~/.databrickscfg
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert config.read_text() == f"[DEFAULT]\nhost = {env['DATABRICKS_HOST']}\ntoken = {token}\n"
    assert {"DATABRICKS_CONFIG_PROFILE", "DATABRICKS_CLUSTER_ID", "DATABRICKS_CLIENT_ID"} <= set(
        stack.unset
    )


def test_status_shows_every_part_healthy(stack):
    out = mdk_cli(stack.home, "workspace", "status")
    rows = {line.split()[0]: line.split() for line in out.splitlines()[2:]}
    assert sorted(rows) == sorted(PARTS)
    assert all(row[-2:] == ["yes", "yes"] for row in rows.values())


# ----------------------------------------------------------------------------- one host


def test_one_host_routes_each_api_to_its_part(client_env):
    from databricks.sdk import WorkspaceClient

    host, auth = client_env.host, {"Authorization": f"Bearer {client_env.env['DATABRICKS_TOKEN']}"}
    w = WorkspaceClient()  # from the environment only
    assert w.current_user.me().user_name.endswith("@localhost")
    assert list(w.serving_endpoints.list()) == []  # the serving endpoint
    monitor = requests.get(
        f"{host}/api/2.1/unity-catalog/tables/main.mdk.nothing/monitor", headers=auth
    )
    assert (monitor.status_code, monitor.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    scoring = requests.post(
        f"{host}/serving-endpoints/nothing/invocations",
        headers=auth,
        json={"dataframe_records": [{"a": 1}]},
    )
    assert (scoring.status_code, scoring.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    experiments = requests.post(
        f"{host}/api/2.0/mlflow/experiments/search", headers=auth, json={"max_results": 10}
    )
    assert experiments.status_code == 200  # the tracking server
    models = requests.get(
        f"{host}/api/2.0/mlflow/unity-catalog/registered-models/search", headers=auth
    )
    assert models.status_code == 200  # the UC registry
    assert isinstance(models.json().get("registered_models", []), list)
    refused = requests.get(f"{host}/api/2.0/serving-endpoints")
    assert (refused.status_code, refused.json()["error_code"]) == (401, "UNAUTHENTICATED")


def test_register_serve_and_score_through_the_one_host(client_env, monkeypatch):
    """MLflow's databricks clients log and register to Unity Catalog; the databricks-sdk
    serves that version; the endpoint loads it from the double's registry and scores."""
    import mlflow
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.service.serving import EndpointCoreConfigInput, ServedEntityInput
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression

    from recipes.target import use_target

    monkeypatch.setenv("MDK_EXPERIMENT_DIR", "/Shared/mdk-flow")
    mark = client_env.mark()
    use_target("databricks", experiment="flow")  # 01's first step: nothing written yet
    assert [e for e in client_env.requests_since(mark) if e["method"] in WRITES] == []
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.uniform(size=80), "b": rng.uniform(size=80)})
    model = LogisticRegression().fit(X, (X.a > 0.5).astype(int))
    name = f"main.flow.m_{uuid.uuid4().hex[:6]}"
    with mlflow.start_run() as run:  # the experiment is made with the first run
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=infer_signature(X, model.predict(X)),
            registered_model_name=name,
            pip_requirements=["scikit-learn"],
        )
    assert mlflow.get_experiment(run.info.experiment_id).name == "/Shared/mdk-flow/flow"
    assert info.registered_model_version == "1"
    w = WorkspaceClient()
    endpoint = f"flow-{uuid.uuid4().hex[:6]}"
    entity = ServedEntityInput(
        entity_name=name, entity_version="1", workload_size="Small", scale_to_zero_enabled=False
    )
    w.serving_endpoints.create_and_wait(
        name=endpoint, config=EndpointCoreConfigInput(name=endpoint, served_entities=[entity])
    )
    answer = w.serving_endpoints.query(endpoint, dataframe_records=X.head(4).to_dict("records"))
    assert answer.predictions == model.predict(X.head(4)).tolist()
    w.serving_endpoints.delete(endpoint)


def _spark_client(stack, code: str) -> list[str]:
    """Run ``code`` after ``spark = <a session on the stack's Spark Connect server>``: a bare
    ``DatabricksSession.builder.getOrCreate()`` in .venv-dbx, or, without that venv,
    pyspark's Connect client. Returns its stdout's lines."""
    dbx = repo_root() / ".venv-dbx" / "bin" / "python"
    if dbx.exists():
        python = str(dbx)
        head = (
            "from databricks.connect import DatabricksSession\n"
            "spark = DatabricksSession.builder.getOrCreate()\n"
        )
    else:
        python = sys.executable
        head = (
            "import os\nfrom pyspark.sql import SparkSession\n"
            "spark = SparkSession.builder.remote(os.environ['SPARK_REMOTE']).getOrCreate()\n"
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABRICKS_")}
    env = {
        k: v for k, v in env.items() if k not in ("SPARK_CONNECT_MODE_ENABLED", "MDK_SPARK_REMOTE")
    }
    out = subprocess.run(
        [python, "-c", head + code],
        env=env | stack.env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip().splitlines()


def test_databricks_connect_reaches_the_spark_server(stack):
    out = _spark_client(stack, "print(spark.range(10).selectExpr('sum(id) AS s').collect()[0].s)")
    assert out[-1] == "45"


# the client sends only Spark's own calls, as to a workspace: the server resolves the names
SERVER_TABLES = """
import json
def rows(name):
    return spark.sql(f"SELECT count(*) AS n FROM {name}").collect()[0].n
out = {}
spark.sql("CREATE SCHEMA IF NOT EXISTS main.cat_test")
three = spark.createDataFrame([(1, "a"), (2, "b"), (3, "c")], "k long, v string")
three.write.format("delta").mode("overwrite").saveAsTable("main.cat_test.t")
three.limit(2).write.format("delta").mode("overwrite").saveAsTable("main.cat_test.t")
out["replaced"] = rows("main.cat_test.t")
three.write.format("delta").mode("append").saveAsTable("main.cat_test.t")
out["appended"] = spark.table("main.cat_test.t").count()
bad = spark.sql("SELECT id AS k, CAST(assert_true(id < 0) AS STRING) AS v FROM range(3)")
try:
    bad.write.format("delta").mode("overwrite").saveAsTable("main.cat_test.t")
except Exception as exc:
    out["failed_overwrite"] = type(exc).__name__
out["after_failure"] = rows("main.cat_test.t")
try:
    three.write.format("delta").saveAsTable("main.cat_test.t")  # the default mode: error
except Exception as exc:
    out["exists_error"] = "TABLE_OR_VIEW_ALREADY_EXISTS" in str(exc)
spark.sql("ALTER TABLE main.cat_test.t SET TBLPROPERTIES ('created_by' = 'mdk', "
          "delta.enableChangeDataFeed = true)")
spark.sql("MERGE INTO main.cat_test.t USING (SELECT 3 AS k, 'z' AS v UNION ALL SELECT 9, 'n') s "
          "ON t.k = s.k WHEN MATCHED THEN UPDATE SET v = s.v WHEN NOT MATCHED THEN INSERT *")
history = spark.sql("DESCRIBE HISTORY main.cat_test.t").orderBy("version").collect()
out["history"] = [h.operation for h in history]
out["v0"] = spark.read.option("versionAsOf", 0).table("main.cat_test.t").count()
out["v1_sql"] = spark.sql("SELECT count(*) AS n FROM main.cat_test.t VERSION AS OF 1").collect()[0].n
changes = (spark.read.option("readChangeFeed", "true").option("startingVersion", history[-1].version)
           .table("main.cat_test.t").where("k IN (3, 9)").orderBy("k", "_change_type").collect())
out["changes"] = [(c.k, c.v, c._change_type) for c in changes]
try:
    spark.sql("MERGE INTO main.cat_test.t USING (SELECT 1 AS k, 'x' AS v UNION ALL SELECT 1, 'y') s "
              "ON t.k = s.k WHEN MATCHED THEN UPDATE SET v = s.v").collect()
except Exception as exc:
    out["duplicate_key"] = "DELTA_MULTIPLE_SOURCE_ROW_MATCHING_TARGET_ROW_IN_MERGE" in str(exc)
out["captured"] = spark.sql(
    "SELECT sum(status_code) AS s FROM main.cat_test.captured WHERE served_entity = 'champion'"
).collect()[0].s
out["default_catalog"] = spark.sql("SELECT current_catalog() AS c").collect()[0].c
spark.sql("DROP TABLE main.cat_test.gone")
out["dropped"] = spark.catalog.tableExists("main.cat_test.gone")
out["tables"] = sorted(t.name for t in spark.catalog.listTables("main.cat_test"))
print(json.dumps(out))
"""


def test_the_spark_server_runs_delta_over_catalog_schema_table(stack):
    """The double's Spark Connect server runs Delta Lake with the kit's catalog
    (``mdk.PathCatalog``): through a real databricks-connect client, three-level names,
    replace, append, a failed overwrite that leaves the table whole, properties, ``MERGE
    INTO`` (and Delta's error for a duplicate source key), ``DESCRIBE HISTORY``, time travel,
    the change data feed and drop, over the folder where the endpoint appends its inference
    tables with delta-rs."""
    import json

    import pyarrow as pa
    from deltalake import DeltaTable

    from recipes import tables

    ws = stack.ws
    captured = pd.DataFrame(
        {"served_entity": ["champion", "challenger", "champion"], "status_code": [200, 400, 200]}
    )
    # as the endpoint's capture does: delta-rs, no JVM
    tables.append("main.cat_test.captured", pa.Table.from_pandas(captured), home=ws)
    tables.append("main.cat_test.gone", pa.Table.from_pandas(captured), home=ws)
    got = json.loads(_spark_client(stack, SERVER_TABLES)[-1])
    assert got == {
        "replaced": 2,
        "appended": 5,
        "failed_overwrite": got.get("failed_overwrite"),
        "after_failure": 5,
        "exists_error": True,
        "captured": 400,
        "history": [
            "CREATE OR REPLACE TABLE AS SELECT",
            "CREATE OR REPLACE TABLE AS SELECT",
            "WRITE",
            "SET TBLPROPERTIES",
            "MERGE",
        ],
        "v0": 3,
        "v1_sql": 2,
        "duplicate_key": True,
        "changes": [[3, "z", "update_postimage"], [3, "c", "update_preimage"], [9, "n", "insert"]],
        "tables": ["captured", "t"],
        "default_catalog": "main",
        "dropped": False,
    }
    assert got["failed_overwrite"], "the overwrite whose job fails must raise"
    # the server's table is a Delta table at its path: delta-rs reads what Spark wrote
    t = DeltaTable(str(tables.table_path("main.cat_test.t", ws)))
    assert sorted(t.to_pandas()["k"]) == [1, 1, 2, 2, 3, 9]
    assert t.version() == 4  # the failed overwrite committed nothing
    assert tables.properties("main.cat_test.t", home=ws)["created_by"] == "mdk"
    assert not (ws / "warehouse" / "main" / "cat_test" / "gone").exists()


# ----------------------------------------------------------------------------- an empty workspace

N = workspace_names.for_target("databricks", {})
EMPTY = {
    # notebook: (parameters, what is missing, the notebook that makes it)
    "02_promote": (
        {"model_name": N.model_name},
        f"Model {N.model_name!r} with 2 versions",
        "01_register",
    ),
    "03_serve": ({"model_name": N.model_name}, f"Model {N.model_name!r}", "01_register"),
    "04_ab_split": (
        {"model_name": N.model_name, "catalog": N.catalog, "schema": N.schema},
        f"Model {N.model_name!r}",
        "01_register",
    ),
    "05_batch_score": (
        {"model_uri": N.model_uri(), "output_table": N.table("churn_scores")},
        f"Model {N.model_name!r}",
        "01_register",
    ),
    "06_monitor": ({"model_name": N.model_name}, "Serving endpoint 'churn-ab'", "04_ab_split"),
    "08_retrain": ({}, "Serving endpoint 'churn-ab'", "06_monitor"),
}


def _first_cell_after_the_check(notebook: str) -> str:
    """The source of the code cell after the parameters check (papermill's injected cell
    comes after ``parameters``, then the check; this is the one after that)."""
    code = [
        c for c in nbformat.read(NOTEBOOKS / f"{notebook}.ipynb", 4).cells if c.cell_type == "code"
    ]
    params = next(i for i, c in enumerate(code) if "parameters" in c.metadata.get("tags", []))
    return code[params + 2].source


@pytest.mark.parametrize("notebook", sorted(EMPTY))
def test_an_empty_workspace_stops_each_notebook_before_any_write(client_env, notebook):
    parameters, missing, maker = EMPTY[notebook]
    mark = client_env.mark()
    namespace = run_first_checks(notebook, target="databricks", **parameters)
    with pytest.raises(NotFoundError) as caught:
        exec(compile(_first_cell_after_the_check(notebook), f"<{notebook}>", "exec"), namespace)  # noqa: S102
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(missing)
    assert " is missing on target 'databricks': " in message
    assert f"run notebooks/{maker}.ipynb first" in message
    calls = client_env.requests_since(mark)
    assert calls, "the notebook never reached the double"
    writes = [
        (e["method"], e["path"])
        for e in calls
        if e["method"] in WRITES and e["path"] not in READ_ONLY_POSTS
    ]
    assert writes == []
