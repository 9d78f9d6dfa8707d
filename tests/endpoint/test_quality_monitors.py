"""Lakehouse Monitoring on the local endpoint, through the real databricks-sdk.

``w.quality_monitors.create / get / update / run_refresh / get_refresh / list_refreshes /
cancel_refresh / delete`` against a real endpoint process; a refresh is a Spark job in its
own process, writing the profile and drift metric tables that these tests read back. A field
the local monitor does not carry out gets a 400 naming it; a schedule fires refreshes.
"""

from __future__ import annotations

import contextlib
import json
import time
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import requests
from databricks.sdk.errors import InvalidParameterValue, NotFound, ResourceAlreadyExists
from databricks.sdk.service.catalog import (
    MonitorCronSchedule,
    MonitorCronSchedulePauseStatus,
    MonitorDataClassificationConfig,
    MonitorDestination,
    MonitorInferenceLog,
    MonitorInferenceLogProblemType,
    MonitorInfoStatus,
    MonitorMetric,
    MonitorMetricType,
    MonitorNotifications,
    MonitorRefreshInfoState,
    MonitorRefreshInfoTrigger,
    MonitorSnapshot,
    MonitorTimeSeries,
)

from recipes import tables
from recipes.errors import KitError
from recipes.monitoring import wait_for_refresh
from tests.endpoint.server import Server

CLASSIFICATION = MonitorInferenceLogProblemType.PROBLEM_TYPE_CLASSIFICATION
FEATURES = {"total_purchases", "avg_session_duration", "plan", "prediction"}
HOURS = 3


def payload(n: int = 2000, seed: int = 0, *, shift_last_hour: float = 0.0) -> pd.DataFrame:
    """An unpacked inference table: ``n`` rows over 3 hours, model versions 1 and 2."""
    rng = np.random.default_rng(seed)
    seconds = rng.integers(0, HOURS * 3600, n)
    duration = rng.normal(300, 50, n) + np.where(seconds >= (HOURS - 1) * 3600, shift_last_hour, 0)
    return pd.DataFrame(
        {
            "timestamp": pd.Timestamp("2026-01-01") + pd.to_timedelta(seconds, unit="s"),
            "model_version": rng.choice(["1", "2"], n),
            "client_request_id": [f"req-{i}" for i in range(n)],
            "total_purchases": rng.poisson(15, n).astype("int64"),
            "avg_session_duration": duration,
            "plan": rng.choice(["basic", "premium"], n),
            "prediction": rng.integers(0, 2, n).astype("int64"),
        }
    )


def write(name: str, df: pd.DataFrame, home) -> None:
    """``df`` as the Delta table ``name`` in ``home``'s warehouse, with delta-rs (no JVM in the
    test); naive timestamps as Delta ``timestamp`` in UTC, as the kit's UTC Spark sessions
    write them."""
    data = pa.Table.from_pandas(df, preserve_index=False)
    fields = [
        pa.field(f.name, pa.timestamp("us", tz="UTC")) if pa.types.is_timestamp(f.type) else f
        for f in data.schema
    ]
    tables.append(name, data.cast(pa.schema(fields)), home=home)


def inference_log(**overrides) -> MonitorInferenceLog:
    kwargs = dict(
        problem_type=CLASSIFICATION,
        prediction_col="prediction",
        model_id_col="model_version",
        timestamp_col="timestamp",
        granularities=["1 hour"],
        label_col=None,
    )
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
        create(w, "main.mdk.err_payload", inference_log=inference_log(granularities=["2 minutes"]))
    with pytest.raises(InvalidParameterValue, match="baseline_table_name"):
        create(w, "main.mdk.err_payload", baseline_table_name="main.mdk.no_baseline")
    for call in (
        w.quality_monitors.get,
        w.quality_monitors.run_refresh,
        w.quality_monitors.list_refreshes,
        w.quality_monitors.delete,
    ):
        with pytest.raises(NotFound, match="Monitor for table 'main.mdk.err_payload'"):
            call(table_name="main.mdk.err_payload")
    url = f"{server.url}/api/2.1/unity-catalog/tables/main.mdk.err_payload/monitor"
    assert requests.get(url, timeout=10).status_code == 401
    assert not (server.home / "serving" / "monitors" / "main.mdk.err_payload").exists()


# --------------------------------------------------------------------------- what is refused

AGGREGATE = MonitorMetricType.CUSTOM_METRIC_TYPE_AGGREGATE
DOUBLE = json.dumps({"name": "output", "type": "double", "nullable": True, "metadata": {}})
EVERY_SECOND = "* * * * * ?"


def metric(**overrides) -> MonitorMetric:
    kwargs = dict(
        type=AGGREGATE,
        name="avg_purchases",
        definition="avg(`{{input_column}}`)",
        input_columns=["total_purchases"],
        output_data_type=DOUBLE,
    )
    return MonitorMetric(**{**kwargs, **overrides})


NOT_IMITATED = "the local monitor does not imitate it"
REFUSED_BY_THE_SDK = [  # (what create is called with, the field, what the 400 says)
    (
        dict(
            notifications=MonitorNotifications(on_failure=MonitorDestination(["ops@example.com"]))
        ),
        "notifications",
        NOT_IMITATED,
    ),
    (
        dict(data_classification_config=MonitorDataClassificationConfig(enabled=True)),
        "data_classification_config",
        NOT_IMITATED,
    ),
    (dict(warehouse_id="0123456789abcdef"), "warehouse_id", NOT_IMITATED),
    (
        dict(inference_log=inference_log(prediction_proba_col="prediction")),
        "inference_log.prediction_proba_col",
        NOT_IMITATED,
    ),
    (dict(skip_builtin_dashboard=False), "skip_builtin_dashboard", "makes no dashboard"),
    (dict(latest_monitor_failure_msg="boom"), "latest_monitor_failure_msg", "set by the monitor"),
    (
        dict(time_series=MonitorTimeSeries(timestamp_col="timestamp", granularities=["1 day"])),
        "time_series",
        "exactly one of inference_log, time_series, snapshot",
    ),
    (dict(inference_log=None), "inference_log", "exactly one of inference_log, time_series"),
    (
        dict(inference_log=inference_log(granularities=["2 minutes"])),
        "inference_log.granularities",
        "granularity '2 minutes' is not one Databricks accepts",
    ),
    (
        dict(inference_log=None, time_series=MonitorTimeSeries("timestamp", ["7 seconds"])),
        "time_series.granularities",
        "granularity '7 seconds' is not one Databricks accepts",
    ),
    (
        dict(inference_log=None, time_series=MonitorTimeSeries("ts", ["1 day"])),
        "time_series.timestamp_col",
        "'ts' is not a column",
    ),
    (dict(slicing_exprs=["plan", "nope"]), "slicing_exprs[1]", "'nope' is not a column"),
    (
        dict(custom_metrics=[metric(input_columns=["nope"])]),
        "custom_metrics[0].input_columns",
        "'nope' is not a column",
    ),
    (
        dict(custom_metrics=[metric(definition="avg({{label_col}})")]),
        "custom_metrics[0].definition",
        "no inference_log.label_col",
    ),
    (dict(custom_metrics=[metric(), metric()]), "custom_metrics[1].name", "given twice"),
    (
        dict(custom_metrics=[metric(output_data_type="{not json")]),
        "custom_metrics[0].output_data_type",
        "not a StructField's JSON",
    ),
    (
        dict(
            schedule=MonitorCronSchedule(quartz_cron_expression="0 0 12 * * *", timezone_id="UTC")
        ),
        "schedule.quartz_cron_expression",
        "'?' in exactly one of day-of-month and day-of-week",
    ),
    (
        dict(
            schedule=MonitorCronSchedule(
                quartz_cron_expression="0 0 12 * * ?", timezone_id="Mars/Base"
            )
        ),
        "schedule.timezone_id",
        "not a Java time zone id",
    ),
]
REFUSED_IN_THE_BODY = [  # what the SDK cannot send: a raw create body's changes
    ({"dashboard_id": "d1"}, "dashboard_id", NOT_IMITATED),
    ({"alert_on_drift": True}, "alert_on_drift", "not a field of the monitor's create"),
    (
        {
            "inference_log": None,
            "time_series": {
                "timestamp_col": "timestamp",
                "label_col": "plan",
                "granularities": ["1 day"],
            },
        },
        "time_series.label_col",
        "not a field of MonitorTimeSeries",
    ),
    (
        {"inference_log": None, "snapshot": {"label_col": "plan"}},
        "snapshot.label_col",
        "not a field of MonitorSnapshot",
    ),
    ({"slicing_exprs": [5]}, "slicing_exprs[0]", "must be a non-empty string"),
    (
        {"custom_metrics": [{**metric().as_dict(), "type": "CUSTOM_METRIC_TYPE_MAX"}]},
        "custom_metrics[0].type",
        "is not one of CUSTOM_METRIC_TYPE_AGGREGATE",
    ),
    (
        {
            "schedule": {
                "quartz_cron_expression": "0 0 12 * * ?",
                "timezone_id": "UTC",
                "pause_status": "STOPPED",
            }
        },
        "schedule.pause_status",
        "not one of PAUSED",
    ),
]


def _check_refused(server, exc, field: str, says: str) -> None:
    assert exc.value.error_code == "INVALID_PARAMETER_VALUE"
    message = str(exc.value)
    assert field in message and says in message, message
    assert "\n" not in message
    assert not (server.home / "serving" / "monitors" / "main.mdk.err_payload").exists()


@pytest.mark.parametrize(
    ("kwargs", "field", "says"), REFUSED_BY_THE_SDK, ids=[c[1] for c in REFUSED_BY_THE_SDK]
)
def test_what_the_local_monitor_does_not_carry_out_is_a_400_naming_it(
    server, w, kwargs, field, says
):
    if not tables.exists("main.mdk.err_payload", home=server.home):
        write("main.mdk.err_payload", payload(50), home=server.home)
    with pytest.raises(InvalidParameterValue) as exc:
        create(w, "main.mdk.err_payload", **kwargs)
    _check_refused(server, exc, field, says)


@pytest.mark.parametrize(
    ("changes", "field", "says"), REFUSED_IN_THE_BODY, ids=[c[1] for c in REFUSED_IN_THE_BODY]
)
def test_a_raw_body_field_the_sdk_cannot_send_is_a_400_naming_it(server, w, changes, field, says):
    if not tables.exists("main.mdk.err_payload", home=server.home):
        write("main.mdk.err_payload", payload(50), home=server.home)
    body = {
        "output_schema_name": "main.mdk",
        "assets_dir": "/Workspace/Shared/mdk/x",
        "inference_log": inference_log().as_dict(),
        **changes,
    }
    body = {k: v for k, v in body.items() if v is not None}
    path = "/api/2.1/unity-catalog/tables/main.mdk.err_payload/monitor"
    with pytest.raises(InvalidParameterValue) as exc:
        w.api_client.do("POST", path, body=body)
    _check_refused(server, exc, field, says)


# --------------------------------------------------------------------------- what is accepted


def test_time_series_and_snapshot_monitors_are_accepted_and_get_returns_what_was_applied(server, w):
    """The create/get shapes only: the refreshes' computation is ``recipes.monitoring``'s."""
    table = "main.mdk.profiles_payload"
    write(table, payload(50).assign(label=lambda d: 1 - d["prediction"]), home=server.home)
    schedule = MonitorCronSchedule(
        quartz_cron_expression="0 0 12 * * ?",
        timezone_id="PST",
        pause_status=MonitorCronSchedulePauseStatus.PAUSED,
    )
    w.quality_monitors.create(
        table_name=table,
        output_schema_name="main.mdk",
        assets_dir="/Workspace/Shared/mdk/p",
        time_series=MonitorTimeSeries(
            timestamp_col="timestamp", granularities=["1 month", "1 year", "2 week"]
        ),
        slicing_exprs=["plan", "total_purchases > 10"],
        custom_metrics=[metric()],
        schedule=schedule,
        skip_builtin_dashboard=True,
        data_classification_config=MonitorDataClassificationConfig(enabled=False),
    )
    try:
        got = w.quality_monitors.get(table_name=table)
        assert got.time_series == MonitorTimeSeries(
            timestamp_col="timestamp", granularities=["1 month", "1 year", "2 weeks"]
        )  # as Databricks spells them
        assert (got.inference_log, got.snapshot, got.notifications, got.dashboard_id) == (
            None,
            None,
            None,
            None,
        )
        assert got.slicing_exprs == ["plan", "total_purchases > 10"]
        assert got.custom_metrics == [metric()] and got.schedule == schedule
        assert got.data_classification_config == MonitorDataClassificationConfig(enabled=False)
        stored = json.loads((server.home / "serving/monitors" / table / "monitor.json").read_text())
        assert stored["custom_metrics"] == [metric().as_dict()]  # what recipes.monitoring reads
        assert stored["schedule"] == schedule.as_dict()

        # the update dbdemos' mlops-end2end makes (07_model_monitoring), with more granularities
        expected_loss = metric(
            name="expected_loss",
            input_columns=[":table"],
            definition="avg(CASE WHEN {{prediction_col}} != {{label_col}} AND "
            "{{prediction_col}} = 1 THEN -total_purchases ELSE 0 END)",
        )
        noon = MonitorCronSchedule(quartz_cron_expression="0 0 12 * * ?", timezone_id="PST")
        log = inference_log(
            label_col="label", granularities=["1 day", "1 month", "1 year", "2 weeks"]
        )
        w.quality_monitors.update(
            table_name=table,
            output_schema_name="main.mdk",
            inference_log=log,
            schedule=noon,
            custom_metrics=[expected_loss],
            slicing_exprs=["total_purchases > 10"],
        )
        got = w.quality_monitors.get(table_name=table)
        assert (got.inference_log, got.time_series, got.slicing_exprs) == (
            log,
            None,
            ["total_purchases > 10"],
        )
        assert (
            got.custom_metrics == [expected_loss] and got.schedule.pause_status.value == "UNPAUSED"
        )
        assert (got.monitor_version, got.assets_dir) == (2, "/Workspace/Shared/mdk/p")
        assert got.data_classification_config is None  # an update replaces every setting

        with pytest.raises(InvalidParameterValue, match="dashboard_id"):
            w.quality_monitors.update(
                table_name=table,
                output_schema_name="main.mdk",
                snapshot=MonitorSnapshot(),
                dashboard_id="d1",
            )
        w.quality_monitors.update(
            table_name=table, output_schema_name="main.mdk", snapshot=MonitorSnapshot()
        )
        got = w.quality_monitors.get(table_name=table)
        assert (got.snapshot, got.inference_log, got.schedule, got.slicing_exprs) == (
            MonitorSnapshot(),
            None,
            None,
            None,
        )
        assert not got.custom_metrics  # the SDK reads an absent list as []
        raw = w.api_client.do("GET", f"/api/2.1/unity-catalog/tables/{table}/monitor")
        assert raw["snapshot"] == {} and raw["monitor_version"] == 3
    finally:
        w.quality_monitors.delete(table_name=table)


# --------------------------------------------------------------------------- schedules


def refreshes(w, table: str) -> list:
    return sorted(
        w.quality_monitors.list_refreshes(table_name=table).refreshes, key=lambda r: r.refresh_id
    )


def cancel_active(w, table: str) -> None:
    for r in refreshes(w, table):
        if r.state in (MonitorRefreshInfoState.PENDING, MonitorRefreshInfoState.RUNNING):
            w.quality_monitors.cancel_refresh(table_name=table, refresh_id=r.refresh_id)


def test_a_schedule_fires_one_refresh_at_a_time_until_update_removes_it(server, w):
    table = "main.mdk.scheduled_payload"
    write(table, payload(200), home=server.home)
    paused = MonitorCronSchedule(
        quartz_cron_expression=EVERY_SECOND,
        timezone_id="UTC",
        pause_status=MonitorCronSchedulePauseStatus.PAUSED,
    )
    create(w, table, schedule=paused)
    try:
        w.quality_monitors.cancel_refresh(table_name=table, refresh_id=1)  # create's own
        time.sleep(2.2)  # two firings of a paused schedule: none queues a refresh
        assert [r.trigger for r in refreshes(w, table)] == [MonitorRefreshInfoTrigger.MANUAL]
        assert w.quality_monitors.get(table_name=table).schedule == paused

        started = time.monotonic()
        w.quality_monitors.update(
            table_name=table,
            output_schema_name="main.mdk",
            inference_log=inference_log(),
            schedule=MonitorCronSchedule(quartz_cron_expression=EVERY_SECOND, timezone_id="UTC"),
        )
        assert w.quality_monitors.get(table_name=table).schedule.pause_status.value == "UNPAUSED"
        while not [r for r in refreshes(w, table) if r.trigger.value == "SCHEDULE"]:
            assert time.monotonic() - started < 1 + 10, "no SCHEDULE refresh within 1 s + 10 s"
            time.sleep(0.1)
        print(f"a SCHEDULE refresh after {time.monotonic() - started:.1f} s")
        time.sleep(3)  # three more firings while that refresh (a Spark job) is active
        seen = refreshes(w, table)
        assert all(r.trigger.value == "SCHEDULE" for r in seen[1:]), seen
        for r in seen[1:]:  # one at a time: each was queued once the ones before it had ended
            assert all(
                q.end_time_ms and q.end_time_ms <= r.start_time_ms
                for q in seen
                if q.refresh_id < r.refresh_id
            ), seen

        w.quality_monitors.update(
            table_name=table, output_schema_name="main.mdk", inference_log=inference_log()
        )
        assert w.quality_monitors.get(table_name=table).schedule is None
        cancel_active(w, table)
        last = max(r.refresh_id for r in refreshes(w, table))
        time.sleep(2.2)
        assert max(r.refresh_id for r in refreshes(w, table)) == last  # none fired any more
    finally:
        w.quality_monitors.delete(table_name=table)


@pytest.mark.spark
def test_refresh_writes_profile_and_drift_tables(server, w):
    table = "main.mdk.churn_ab_payload_unpacked"
    write(table, payload(shift_last_hour=150.0), home=server.home)
    write(
        "main.mdk.churn_ab_payload_baseline",
        payload(seed=1).drop(columns=["timestamp"]),
        home=server.home,
    )
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
        states = {
            r.refresh_id: r.state.value
            for r in w.quality_monitors.list_refreshes(table_name=table).refreshes
        }
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
    assert profile["slice_key"].isna().all()  # no slicing_exprs: the whole table only
    assert set(profile["column_name"]) == FEATURES | {":table"}  # no timestamp, model or id
    inputs = profile[profile["log_type"] == "INPUT"]
    per_column = inputs.groupby("column_name").size()
    assert (per_column == HOURS * 3).all(), per_column  # windows x ("*", "1", "2")
    # the baseline has no timestamp column: its rows are written all the same
    assert set(profile["log_type"]) == {"INPUT", "BASELINE"}
    everything = inputs[(inputs["model_version"] == "*") & (inputs["column_name"] != ":table")]
    assert everything.groupby("column_name")["count"].sum().eq(2000).all()
    assert inputs.loc[inputs["column_name"] == "plan", "avg"].isna().all()
    assert inputs.loc[inputs["column_name"] == "avg_session_duration", "avg"].notna().all()

    drift = tables.read(info.drift_metrics_table_name, home=server.home)
    assert set(drift["column_name"]) == FEATURES | {":table"}  # and the table's own rows
    counts = drift.groupby(["drift_type", "column_name"]).size()
    assert (counts["CONSECUTIVE"] == (HOURS - 1) * 3).all(), counts
    assert (counts["BASELINE"] == HOURS * 3).all(), counts
    pred = drift[drift["column_name"] == "prediction"]
    assert pred["chi_squared_test"].notna().all() and pred["ks_test"].isna().all()
    dur = drift[
        (drift["column_name"] == "avg_session_duration")
        & (drift["model_version"] == "*")
        & (drift["drift_type"] == "BASELINE")
    ]
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
def test_monitors_and_schedules_survive_a_restart_and_refreshes_can_be_canceled(
    churn_free_server,
):
    srv = churn_free_server
    w = srv.client()
    table = "main.mdk.restart_payload"
    write(table, payload(300), home=srv.home)
    schedule = MonitorCronSchedule(quartz_cron_expression=EVERY_SECOND, timezone_id="UTC")
    create(w, table, baseline_table_name=None, schedule=schedule)
    wait_running(w, table, 1)
    assert len(refreshes(w, table)) == 1  # the schedule's firings skip while refresh 1 runs
    srv.restart()  # stops the endpoint while refresh 1 runs; its job goes with it
    restarted = time.monotonic()
    w = srv.client()
    info = w.quality_monitors.get(table_name=table)
    assert (info.monitor_version, info.assets_dir) == (
        1,
        f"/Workspace/Shared/mdk/monitoring/{table}",
    )
    assert info.schedule.quartz_cron_expression == EVERY_SECOND
    first = w.quality_monitors.get_refresh(table_name=table, refresh_id=1)
    assert first.state == MonitorRefreshInfoState.FAILED, first
    assert "endpoint stopped" in first.message
    while len(found := refreshes(w, table)) < 2:  # the restored schedule fires again
        assert time.monotonic() - restarted < 1 + 10, found
        time.sleep(0.1)
    refresh = found[1]
    assert (refresh.refresh_id, refresh.trigger.value) == (2, "SCHEDULE")
    wait_running(w, table, refresh.refresh_id)
    w.quality_monitors.update(
        table_name=table, output_schema_name="main.mdk", inference_log=inference_log()
    )  # no schedule: no more firings
    w.quality_monitors.cancel_refresh(table_name=table, refresh_id=refresh.refresh_id)
    after = w.quality_monitors.get_refresh(table_name=table, refresh_id=refresh.refresh_id)
    assert after.state == MonitorRefreshInfoState.CANCELED
    assert len(refreshes(w, table)) == 2
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


def _sql(query: str, home, **tables_by_alias: str) -> pd.DataFrame:
    """``query`` over Delta tables by SQL, with delta-rs's DataFusion (no JVM in the test)."""
    from deltalake import DeltaTable, QueryBuilder

    qb = QueryBuilder()
    for alias, name in tables_by_alias.items():
        qb = qb.register(alias, DeltaTable(str(tables.table_path(name, home))))
    return pa.table(qb.execute(query).read_all()).to_pandas()


def test_labels_slices_and_a_custom_metric_through_the_sdk(server, w):
    """dbdemos' monitor (label_col, slicing_exprs, an AGGREGATE custom metric on ':table'),
    created through the SDK; the refresh's ':table' rows, read by SQL, equal sklearn's
    accuracy and pandas' expected loss on the same rows, and each window's slices add up."""
    from pyspark.sql.types import DoubleType, StructField
    from sklearn.metrics import accuracy_score, f1_score

    table = "main.mdk.sdk_labelled_unpacked"
    rows = payload(n=1500, seed=3)
    rng = np.random.default_rng(3)
    rows["churned"] = np.where(
        rng.random(len(rows)) < 0.8, rows["prediction"], 1 - rows["prediction"]
    )
    rows["churned"] = rows["churned"].astype("Int64").mask(rng.random(len(rows)) < 0.1)  # not yet
    write(table, rows, home=server.home)
    loss = MonitorMetric(
        type=AGGREGATE,
        name="expected_loss",
        input_columns=[":table"],
        definition="avg(CASE WHEN {{prediction_col}} != {{label_col}} AND {{label_col}} = 1 "
        "THEN -avg_session_duration ELSE 0 END)",
        output_data_type=StructField("output", DoubleType()).json(),
    )
    info = create(
        w,
        table,
        inference_log=inference_log(label_col="churned"),
        slicing_exprs=["plan", "total_purchases > 15"],
        custom_metrics=[loss],
    )
    assert [m.name for m in info.custom_metrics] == ["expected_loss"]
    done = wait_for_refresh(w, table, 1, timeout=300)
    assert done.state == MonitorRefreshInfoState.SUCCESS, done.message

    whole = _sql(
        "SELECT window.start AS start, accuracy_score, f1_score.macro AS f1_macro, "
        "expected_loss, count FROM p WHERE log_type = 'INPUT' AND column_name = ':table' "
        "AND slice_key IS NULL AND model_version = '*' ORDER BY start",
        server.home,
        p=info.profile_metrics_table_name,
    )
    assert len(whole) == HOURS
    hour = rows["timestamp"].dt.floor("h")
    for r in whole.itertuples():
        part = rows[hour == pd.Timestamp(r.start).tz_localize(None)]
        labelled = part[part["churned"].notna()]
        truth, pred = labelled["churned"].astype(int), labelled["prediction"]
        assert abs(r.accuracy_score - accuracy_score(truth, pred)) < 1e-9
        assert abs(r.f1_macro - f1_score(truth, pred, average="macro")) < 1e-9
        missed = (part["prediction"] != part["churned"]) & (part["churned"] == 1)
        # a NULL label makes the WHEN unknown, so the CASE gives 0 for that row, as in SQL
        want = np.where(missed.fillna(False), -part["avg_session_duration"], 0.0).mean()
        assert abs(r.expected_loss - want) < 1e-9
        assert r.count == len(part)
    sliced = _sql(
        "SELECT window.start AS start, slice_key, slice_value, count FROM p "
        "WHERE log_type = 'INPUT' AND column_name = ':table' AND model_version = '*' "
        "AND slice_key IS NOT NULL",
        server.home,
        p=info.profile_metrics_table_name,
    )
    assert set(sliced["slice_key"]) == {"plan", "total_purchases > 15"}
    sums = sliced.groupby(["start", "slice_key"])["count"].sum()
    for (start, _key), total in sums.items():
        assert total == whole.set_index("start").loc[start, "count"]
    label_drift = _sql(
        "SELECT column_name, js_distance FROM d WHERE drift_type = 'CONSECUTIVE' "
        "AND column_name IN ('prediction', 'churned') AND slice_key IS NULL",
        server.home,
        d=info.drift_metrics_table_name,
    )
    assert set(label_drift["column_name"]) == {"prediction", "churned"}
