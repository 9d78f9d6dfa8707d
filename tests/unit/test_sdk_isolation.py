"""A bare ``WorkspaceClient()`` on the local target reaches only the local endpoint, even with
a DEFAULT profile in ``~/.databrickscfg`` and ``DATABRICKS_*`` variables set for a day job."""

from __future__ import annotations

import os

import pytest

from recipes import target

COMPANY = "https://company.cloud.databricks.com"


@pytest.fixture
def loopback():
    """A real HTTP server on a free loopback port that answers 404 at once, as the endpoint
    answers the SDK's ``/.well-known/databricks-config`` probe."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class NotFound(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"error_code": "NOT_FOUND", "message": "no"}')

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def day_job(tmp_path, monkeypatch):
    """A fake home with a DEFAULT profile for a company workspace, and its variables set."""
    fake_home = tmp_path / "home"
    fake_home.mkdir()
    (fake_home / ".databrickscfg").write_text(
        f"[DEFAULT]\nhost = {COMPANY}\ntoken = dapi-company\n"
    )
    monkeypatch.setenv("HOME", str(fake_home))
    monkeypatch.setenv("DATABRICKS_HOST", COMPANY)
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-company-env")
    monkeypatch.setenv("DATABRICKS_CLIENT_ID", "sp-id")
    monkeypatch.setenv("DATABRICKS_CONFIG_PROFILE", "DEFAULT")
    return fake_home


def test_use_target_local_drops_the_day_jobs_settings(day_job, mdk_home):
    from databricks.sdk import WorkspaceClient

    target.use_target("local")
    assert not any(
        k.startswith("DATABRICKS_") and k != "DATABRICKS_CONFIG_FILE" for k in os.environ
    )
    assert os.environ["DATABRICKS_CONFIG_FILE"] == str(mdk_home / "databrickscfg")
    with pytest.raises(ValueError, match="default auth: cannot configure default credentials"):
        WorkspaceClient()  # no workspace at all, rather than the company's


def test_after_connection_a_bare_workspace_client_is_the_local_endpoint(
    day_job, mdk_home, loopback
):
    from databricks.sdk import WorkspaceClient

    host, token = loopback, "local-token"
    target.use_target("local")
    path = target.isolate_sdk(mdk_home, host=host, token=token)
    w = WorkspaceClient()
    assert w.config.host == host and w.config.token == token
    assert w.config.auth_type == "pat"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert COMPANY not in path.read_text()


def test_connection_points_the_bare_client_at_the_running_endpoint(
    day_job, mdk_home, monkeypatch, loopback
):
    """Through the kit's own call, with the serving endpoint given by MDK_SERVING_URL."""
    from databricks.sdk import WorkspaceClient

    from recipes.serving.client import connection

    monkeypatch.setenv("MDK_SERVING_URL", loopback)
    monkeypatch.setenv("MDK_SERVING_TOKEN", "tok-local")
    target.use_target("local")
    conn = connection("local")
    w = WorkspaceClient()
    assert (w.config.host, w.config.token) == (conn.host, conn.token) == (loopback, "tok-local")
