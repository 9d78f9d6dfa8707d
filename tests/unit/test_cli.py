"""The ``mdk`` command through typer's CliRunner, and ``up``/``down`` once in a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from recipes import stack
from recipes.errors import ParameterError
from recipes.tooling import doctor
from recipes.tooling.cli import app, split_run_args, table

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "notebooks"
TYPED = str(FIXTURES / "typed_parameters.ipynb")
BROKEN = str(FIXTURES / "broken1.ipynb")
runner = CliRunner()


def test_split_run_args():
    assert split_run_args(["01", "-p", "n", "-5", "02", "--param", "name", "a b"]) == (
        ["01", "02"],
        {"n": "-5", "name": "a b"},
    )
    with pytest.raises(ParameterError, match="needs a name and a value"):
        split_run_args(["-p", "n"])


def test_table_aligns_columns():
    assert table(("a", "bb"), [("xyz", None)]).splitlines() == ["a    bb", "---  --", "xyz"]


@pytest.mark.parametrize(
    "args",
    [
        [TYPED, "-p", "nn", "3"],  # unknown name
        [TYPED, "-p", "n", "3.5"],  # wrong type
        ["no_such_notebook"],
        [TYPED, "--bogus"],
    ],
)
def test_run_with_a_bad_argument_is_one_error_line_and_exit_2(args, mdk_home):
    result = runner.invoke(app, ["run", *args])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "Traceback" not in result.output
    assert not (mdk_home / "runs").exists()


@pytest.mark.notebook  # starts kernels
def test_run_prints_progress_and_a_summary_and_exits_1_on_failure(tmp_path):
    result = runner.invoke(
        app, ["run", BROKEN, TYPED, "-p", "name", "cli", "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 1, result.output
    out = result.stdout
    assert "▶ broken1.ipynb" in out and "✗ broken1.ipynb failed" in out
    assert "ValueError: broken on purpose n=1" in out
    assert "✓ typed_parameters.ipynb ok" in out
    assert "notebook" in out and "status" in out and "seconds" in out
    assert (tmp_path / "out" / "summary.json").exists()
    report = tmp_path / "out" / "report.html"
    assert f"report: {report}" in out and report.is_file()
    assert (tmp_path / "out" / "broken1.html").is_file()


def test_run_open_opens_the_report_in_the_default_browser(tmp_path, monkeypatch):
    import webbrowser

    opened = []
    monkeypatch.setattr(webbrowser, "get", lambda *a: object())
    monkeypatch.setattr(webbrowser, "open", lambda url, *a, **k: opened.append(url) or True)
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", TYPED, "--out", str(out), "--open"])
    assert result.exit_code == 0, result.output
    assert opened == [(out / "report.html").resolve().as_uri()]


def test_open_without_a_browser_prints_where_the_report_is(tmp_path, monkeypatch, capsys):
    import webbrowser

    from recipes.tooling.cli import open_in_browser

    def no_browser(*args):
        raise webbrowser.Error("could not locate runnable browser")

    monkeypatch.setattr(webbrowser, "get", no_browser)
    assert open_in_browser(tmp_path / "report.html") is False
    assert f"open {tmp_path / 'report.html'}" in capsys.readouterr().out


def test_status_with_nothing_running():
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 0
    header, _, *rows = result.stdout.strip().splitlines()
    assert header.split() == ["service", "pid", "port", "url", "alive", "healthy"]
    assert [row.split() for row in rows] == [
        ["mlflow", "no", "no"],
        ["serving", "no", "no"],
        ["spark", "no", "no"],
    ]


def test_down_with_nothing_running():
    result = runner.invoke(app, ["down"])
    assert result.exit_code == 0 and "mlflow: not running" in result.stdout


def test_doctor_prints_every_check_and_exits_by_the_required_ones():
    result = runner.invoke(app, ["doctor"])
    checks = doctor.run_checks()
    for c in checks:
        assert f"{'✓' if c.ok else '✗'} {c.name}: " in result.stdout
    assert result.exit_code == (1 if doctor.required_failures(checks) else 0)


def test_doctor_fails_and_names_the_fix_when_the_tracking_server_is_down(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{stack.free_port()}")
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 1
    assert "✗ tracking server:" in result.stdout and "fix: mdk up" in result.stdout


@pytest.mark.server
def test_up_status_down_end_to_end(mdk_home):
    mdk = [str(Path(sys.executable).parent / "mdk")]
    env = {**os.environ, "MDK_HOME": str(mdk_home)}

    def call(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*mdk, *args], env=env, capture_output=True, text=True, timeout=120)

    try:
        up = call("up")
        assert up.returncode == 0, up.stderr
        record = stack.read_record("mlflow")
        assert f"export MLFLOW_TRACKING_URI={record.url}" in up.stdout
        assert str(mdk_home / "logs" / "mlflow.log") in up.stdout
        status = call("status")
        assert f"mlflow   {record.pid}" in status.stdout and "yes    yes" in status.stdout
        down = call("down")
        assert down.returncode == 0 and f"mlflow: stopped pid {record.pid}" in down.stdout
        assert stack.read_record("mlflow") is None
    finally:
        stack.stop("mlflow")


def test_run_skips_a_local_only_notebook_on_databricks_in_one_line(tmp_path):
    from tests.unit.test_runner import _local_only

    path = _local_only(tmp_path)
    result = runner.invoke(
        app, ["run", str(path), "-p", "target", "databricks", "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    lines = [ln for ln in result.stdout.splitlines() if "07_local_only" in ln]
    assert lines[0].startswith("⏭ 07_local_only.ipynb skipped: 07_local_only runs on the local")
    assert "▶" not in result.stdout and "skipped  0.0      -" in result.stdout
