"""recipes.tooling.doctor.databricks: databricks-connect, the workspace and the cluster runtime.

The parsing and pin tests are pure. The workspace tests run the real databricks-sdk against
a loopback server (tests/sdk_server.py); nothing here needs databricks-connect, so all of it
runs in the local .venv (``make check``) and in .venv-dbx alike.
"""

from __future__ import annotations

import pytest

from recipes import stack
from recipes.tooling import doctor
from recipes.tooling.doctor import databricks as dbx
from tests.sdk_server import CLUSTERS_GET, ME, point_sdk_at, sdk_server


@pytest.mark.parametrize(
    ("spark_version", "runtime"),
    [
        ("15.4.x-scala2.12", (15, 4)),
        ("16.2.x-cpu-ml-scala2.12", (16, 2)),
        ("13.3.x-gpu-ml-scala2.12", (13, 3)),
        ("19.3.x-photon-scala2.13", (19, 3)),
        ("16.x-snapshot-scala2.12", (16, None)),
        ("custom:custom-local__15.4.x-snapshot-cpu-ml-scala2.12__unknown__head__7d1f4a", (15, 4)),
    ],
)
def test_parse_runtime(spark_version, runtime):
    assert dbx.parse_runtime(spark_version) == runtime


@pytest.mark.parametrize("spark_version", ["", "scala2.12", "apache-spark-4.0", "latest"])
def test_parse_runtime_refuses_strings_naming_no_runtime(spark_version):
    with pytest.raises(ValueError, match="no Databricks Runtime major.minor"):
        dbx.parse_runtime(spark_version)


@pytest.mark.parametrize(
    ("runtime", "pin"),
    [
        ((15, 4), 'pip install "databricks-connect==15.4.*"'),
        ((16, 2), 'pip install "databricks-connect==16.2.*"'),
        ((16, None), 'pip install "databricks-connect==16.*"'),
    ],
)
def test_connect_pin_names_the_runtime_series(runtime, pin):
    assert dbx.connect_pin(runtime) == pin


def test_connect_check_reports_the_version():
    check = dbx.check_connect("19.3.0", "databricks")
    assert check.ok and check.required and check.detail == "databricks-connect 19.3.0"
    assert not dbx.check_connect("19.3.0", "local").required


def test_connect_missing_fails_only_for_target_databricks():
    missing = dbx.check_connect(None, "databricks")
    assert not missing.ok and missing.required
    assert missing.detail == "not installed: make setup-databricks"
    assert missing.fix.startswith("make setup-databricks")
    local = dbx.check_connect(None, "local")
    assert local.ok and not local.required
    assert local.detail.startswith("not installed: make setup-databricks")


@pytest.mark.parametrize(
    ("spark_version", "connect", "ok"),
    [
        ("19.3.x-scala2.13", "19.3.0", True),
        ("19.3.x-cpu-ml-scala2.13", "19.3.2", True),
        ("19.x-snapshot-scala2.13", "19.3.0", True),  # names no minor: the major decides
        ("15.4.x-scala2.12", "19.3.0", False),  # an older runtime
        ("19.4.x-scala2.13", "19.3.0", False),  # a newer minor
        ("20.1.x-scala2.13", "19.3.0", False),  # a newer major
        ("16.x-snapshot-scala2.12", "19.3.0", False),
    ],
)
def test_runtime_match_is_major_minor(spark_version, connect, ok):
    check = dbx.check_runtime_match(spark_version, connect, "cluster c-1")
    assert check.ok is ok and check.required
    assert check.detail.startswith("cluster c-1 runs Databricks Runtime ")
    assert spark_version in check.detail and connect in check.detail
    if ok:
        assert check.fix == ""
    else:
        series = dbx.runtime_series(dbx.parse_runtime(spark_version))
        assert check.fix == f'pip install "databricks-connect=={series}.*"'
        assert "\n" not in check.detail + check.fix


def test_runtime_match_without_connect_names_the_pin():
    check = dbx.check_runtime_match("16.2.x-cpu-ml-scala2.12", None, "cluster c-1", required=False)
    assert not check.ok and not check.required
    assert "databricks-connect is not installed" in check.detail
    # not a pip line: the venv without databricks-connect may be the one holding pyspark
    assert check.fix == "make setup-databricks (this runtime needs databricks-connect 16.2.* there)"


def test_runtime_match_reports_an_unreadable_spark_version():
    check = dbx.check_runtime_match("custom:my-image", "19.3.0", "cluster c-1")
    assert not check.ok and "names no Databricks Runtime" in check.detail and check.fix


def _never(cluster_id):
    raise AssertionError(f"clusters.get({cluster_id}) should not be called")


def test_compute_serverless_skips_the_runtime_match():
    check = dbx.check_compute(dbx.Compute(serverless_compute_id="auto"), "19.3.0", _never)
    assert check.ok and check.detail.startswith(
        "serverless (DATABRICKS_SERVERLESS_COMPUTE_ID=auto)"
    )
    assert "match skipped" in check.detail


def test_compute_spark_remote_skips_the_runtime_match_and_hides_tokens():
    remote = "sc://127.0.0.1:15999/;token=secret"
    check = dbx.check_compute(dbx.Compute(cluster_id="c-1", spark_remote=remote), "19.3.0", _never)
    assert check.ok and "match skipped" in check.detail and "secret" not in check.detail


@pytest.mark.parametrize(
    ("compute", "says"),
    [
        (dbx.Compute(), "no cluster and no serverless"),
        (dbx.Compute(cluster_id="c-1", serverless_compute_id="auto"), "refuses both"),
        (dbx.Compute(serverless_compute_id="yes"), "accepts only 'auto'"),
    ],
)
def test_compute_misconfigured(compute, says):
    check = dbx.check_compute(compute, "19.3.0", _never, required=True)
    assert not check.ok and check.required and says in check.detail and check.fix


def test_compute_cluster_compares_its_spark_version():
    seen = []
    check = dbx.check_compute(
        dbx.Compute(cluster_id="c-1"), "19.3.0", lambda c: seen.append(c) or "15.4.x-scala2.12"
    )
    assert seen == ["c-1"]
    assert not check.ok and check.fix == 'pip install "databricks-connect==15.4.*"'


def test_compute_cluster_lookup_failure_is_one_line():
    def fail(cluster_id):
        raise OSError(f"Cluster {cluster_id} does not exist\nmore detail")

    check = dbx.check_compute(dbx.Compute(cluster_id="c-1"), "19.3.0", fail)
    assert not check.ok and check.detail == "cluster c-1: Cluster c-1 does not exist"
    assert "DATABRICKS_CLUSTER_ID" in check.fix


# ----------------------------------------------------------- the real SDK, on 127.0.0.1


def test_local_target_without_a_workspace_makes_no_call(monkeypatch, tmp_path):
    point_sdk_at(monkeypatch, tmp_path, None, DATABRICKS_CLUSTER_ID="c-1")
    connect, workspace = dbx.run_databricks_checks("local", "19.3.0")
    assert connect.ok and workspace.ok and not workspace.required
    assert workspace.detail.startswith("none configured")


def test_matching_cluster_passes(monkeypatch, tmp_path):
    with sdk_server(clusters={"c-1": "19.3.x-scala2.13"}) as ws:
        point_sdk_at(monkeypatch, tmp_path, ws, DATABRICKS_CLUSTER_ID="c-1")
        connect, workspace, compute = dbx.run_databricks_checks("databricks", "19.3.0")
    assert connect.ok and connect.detail == "databricks-connect 19.3.0"
    assert (
        workspace.ok and workspace.detail == f"{ws.url} answers, signed in as someone@example.com"
    )
    assert compute.ok and compute.detail == (
        "cluster c-1 runs Databricks Runtime 19.3 (19.3.x-scala2.13): databricks-connect 19.3.0 matches"
    )
    assert all(c.required for c in (connect, workspace, compute))
    assert ws.paths() == [ME, CLUSTERS_GET]  # the paths this SDK version calls
    clusters_get = ws.requests[-1]
    assert clusters_get.query == {"cluster_id": ["c-1"]}
    assert clusters_get.authorization == f"Bearer {ws.token}"  # an authenticated GET
    assert {r.method for r in ws.requests} == {"GET"}  # the doctor never writes


def test_mismatched_cluster_fails_with_the_pin(monkeypatch, tmp_path):
    with sdk_server(clusters={"c-1": "15.4.x-scala2.12"}) as ws:
        point_sdk_at(monkeypatch, tmp_path, ws, DATABRICKS_CLUSTER_ID="c-1")
        *_, compute = dbx.run_databricks_checks("databricks", "19.3.0")
    assert not compute.ok and compute.required
    assert "runs Databricks Runtime 15.4 (15.4.x-scala2.12), databricks-connect is 19.3.0" in (
        compute.detail
    )
    assert compute.fix == 'pip install "databricks-connect==15.4.*"'


def test_serverless_reports_serverless_and_never_asks_for_a_cluster(monkeypatch, tmp_path):
    with sdk_server() as ws:
        point_sdk_at(monkeypatch, tmp_path, ws, DATABRICKS_SERVERLESS_COMPUTE_ID="auto")
        _, workspace, compute = dbx.run_databricks_checks("databricks", "19.3.0")
    assert workspace.ok and compute.ok and "serverless" in compute.detail
    assert "Databricks Runtime match skipped" in compute.detail
    assert ws.paths() == [ME]


def test_unknown_cluster_fails_in_one_line(monkeypatch, tmp_path):
    with sdk_server(clusters={}) as ws:
        point_sdk_at(monkeypatch, tmp_path, ws, DATABRICKS_CLUSTER_ID="nope")
        *_, compute = dbx.run_databricks_checks("databricks", "19.3.0")
    assert not compute.ok and compute.detail == "cluster nope: Cluster nope does not exist"


def test_a_wrong_token_fails_the_workspace_check_and_skips_the_cluster(monkeypatch, tmp_path):
    with sdk_server(clusters={"c-1": "19.3.x-scala2.13"}) as ws:
        point_sdk_at(
            monkeypatch, tmp_path, ws, DATABRICKS_CLUSTER_ID="c-1", DATABRICKS_TOKEN="wrong"
        )
        _, workspace, compute = dbx.run_databricks_checks("databricks", "19.3.0")
    assert not workspace.ok and workspace.detail == f"{ws.url}: Invalid access token."
    assert "DATABRICKS_TOKEN" in workspace.fix
    assert not compute.ok and "not checked" in compute.detail
    assert ws.paths() == [ME]


def test_an_unreachable_host_fails_without_waiting_long(monkeypatch, tmp_path):
    point_sdk_at(
        monkeypatch,
        tmp_path,
        None,
        DATABRICKS_HOST=f"http://127.0.0.1:{stack.free_port()}",
        DATABRICKS_TOKEN="t",
        DATABRICKS_SERVERLESS_COMPUTE_ID="auto",
    )
    _, workspace, compute = dbx.run_databricks_checks(
        "databricks", "19.3.0", retry_timeout_seconds=1, http_timeout_seconds=1
    )
    assert not workspace.ok and workspace.detail.startswith("http://127.0.0.1:")
    assert compute.ok and "serverless" in compute.detail  # configured; nothing to fetch


def test_target_databricks_without_credentials_names_them(monkeypatch, tmp_path):
    point_sdk_at(monkeypatch, tmp_path, None)
    connect, workspace = dbx.run_databricks_checks("databricks", "19.3.0")
    assert not workspace.ok and workspace.required and "DATABRICKS_HOST" in workspace.detail


def test_a_workspace_set_on_the_local_target_is_informational(monkeypatch, tmp_path):
    with sdk_server(clusters={"c-1": "15.4.x-scala2.12"}) as ws:
        point_sdk_at(monkeypatch, tmp_path, ws, DATABRICKS_CLUSTER_ID="c-1")
        checks = dbx.run_databricks_checks("local", None)
    assert [c.name for c in checks] == ["databricks-connect", dbx.WORKSPACE, dbx.COMPUTE]
    assert not any(c.required for c in checks)
    assert not checks[2].ok  # still says so: the runtime is 15.4


def test_mdk_doctor_runs_the_databricks_checks(monkeypatch, tmp_path):
    """The whole doctor, as ``mdk doctor`` runs it, with MDK_TARGET=databricks."""
    with sdk_server(clusters={"c-1": "15.4.x-scala2.12"}) as ws:
        point_sdk_at(
            monkeypatch, tmp_path, ws, DATABRICKS_CLUSTER_ID="c-1", MDK_TARGET="databricks"
        )
        monkeypatch.setattr(dbx, "installed_version", {"databricks-connect": "19.3.0"}.get)
        checks = {c.name: c for c in doctor.run_checks()}
    assert checks["databricks-connect"].ok
    assert checks[dbx.WORKSPACE].ok
    failed = doctor.required_failures(list(checks.values()))
    assert [c.name for c in failed] == [dbx.COMPUTE]
    assert failed[0].fix == 'pip install "databricks-connect==15.4.*"'
