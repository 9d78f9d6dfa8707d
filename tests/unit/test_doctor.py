"""recipes.tooling.doctor: each check's logic, with the machine-specific inputs passed in."""

from __future__ import annotations

import http.server
import json
import threading

import pytest

from recipes import stack
from recipes.tooling import doctor
from tests.fakes import JAVA_OUTPUTS, fake_java_home


@pytest.mark.parametrize(("version", "ok"), [(17, True), (21, True), (11, False), (8, False)])
def test_check_java_uses_java_home_and_needs_17(tmp_path, monkeypatch, version, ok):
    monkeypatch.setenv("JAVA_HOME", str(fake_java_home(tmp_path / "jdk", JAVA_OUTPUTS[version])))
    check = doctor.check_java(needed=True)
    assert (check.ok, check.required) == (ok, True)
    assert str(tmp_path / "jdk" / "bin" / "java") in check.detail
    if ok:
        assert check.fix == ""
    else:
        assert "apt-get install openjdk-17-jdk-headless" in check.fix
        assert "export JAVA_HOME=" in check.fix


def test_check_java_missing_binary_is_required_only_with_pyspark(tmp_path, monkeypatch):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "nowhere"))
    needed = doctor.check_java(needed=True)
    assert not needed.ok and needed.required and "JAVA_HOME/bin/java" in needed.detail
    assert not doctor.check_java(needed=False).required


def test_check_java_reports_a_java_that_cannot_run(tmp_path, monkeypatch):
    java = tmp_path / "jdk" / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text("not executable")
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk"))
    check = doctor.check_java(needed=True)
    assert not check.ok and f"{java} -version failed" in check.detail
    assert "apt-get install openjdk-17-jdk-headless" in check.fix


@pytest.mark.parametrize(
    ("installed", "ok"),
    [
        ({"pyspark": "4.3.0"}, True),
        ({"databricks-connect": "19.3.0"}, True),
        ({}, True),
        ({"pyspark": "4.3.0", "databricks-connect": "19.3.0"}, False),
    ],
)
def test_spark_conflict_check(installed, ok):
    check = doctor.check_spark_conflict(installed.get)
    assert check.ok is ok and check.required
    assert ("pip uninstall" in check.fix) is not ok
    assert "pyspark" in check.detail and "databricks-connect" in check.detail


@pytest.mark.parametrize(
    ("version", "ok"), [("3.17.2", True), ("3.17.0", True), ("3.18.0", False), ("3.16.1", False)]
)
def test_mlflow_version_check(version, ok):
    check = doctor.check_mlflow(version)
    assert check.ok is ok and check.required and version in check.detail
    assert (check.fix != "") is not ok


def test_mlflow_not_installed_fails(monkeypatch):
    monkeypatch.setattr(doctor, "installed_version", lambda dist: None)
    assert not doctor.check_mlflow().ok


@pytest.mark.parametrize(("version", "ok"), [((3, 12, 1), True), ((3, 11, 7), False)])
def test_python_check(version, ok):
    check = doctor.check_python(version)
    assert check.ok is ok and check.required
    assert ("pyenv install 3.12" in check.fix) is not ok


def test_this_interpreter_passes_the_python_check():
    assert doctor.check_python().ok


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_tracking_check_probes_http_health():
    server = http.server.HTTPServer(("127.0.0.1", 0), _Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        check = doctor.check_tracking(f"http://127.0.0.1:{server.server_port}")
        assert check.ok and check.required and "answers 200" in check.detail
    finally:
        server.shutdown()
        server.server_close()


def test_tracking_check_fails_for_an_unreachable_server():
    check = doctor.check_tracking(f"http://127.0.0.1:{stack.free_port()}", timeout=1)
    assert not check.ok and check.required and "unreachable" in check.detail
    assert "mdk up" in check.fix


def test_tracking_check_reports_the_embedded_store(mdk_home, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    check = doctor.check_tracking()
    assert check.ok and str(mdk_home / "mlflow.db") in check.detail


def test_stack_check_is_informational(mdk_home):
    port, *services = doctor.check_stack()
    assert port.ok and not port.required
    assert [s.name for s in services] == ["mdk up: mlflow", "mdk up: serving"]
    assert all(s.ok and "not running" in s.detail for s in services)
    (mdk_home / "run").mkdir()
    record = {
        "name": "mlflow",
        "pid": 2**22 + 1,
        "port": 1,
        "url": "http://127.0.0.1:1",
        "started_at": "2026-01-01T00:00:00+00:00",
        "cmd": ["mlflow"],
    }
    (mdk_home / "run" / "mlflow.json").write_text(json.dumps(record))
    _, dead, _ = doctor.check_stack()
    assert not dead.ok and not dead.required and dead.fix == "mdk down && mdk up"
    # mdk run's Spark is shown only when recorded (a run that was killed left it)
    spark = {**record, "name": "spark", "url": "sc://127.0.0.1:1", "cmd": ["spark-submit"]}
    (mdk_home / "run" / "spark.json").write_text(json.dumps(spark))
    *_, left = doctor.check_stack()
    assert left.name == "mdk run: spark" and not left.ok and "dead" in left.detail


def test_run_checks_covers_everything_and_required_failures_filters():
    checks = doctor.run_checks()
    names = [c.name for c in checks]
    for expected in (
        "python 3.12",
        "java 17+",
        "Delta Lake jars",
        "pyspark xor databricks-connect",
        "mlflow >=3.17,<3.18",
        "tracking server",
        "free port",
        "mdk up: mlflow",
        "mdk up: serving",
    ):
        assert expected in names
    fake = [
        doctor.Check("a", False, True, ""),
        doctor.Check("b", False, False, ""),
        doctor.Check("c", True, True, ""),
    ]
    assert [c.name for c in doctor.required_failures(fake)] == ["a"]


def test_the_delta_check_names_make_setup_when_the_jars_are_missing(tmp_path, monkeypatch):
    from recipes import delta_lake

    monkeypatch.setattr(delta_lake, "home", lambda: tmp_path / "delta")  # nothing fetched there
    missing = doctor.check_delta("4.4.0")
    assert not missing.ok and missing.required
    assert "\n" not in missing.detail and "make setup" in missing.detail
    assert "make setup" in missing.fix
    assert doctor.check_delta(None).ok  # databricks-connect's venv: no local Spark JVM
