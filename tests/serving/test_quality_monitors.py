"""Lakehouse Monitoring on the local endpoint, through the real databricks-sdk.

``w.quality_monitors.create / get / run_refresh / get_refresh / list_refreshes /
cancel_refresh / delete`` against a real endpoint process; a refresh is a Spark job in its
own process, writing the profile and drift metric tables that these tests read back.
"""

from __future__ import annotations

import contextlib
import time
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import requests
from databricks.sdk.errors import InvalidParameterValue, NotFound, ResourceAlreadyExists
from databricks.sdk.service.catalog import (
    MonitorInferenceLog,
    MonitorInferenceLogProblemType,
    MonitorInfoStatus,
    MonitorRefreshInfoState,
)

from recipes import tables
from recipes.errors import KitError
from recipes.monitoring import wait_for_refresh
from tests.serving.conftest import Server

CLASSIFICATION = MonitorInferenceLogProblemType.PROBLEM_TYPE_CLASSIFICATION
FEATURES = {"total_purchases", "avg_session_duration", "plan", "prediction"}
HOURS = 3


def payload(n: int = 2000, seed: int = 0, *, shift_last_hour: float = 0.0) -> pd.DataFrame:
    """An unpacked inference table: ``n`` rows over 3 hours, model versions 1 and 2."""
    rng = np.random.default_rng(seed)
    seconds = rng.integers(0, HOURS * 3600, n)
    duration = rng.normal(300, 50, n) + np.where(seconds >= (HOURS - 1) * 3600, shift_last_hour, 0)
    return pd.DataFrame({
        "timestamp": pd.Timestamp("2026-01-01") + pd.to_timedelta(seconds, unit="s"),
        "model_version": rng.choice(["1", "2"], n),
        "client_request_id": [f"req-{i}" for i in range(n)],
        "total_purchases": rng.poisson(15, n).astype("int64"),
        "avg_session_duration": duration,
        "plan": rng.choice(["basic", "premium"], n),
        "prediction": rng.integers(0, 2, n).astype("int64"),
    })  # fmt: skip


def write(name: str, df: pd.DataFrame, home) -> None:
    """``df`` as the Delta table ``name`` in ``home``'s warehouse, with delta-rs (no JVM in the
    test); naive timestamps as Delta ``timestamp`` in UTC, as the kit's UTC Spark sessions
    write them."""
    data = pa.Table.from_pandas(df, preserve_index=False)
    fields = [pa.field(f.name, pa.timestamp("us", tz="UTC")) if pa.types.is_timestamp(f.type)
              else f for f in data.schema]  # fmt: skip
    tables.append(name, data.cast(pa.schema(fields)), home=home)


def inference_log(**overrides) -> MonitorInferenceLog:
    kwargs = dict(problem_type=CLASSIFICATION, prediction_col="prediction",
                  model_id_col="model_version", timestamp_col="timestamp",
                  granularities=["1 hour"], label_col=None)  # fmt: skip
    return MonitorInferenceLog(**{**kwargs, **overrides})


def create(w, table: str, **extra):
    return w.quality_monitors.create(
        table_name=table,
        inference_log=extra.pop("inference_log", inference_log()),
        output_schema_name="main.mdk",
        assets_dir=f"/Workspace/Shared/mdk/monitoring/{table}",
        **extra,
    )


@contextlib.contextmanager
def _server_in(root):
    """An endpoint with its own MDK_HOME under ``root``, stopped by pid on the way out."""
    (root / "mdk").mkdir(exist_ok=True)
    (root / "store").mkdir(exist_ok=True)
    srv = Server(root / "mdk", root / "store")
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """An endpoint with its own MDK_HOME; no model store is needed for monitors."""
    with _server_in(tmp_path_factory.mktemp("monitors")) as srv:
        yield srv


@pytest.fixture(scope="module")
def w(server):
    return server.client()


def test_errors_need_no_job(server, w):
    write("main.mdk.err_payload", payload(50), home=server.home)
    with pytest.raises(NotFound, match="main.mdk.no_such_table"):
        create(w, "main.mdk.no_such_table")
    with pytest.raises(InvalidParameterValue, match="'nope'") as exc:
        create(w, "main.mdk.err_payload", inference_log=inference_log(prediction_col="nope"))
    assert "\n" not in str(exc.value)
    with pytest.raises(InvalidParameterValue, match="label_col 'churned'"):
        create(w, "main.mdk.err_payload", inference_log=inference_log(label_col="churned"))
    with pytest.raises(InvalidParameterValue, match="granularities"):
        create(w, "main.mdk.err_payload", inference_log=inference_log(granularities=["1 month"]))
    with pytest.raises(InvalidParameterValue, match="baseline_table_name"):
        create(w, "main.mdk.err_payload", baseline_table_name="main.mdk.no_baseline")
    for call in (w.quality_monitors.get, w.quality_monitors.run_refresh,
                 w.quality_monitors.list_refreshes, w.quality_monitors.delete):  # fmt: skip
        with pytest.raises(NotFound, match="Monitor for table 'main.mdk.err_payload'"):
            call(table_name="main.mdk.err_payload")
    url = f"{server.url}/api/2.1/unity-catalog/tables/main.mdk.err_payload/monitor"
    assert requests.get(url, timeout=10).status_code == 401
    assert not (server.home / "serving" / "monitors" / "main.mdk.err_payload").exists()


@pytest.mark.spark
def test_refresh_writes_profile_and_drift_tables(server, w):
    table = "main.mdk.churn_ab_payload_unpacked"
    write(table, payload(shift_last_hour=150.0), home=server.home)
    write("main.mdk.churn_ab_payload_baseline",
          payload(seed=1).drop(columns=["timestamp"]), home=server.home)  # fmt: skip
    info = create(w, table, baseline_table_name="main.mdk.churn_ab_payload_baseline")
    assert info.status == MonitorInfoStatus.MONITOR_STATUS_ACTIVE
    assert info.profile_metrics_table_name == f"{table}_profile_metrics"
    assert info.drift_metrics_table_name == f"{table}_drift_metrics"
    assert info.inference_log.granularities == ["1 hour"]
    first = w.quality_monitors.list_refreshes(table_name=table).refreshes  # started by create
    assert [r.refresh_id for r in first] == [1]

    started = time.perf_counter()
    refresh = w.quality_monitors.run_refresh(table_name=table)
    assert (refresh.refresh_id, refresh.state) == (2, MonitorRefreshInfoState.PENDING)
    seen = set()
    while True:  # one refresh at a time: the second waits PENDING while the first runs
        states = {r.refresh_id: r.state.value
                  for r in w.quality_monitors.list_refreshes(table_name=table).refreshes}  # fmt: skip
        assert list(states.values()).count("RUNNING") <= 1, states
        seen.add((states[1], states[2]))
        if states[2] not in ("PENDING", "RUNNING"):
            break
        assert time.perf_counter() - started < 600, states
        time.sleep(0.2)
    assert ("RUNNING", "PENDING") in seen, seen
    done = wait_for_refresh(w, table, refresh.refresh_id, timeout=10)
    assert done.state == MonitorRefreshInfoState.SUCCESS
    assert done.end_time_ms >= done.start_time_ms
    print(f"two refreshes of 2,000 rows took {time.perf_counter() - started:.1f} s")
    assert w.quality_monitors.get_refresh(table_name=table, refresh_id=1).state.value == "SUCCESS"

    profile = tables.read(info.profile_metrics_table_name, home=server.home)
    assert set(profile["column_name"]) == FEATURES  # no timestamp, model id or request id
    assert set(profile["log_type"]) == {"INPUT"}  # the baseline has no timestamps
    per_column = profile.groupby("column_name").size()
    assert (per_column == HOURS * 3).all(), per_column  # windows x (:all, "1", "2")
    everything = profile[(profile["model_id"] == ":all")]
    assert everything.groupby("column_name")["count"].sum().eq(2000).all()
    assert profile.loc[profile["column_name"] == "plan", "avg"].isna().all()
    assert profile.loc[profile["column_name"] == "avg_session_duration", "avg"].notna().all()

    drift = tables.read(info.drift_metrics_table_name, home=server.home)
    assert set(drift["column_name"]) == FEATURES
    counts = drift.groupby(["drift_type", "column_name"]).size()
    assert (counts["CONSECUTIVE"] == (HOURS - 1) * 3).all(), counts
    assert (counts["BASELINE"] == HOURS * 3).all(), counts
    pred = drift[drift["column_name"] == "prediction"]
    assert pred["chi_squared_test"].notna().all() and pred["ks_test"].isna().all()
    dur = drift[(drift["column_name"] == "avg_session_duration") & (drift["model_id"] == ":all")
                & (drift["drift_type"] == "BASELINE")]  # fmt: skip
    pvalues = dur.sort_values("window", key=lambda s: s.map(lambda w_: w_["start"]))["ks_test"].map(
        lambda t: t["pvalue"]
    )
    assert pvalues.iloc[-1] < 1e-6 < pvalues.iloc[0], list(pvalues)  # the shifted last hour

    health = requests.get(server.url + "/health", timeout=10).json()
    assert health["pyspark_imported"] is False  # the job ran Spark, the endpoint did not
    log = (server.home / "logs" / f"monitor-{table}.log").read_text()
    assert log.count("SUCCESS in") == 2
    print(*(line[:40] for line in log.splitlines() if "SUCCESS in" in line), sep="\n")
    w.quality_monitors.delete(table_name=table)
    assert tables.exists(info.profile_metrics_table_name, home=server.home)  # tables stay


@pytest.mark.spark
def test_duplicate_create_conflicts_and_a_failed_refresh_says_why(server, w):
    table = "main.mdk.gone_payload"
    write(table, payload(200), home=server.home)
    create(w, table)
    with pytest.raises(ResourceAlreadyExists, match="already exists"):
        create(w, table)
    tables.files.drop(table, home=server.home)
    refresh = w.quality_monitors.run_refresh(table_name=table)
    with pytest.raises(KitError, match=f"ended FAILED: Table '{table}' does not exist") as exc:
        wait_for_refresh(w, table, refresh.refresh_id, timeout=300, poll=0.2)
    assert "\n" not in str(exc.value)
    info = w.quality_monitors.get(table_name=table)
    assert "does not exist" in info.latest_monitor_failure_msg
    w.quality_monitors.delete(table_name=table)
    with pytest.raises(NotFound):
        w.quality_monitors.get(table_name=table)


@pytest.mark.spark
def test_monitors_survive_a_restart_and_refreshes_can_be_canceled(churn_free_server):
    srv = churn_free_server
    w = srv.client()
    table = "main.mdk.restart_payload"
    write(table, payload(300), home=srv.home)
    create(w, table, baseline_table_name=None)
    wait_running(w, table, 1)
    srv.restart()  # stops the endpoint while refresh 1 runs; its job goes with it
    w = srv.client()
    info = w.quality_monitors.get(table_name=table)
    assert (info.monitor_version, info.assets_dir) == (
        1,
        f"/Workspace/Shared/mdk/monitoring/{table}",
    )
    (first,) = w.quality_monitors.list_refreshes(table_name=table).refreshes
    assert first.state == MonitorRefreshInfoState.FAILED, first
    assert "endpoint stopped" in first.message
    refresh = w.quality_monitors.run_refresh(table_name=table)
    wait_running(w, table, refresh.refresh_id)
    w.quality_monitors.cancel_refresh(table_name=table, refresh_id=refresh.refresh_id)
    after = w.quality_monitors.get_refresh(table_name=table, refresh_id=refresh.refresh_id)
    assert after.state == MonitorRefreshInfoState.CANCELED
    assert not [p for p in srv.children() if "recipes.monitoring.refresh" in " ".join(p.cmdline())]
    w.quality_monitors.delete(table_name=table)
    with pytest.raises(NotFound):
        w.quality_monitors.list_refreshes(table_name=table)


def wait_running(w, table: str, refresh_id: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        state = w.quality_monitors.get_refresh(table_name=table, refresh_id=refresh_id).state
        if state == MonitorRefreshInfoState.RUNNING:
            return
        assert state == MonitorRefreshInfoState.PENDING and time.monotonic() < deadline, state
        time.sleep(0.05)


@pytest.fixture
def churn_free_server(tmp_path):
    with _server_in(tmp_path) as srv:
        yield srv


def test_wait_for_refresh_raises_on_failure_and_timeout():
    answers = iter(["PENDING", "RUNNING", "FAILED"])

    def get_refresh(table_name, refresh_id):
        return SimpleNamespace(state=SimpleNamespace(value=next(answers)), message="boom: x")

    w = SimpleNamespace(quality_monitors=SimpleNamespace(get_refresh=get_refresh))
    with pytest.raises(KitError, match="refresh 7 of main.s.t ended FAILED: boom: x"):
        wait_for_refresh(w, "main.s.t", 7, poll=0)
    answers = iter(["RUNNING"] * 1000)
    with pytest.raises(KitError, match="still RUNNING after 0 s"):
        wait_for_refresh(w, "main.s.t", 7, timeout=0.05, poll=0.01)


@pytest.mark.parametrize(
    ("remote", "kept"),
    [
        ("sc://127.0.0.1:15002", True),
        ("sc://localhost:15002/;user_id=mdk", True),
        ("sc://adb-123.azuredatabricks.net:443/;token=dapi", False),
        ("sc://127.0.0.1.example.com:15002", False),
        ("", False),
    ],
)
def test_a_refresh_job_keeps_only_a_spark_connect_server_on_this_machine(remote, kept, tmp_path):
    from recipes.endpoint.monitors.manager import job_env

    env = job_env({"MDK_SPARK_REMOTE": remote, "SPARK_REMOTE": remote, "PATH": "/bin"}, tmp_path)
    assert env.get("MDK_SPARK_REMOTE") == (remote if kept else None)
    assert "SPARK_REMOTE" not in env  # a workspace's session never reaches the local job
    assert env["MDK_HOME"] == str(tmp_path) and env["MDK_TARGET"] == "local"
    assert env["PATH"] == "/bin"
