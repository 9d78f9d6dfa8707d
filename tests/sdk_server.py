"""A tiny loopback HTTP server answering the read-only workspace GETs ``mdk doctor`` makes.

The real databricks-sdk (and databricks-connect's own validation) is pointed at it with
``DATABRICKS_HOST=http://127.0.0.1:PORT``; it answers, as a workspace does:

- ``GET /.well-known/databricks-config``: 404 at once (the SDK's host-metadata probe);
- ``GET /api/2.0/preview/scim/v2/Me``: the signed-in user (``w.current_user.me()``);
- ``GET /api/2.1/clusters/get?cluster_id=…``: the cluster's ``spark_version``
  (``w.clusters.get(cluster_id)``), or 400 ``INVALID_PARAMETER_VALUE`` for an unknown id.

Every other path is a 404 ``ENDPOINT_NOT_FOUND``; a missing or wrong bearer token is a 401.
It records each request's method, path, query and ``Authorization`` header.

Usage::

    with sdk_server(token="tok", clusters={"0123-abc": "15.4.x-scala2.12"}) as ws:
        monkeypatch.setenv("DATABRICKS_HOST", ws.url)
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

CLUSTERS_GET = "/api/2.1/clusters/get"
ME = "/api/2.0/preview/scim/v2/Me"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    authorization: str | None


@dataclass
class SdkServer:
    """What the server answers, and what it was asked."""

    token: str
    clusters: dict[str, str] = field(default_factory=dict)  # cluster id -> spark_version
    user: str = "someone@example.com"
    url: str = ""
    requests: list[Request] = field(default_factory=list)

    def paths(self) -> list[str]:
        """The paths asked for, in order, without the SDK's host-metadata probe."""
        return [r.path for r in self.requests if not r.path.startswith("/.well-known/")]


def _handler(state: SdkServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's requests session expects

        def do_GET(self):  # noqa: N802
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            auth = self.headers.get("Authorization")
            state.requests.append(Request("GET", parts.path, query, auth))
            if parts.path == "/.well-known/databricks-config":
                return self._json(404, {"error_code": "NOT_FOUND", "message": "no metadata"})
            if auth != f"Bearer {state.token}":
                return self._json(
                    401, {"error_code": "UNAUTHENTICATED", "message": "Invalid access token."}
                )
            if parts.path == ME:
                return self._json(
                    200,
                    {"id": "42", "userName": state.user, "displayName": "Some One", "active": True},
                )
            if parts.path == CLUSTERS_GET:
                cluster_id = query.get("cluster_id", [""])[0]
                if cluster_id not in state.clusters:
                    return self._json(
                        400,
                        {
                            "error_code": "INVALID_PARAMETER_VALUE",
                            "message": f"Cluster {cluster_id} does not exist",
                        },
                    )
                return self._json(
                    200,
                    {
                        "cluster_id": cluster_id,
                        "state": "RUNNING",
                        "spark_version": state.clusters[cluster_id],
                    },
                )
            return self._json(
                404,
                {
                    "error_code": "ENDPOINT_NOT_FOUND",
                    "message": f"No API found for 'GET {parts.path}'",
                },
            )

        def _json(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    return Handler


@contextmanager
def sdk_server(
    token: str = "dapi-test", clusters: dict[str, str] | None = None
) -> Iterator[SdkServer]:
    """Serve on a free 127.0.0.1 port in a daemon thread; shut down on exit."""
    state = SdkServer(token=token, clusters=dict(clusters or {}))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# Variables the SDK or databricks-connect read: a test sets what it needs, clears the rest.
SDK_ENV = (
    "DATABRICKS_HOST",
    "DATABRICKS_TOKEN",
    "DATABRICKS_CONFIG_PROFILE",
    "DATABRICKS_CONFIG_FILE",
    "DATABRICKS_CLUSTER_ID",
    "DATABRICKS_SERVERLESS_COMPUTE_ID",
    "DATABRICKS_AUTH_TYPE",
    "DATABRICKS_CLIENT_ID",
    "DATABRICKS_CLIENT_SECRET",
    "DATABRICKS_ACCOUNT_ID",
    "DATABRICKS_USERNAME",
    "DATABRICKS_PASSWORD",
    "DATABRICKS_WORKSPACE_ID",
    "SPARK_REMOTE",
    "MDK_SPARK_REMOTE",
    "MDK_TARGET",
)


def point_sdk_at(monkeypatch, tmp_path, server: SdkServer | None, **env: str) -> None:
    """Clear :data:`SDK_ENV` (monkeypatch restores it), hide any ``~/.databrickscfg``, and
    point the SDK at ``server`` with its token; ``env`` sets further variables."""
    for name in SDK_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(tmp_path / "no-databrickscfg"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    if server is not None:
        monkeypatch.setenv("DATABRICKS_HOST", server.url)
        monkeypatch.setenv("DATABRICKS_TOKEN", server.token)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
