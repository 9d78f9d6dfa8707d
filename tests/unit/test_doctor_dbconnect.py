"""``mdk doctor`` in .venv-dbx, with the real databricks-connect installed.

Only meaningful in the venv ``make setup-databricks`` makes; elsewhere the whole module is
skipped, with the reason, because ``databricks.connect`` cannot be imported. Run it with::

    .venv-dbx/bin/python -m pytest tests/unit/test_doctor_dbconnect.py -q

The workspace is a loopback server (tests/sdk_server.py) that the real databricks-sdk, and
databricks-connect's own session validation, are pointed at.
"""

from __future__ import annotations

import pytest

connect = pytest.importorskip(
    "databricks.connect",
    reason="databricks-connect is not installed here: make setup-databricks, then run this "
    "file with .venv-dbx/bin/python -m pytest",
)

from databricks.connect import validation  # noqa: E402
from databricks.sdk.core import Config  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from recipes.tooling import doctor  # noqa: E402
from recipes.tooling.cli import app  # noqa: E402
from recipes.tooling.doctor import databricks as dbx  # noqa: E402
from tests.sdk_server import point_sdk_at, sdk_server  # noqa: E402

pytestmark = pytest.mark.dbconnect

VERSION = connect.__dbconnect_version__  # "19.3.0" with the kit's pin
SERIES = ".".join(VERSION.split(".")[:2])


def test_the_installed_databricks_connect_is_reported(monkeypatch, tmp_path):
    point_sdk_at(monkeypatch, tmp_path, None)
    check, _ = dbx.run_databricks_checks("local")
    assert check.ok and check.detail == f"databricks-connect {VERSION}"
    assert dbx.check_connect(dbx.installed_version("databricks-connect"), "databricks").ok


def test_this_venv_has_no_pyspark_distribution_beside_it():
    """databricks-connect brings its own pyspark modules, never the pyspark package."""
    import pyspark

    assert pyspark.__version__ == connect.__pyspark_version__
    assert dbx.installed_version("pyspark") is None
    assert doctor.check_spark_conflict().ok


@pytest.mark.parametrize(
    "spark_version",
    [
        "15.4.x-scala2.12",
        "16.2.x-cpu-ml-scala2.12",
        "19.3.x-photon-scala2.13",
        "16.x-snapshot-scala2.12",
        "custom:custom-local__15.4.x-snapshot-cpu-ml-scala2.12__unknown__head__7d1f4a",
    ],
)
def test_runtime_parsing_agrees_with_databricks_connect(spark_version):
    """databricks-connect reads runtimes with its own (private) parser: ours must agree."""
    major, minor = dbx.parse_runtime(spark_version)
    assert validation._parse_dbr_version(spark_version) == (
        (major,) if minor is None else (major, minor)
    )


def _validate_with_connect(cluster_id: str) -> str | None:
    """databricks-connect's own check of a cluster's runtime: None if it accepts it."""
    try:
        validation.validate_session_with_sdk(Config(cluster_id=cluster_id, retry_timeout_seconds=5))
    except Exception as exc:
        return str(exc)
    return None


def test_doctor_and_databricks_connect_judge_the_same_cluster(monkeypatch, tmp_path):
    """Both read the cluster through the same SDK call; databricks-connect refuses a runtime
    older than itself, and the doctor, which asks for the same major.minor, fails it too."""
    clusters = {"same": f"{SERIES}.x-scala2.13", "older": "15.4.x-scala2.12"}
    with sdk_server(clusters=clusters) as ws:
        point_sdk_at(monkeypatch, tmp_path, ws, MDK_TARGET="databricks")
        verdicts = {}
        for cluster_id in clusters:
            monkeypatch.setenv("DATABRICKS_CLUSTER_ID", cluster_id)
            *_, compute = dbx.run_databricks_checks()
            verdicts[cluster_id] = (compute, _validate_with_connect(cluster_id))
    same, connect_same = verdicts["same"]
    assert same.ok and connect_same is None
    older, connect_older = verdicts["older"]
    assert not older.ok and older.fix == 'pip install "databricks-connect==15.4.*"'
    assert connect_older and "Unsupported combination of Databricks Runtime" in connect_older


def test_doctor_is_stricter_than_databricks_connect_on_a_newer_runtime(monkeypatch, tmp_path):
    """databricks-connect lets an older client attach to a newer runtime; issue 12 asks the
    doctor for the same major.minor, so it names the pin to the runtime's series."""
    with sdk_server(clusters={"newer": "99.1.x-scala2.13"}) as ws:
        point_sdk_at(monkeypatch, tmp_path, ws, DATABRICKS_CLUSTER_ID="newer")
        *_, compute = dbx.run_databricks_checks("databricks")
        assert _validate_with_connect("newer") is None
    assert not compute.ok and compute.fix == 'pip install "databricks-connect==99.1.*"'


@pytest.mark.parametrize(
    ("spark_version", "exit_code"), [(f"{SERIES}.x-scala2.13", 0), ("15.4.x-scala2.12", 1)]
)
def test_mdk_doctor_in_this_venv(monkeypatch, tmp_path, spark_version, exit_code):
    with sdk_server(clusters={"c-1": spark_version}) as ws:
        point_sdk_at(
            monkeypatch, tmp_path, ws, DATABRICKS_CLUSTER_ID="c-1", MDK_TARGET="databricks"
        )
        result = CliRunner().invoke(app, ["doctor"])
    out = result.stdout
    assert f"✓ databricks-connect: databricks-connect {VERSION}\n" in out
    assert f"✓ {dbx.WORKSPACE}: {ws.url} answers, signed in as someone@example.com\n" in out
    assert "✓ pyspark xor databricks-connect: pyspark absent" in out
    assert result.exit_code == exit_code, out
    if exit_code:
        assert f"✗ {dbx.COMPUTE}: cluster c-1 runs Databricks Runtime 15.4" in out
        assert '    fix: pip install "databricks-connect==15.4.*"\n' in out
    else:
        assert f"✓ {dbx.COMPUTE}: cluster c-1 runs Databricks Runtime {SERIES}" in out
