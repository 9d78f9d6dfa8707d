"""The serving token (auth) and the client helpers, without the serving server itself.

The local target's client is pointed at a tiny recording HTTP server, so the tests see what
the real databricks-sdk sends: the host, the bearer token, and no workspace settings.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from recipes import auth, stack
from recipes import target as target_mod
from recipes.errors import KitError
from recipes.serving import client

DETAIL = {"name": "churn", "state": {"ready": "READY", "config_update": "NOT_UPDATING"}}


@pytest.fixture(autouse=True)
def _no_token_env(monkeypatch):
    monkeypatch.delenv(auth.ENV_VAR, raising=False)


class _Recorder(BaseHTTPRequestHandler):
    """Answers every GET with ``DETAIL`` (404 for host metadata) and records the requests."""

    requests: list[tuple[str, dict[str, str]]]

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        self.server.requests.append((self.path, dict(self.headers)))
        found = self.path.startswith("/api/2.0/serving-endpoints/")
        body = json.dumps(DETAIL if found else {"error_code": "NOT_FOUND", "message": "no"})
        self.send_response(200 if found else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def recorder():
    """A loopback HTTP server with a ``requests`` list; stopped after the test."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


def fake_service(url: str) -> stack.Service:
    return stack.Service(
        "serving",
        pid=1,
        port=int(url.rsplit(":", 1)[1]),
        url=url,
        started_at="2025-01-01T00:00:00+00:00",
        cmd=["serve"],
    )


@pytest.fixture
def running(monkeypatch, recorder):
    """``stack.start("serving")`` and ``stack.read_record("serving")`` answer the recorder."""
    started = []

    def start(name, **kwargs):
        started.append(name)
        return fake_service(recorder.url)

    monkeypatch.setattr(stack, "start", start)
    monkeypatch.setattr(stack, "read_record", lambda name, home=None: fake_service(recorder.url))
    recorder.started = started
    return recorder


# ---------------------------------------------------------------- auth.token


def test_env_overrides_the_file(monkeypatch, mdk_home):
    monkeypatch.setenv(auth.ENV_VAR, "  from-env ")
    assert auth.token() == "from-env"
    assert not auth.token_path().exists()
    monkeypatch.setenv(auth.ENV_VAR, "")
    assert auth.token().startswith("mdk-")  # empty means unset


def test_file_is_created_0600_and_is_stable(mdk_home):
    path = auth.token_path()
    assert path == mdk_home / "serving" / "token" and not path.exists()
    first = auth.token()
    assert first.startswith("mdk-") and len(first) >= 4 + 43
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == first
    assert auth.token() == first == auth.token(mdk_home)
    assert auth.token_path(str(mdk_home)) == path


def test_other_home(tmp_path, mdk_home):
    other = tmp_path / "elsewhere"
    assert auth.token(other) != auth.token()
    assert (other / "serving" / "token").exists()


def test_concurrent_processes_agree_on_one_token(tmp_path, mdk_home):
    go = tmp_path / "go"
    code = (
        "import pathlib, sys, time\n"
        "from recipes.auth import token\n"
        "pathlib.Path(sys.argv[1] + '.ready' + sys.argv[3]).touch()\n"
        "while not pathlib.Path(sys.argv[1]).exists(): time.sleep(0.001)\n"
        "print(token(sys.argv[2]))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != auth.ENV_VAR}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(go), str(mdk_home), str(i)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("go.ready*"))) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)  # every process has imported and is polling: release them at once
    go.touch()
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [err for _, err in outs]
    tokens = {out.strip() for out, _ in outs}
    assert tokens == {auth.token_path(mdk_home).read_text()}


def test_losing_the_creation_race_reads_the_winners_token(monkeypatch, mdk_home):
    path = auth.token_path()
    path.parent.mkdir(parents=True)
    path.write_text("mdk-theirs")
    path.chmod(0o600)
    real, calls = auth._read, []

    def read(p):  # the first look finds nothing: the winner creates the file just after
        calls.append(p)
        if len(calls) == 1:
            raise FileNotFoundError(p)
        return real(p)

    monkeypatch.setattr(auth, "_read", read)
    assert auth.token() == "mdk-theirs" and len(calls) == 2


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_refuses_a_file_open_to_others(mdk_home, mode):
    path = auth.token_path()
    auth.token()
    path.chmod(mode)
    with pytest.raises(KitError, match=f"run `chmod 600 {path}`") as exc:
        auth.token()
    assert "\n" not in str(exc.value)
    path.chmod(0o600)
    assert auth.token().startswith("mdk-")


def test_empty_file_names_the_fix(monkeypatch, mdk_home):
    monkeypatch.setattr(auth, "_EMPTY_RETRIES", 2)
    path = auth.token_path()
    path.parent.mkdir(parents=True)
    path.touch(mode=0o600)
    with pytest.raises(KitError, match=f"is empty: delete it \\(`rm {path}`\\)"):
        auth.token()


@pytest.mark.parametrize(
    ("header", "expected", "ok"),
    [
        ("Bearer s3cret", "s3cret", True),
        ("bearer s3cret", "s3cret", True),
        ("BEARER   s3cret  ", "s3cret", True),
        ("Bearer s3cret2", "s3cret", False),
        ("Bearer s3cre", "s3cret", False),
        ("Basic s3cret", "s3cret", False),
        ("s3cret", "s3cret", False),
        ("Bearer", "s3cret", False),
        ("Bearer ", "s3cret", False),
        ("", "s3cret", False),
        (None, "s3cret", False),
        ("Bearer ", "", False),
        ("Bearer é", "s3cret", False),
    ],
)
def test_bearer_ok(header, expected, ok):
    assert auth.bearer_ok(header, expected) is ok


# ---------------------------------------------------------------- client


def test_invocations_url():
    assert client.invocations_url("churn", host="http://127.0.0.1:5/") == (
        "http://127.0.0.1:5/serving-endpoints/churn/invocations"
    )
    assert client.invocations_url("a b", host="https://w").endswith("/a%20b/invocations")


def test_local_workspace_client_talks_to_the_service_with_the_token(running):
    ws = client.workspace_client("local", retry_timeout_seconds=3)
    assert running.started == ["serving"]
    assert (ws.config.host, ws.config.token, ws.config.auth_type) == (
        running.url,
        auth.token(),
        "pat",
    )
    assert ws.config.retry_timeout_seconds == 3
    # construction only checks the server's tracking store (GET /health), no API call
    assert [path for path, _ in running.requests] in ([], ["/health"])
    running.requests.clear()
    assert ws.serving_endpoints.get("churn").state.ready.value == "READY"
    [(path, headers)] = running.requests
    assert path == "/api/2.0/serving-endpoints/churn"
    assert auth.bearer_ok(headers["Authorization"], auth.token())


def test_local_client_ignores_databricks_env_and_profiles(monkeypatch, tmp_path, running):
    cfg = tmp_path / "databrickscfg"
    cfg.write_text("[DEFAULT]\nhost = https://cfg.example\ntoken = dapi-cfg\ncluster_id = c1\n")
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(cfg))
    for k, v in {
        "DATABRICKS_HOST": "https://env.example",
        "DATABRICKS_TOKEN": "dapi-env",
        "DATABRICKS_CLIENT_ID": "sp-id",
        "DATABRICKS_CLIENT_SECRET": "sp-secret",
        "DATABRICKS_CONFIG_PROFILE": "no-such-profile",
        "DATABRICKS_WORKSPACE_ID": "123",
        "DATABRICKS_AUTH_TYPE": "oauth-m2m",
    }.items():
        monkeypatch.setenv(k, v)
    ws = client.workspace_client(target="local")
    c = ws.config
    assert (c.host, c.token, c.auth_type) == (running.url, auth.token(), "pat")
    assert (c.client_id, c.workspace_id, c.profile, c.cluster_id) == (None, None, None, None)
    running.requests.clear()  # drop the store check's GET /health
    ws.serving_endpoints.get("churn")
    [(_, headers)] = running.requests
    assert headers["Authorization"] == f"Bearer {auth.token()}"
    assert not any("workspace-id" in h.lower() or "org-id" in h.lower() for h in headers)


def test_target_comes_from_mdk_target(monkeypatch, running):
    monkeypatch.setenv("MDK_TARGET", "LOCAL")
    assert client.workspace_client().config.host == running.url


def test_start_false_reads_the_record_without_starting(monkeypatch, running):
    monkeypatch.setattr(stack, "start", lambda *a, **k: pytest.fail("must not start"))
    assert client.workspace_client(start=False).config.host == running.url
    assert client.connection(start=False).host == running.url


def test_start_false_without_a_record_is_one_line(monkeypatch):
    monkeypatch.setattr(stack, "start", lambda *a, **k: pytest.fail("must not start"))
    assert stack.read_record("serving") is None  # a fresh MDK_HOME records nothing
    for call in (client.workspace_client, client.connection):
        with pytest.raises(KitError) as exc:
            call("local", start=False)
        assert str(exc.value) == (
            "The local serving endpoint is not running: start it with `mdk up` (or `mdk serve`)."
        )


def test_local_connection(running):
    conn = client.connection()
    assert conn == client.Connection(host=running.url, token=auth.token())
    assert conn.headers == {"Authorization": f"Bearer {auth.token()}"}
    assert conn.invocations_url("churn") == f"{running.url}/serving-endpoints/churn/invocations"
    assert auth.token() not in repr(conn) and running.url in repr(conn)
    with pytest.raises(AttributeError):
        conn.host = "x"  # frozen


def _no_databricks_credentials(monkeypatch, tmp_path) -> None:
    for k in ("DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CONFIG_PROFILE"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(tmp_path / "no.databrickscfg"))
    monkeypatch.setenv("HOME", str(tmp_path))


def test_databricks_without_credentials_is_one_line(monkeypatch, tmp_path):
    _no_databricks_credentials(monkeypatch, tmp_path)
    for call in (client.workspace_client, client.connection):
        with pytest.raises(KitError, match="set DATABRICKS_HOST and DATABRICKS_TOKEN") as exc:
            call("databricks")
        assert "\n" not in str(exc.value)
    monkeypatch.setenv("MDK_TARGET", "databricks")
    with pytest.raises(KitError, match="No Databricks credentials"):
        client.workspace_client()


def test_databricks_uses_the_sdk_config(monkeypatch, recorder):
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", "/nonexistent/databrickscfg")
    monkeypatch.setenv("DATABRICKS_HOST", recorder.url + "/")
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-123")
    ws = client.workspace_client("databricks", retry_timeout_seconds=2)
    assert (ws.config.host, ws.config.token, ws.config.auth_type) == (
        recorder.url,
        "dapi-123",
        "pat",
    )
    assert client.connection("databricks") == client.Connection(recorder.url, "dapi-123")


def test_databricks_connection_needs_a_pat(monkeypatch):
    oauth = SimpleNamespace(host="https://adb-1.example/", token=None, auth_type="oauth-m2m")
    monkeypatch.setattr(target_mod, "databricks_config", lambda **kw: oauth)
    with pytest.raises(KitError, match="'oauth-m2m', not a personal access token") as exc:
        client.connection("databricks")
    assert "\n" not in str(exc.value)
    pat = SimpleNamespace(host="https://adb-1.example/", token="dapi-1", auth_type="pat")
    monkeypatch.setattr(target_mod, "databricks_config", lambda **kw: pat)
    assert client.connection("databricks") == client.Connection("https://adb-1.example", "dapi-1")


def test_importing_client_starts_nothing(tmp_path):
    cwd, home = tmp_path / "cwd", tmp_path / "home"
    cwd.mkdir()
    env = {**os.environ, "MDK_HOME": str(home)}
    subprocess.run(
        [sys.executable, "-c", "import recipes.serving.client"], env=env, cwd=cwd, check=True
    )
    assert list(cwd.iterdir()) == [] and not home.exists()
