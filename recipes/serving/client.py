"""Thin client helpers: the same databricks-sdk calls and REST URLs on either target.

Locally the host is the background ``serving`` service (see :mod:`recipes.stack`) and the
token is :func:`recipes.auth.token`; on Databricks both come from the SDK's unified
auth config. Notebook cells call these and never branch on the target.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from recipes import auth, stack
from recipes import target as _target
from recipes.errors import KitError

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.config import Config

SERVICE = "serving"
NOT_RUNNING = "The local serving endpoint is not running: start it with `mdk up` (or `mdk serve`)."


@dataclass(frozen=True)
class Connection:
    """Where to send REST calls and which bearer token to send (the token is kept out of repr).

    Attributes:
        host: the base URL, e.g. ``http://127.0.0.1:8123`` or ``https://<workspace>``.
        token: the bearer token.
    """

    host: str
    token: str = field(repr=False)

    @property
    def headers(self) -> dict[str, str]:
        """``{"Authorization": "Bearer <token>"}`` for ``requests``."""
        return {"Authorization": f"Bearer {self.token}"}

    def invocations_url(self, endpoint_name: str) -> str:
        """The endpoint's scoring URL on this host; see :func:`invocations_url`."""
        return invocations_url(endpoint_name, host=self.host)


def invocations_url(endpoint_name: str, *, host: str) -> str:
    """``<host>/serving-endpoints/<name>/invocations``, the data-plane scoring URL.

    Args:
        endpoint_name: the serving endpoint.
        host: the base URL (a trailing slash is ignored).
    """
    return f"{host.rstrip('/')}/serving-endpoints/{quote(endpoint_name, safe='')}/invocations"


def local_url(*, start: bool = True) -> str:
    """The local serving endpoint's base URL.

    ``MDK_SERVING_URL`` wins when set (a foreground ``mdk serve``). Otherwise the recorded
    ``serving`` service is used, and it must read models from this session's tracking store.

    Args:
        start: start the ``serving`` service if needed (idempotent); False only reads its record.

    Raises:
        KitError: ``start`` is False and no serving service is recorded, or the server reads
            models from another tracking store.
    """
    url = os.environ.get("MDK_SERVING_URL")
    if url:  # e.g. a foreground `mdk serve`
        return url.rstrip("/")
    svc = stack.start(SERVICE) if start else stack.read_record(SERVICE)
    if svc is None:
        raise KitError(NOT_RUNNING)
    _check_same_store(svc.url)
    return svc.url


def served_tracking_uri(url: str) -> str | None:
    """The tracking URI the serving endpoint at ``url`` reads models from (its ``/health``),
    or None when it does not answer."""
    import json
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url + "/health", timeout=5) as resp:
            return json.loads(resp.read()).get("tracking_uri")
    except (OSError, ValueError):
        return None


def _sqlite_file(uri: str, base: Path) -> Path | None:
    """The file a ``sqlite:///`` URI names (a relative path is taken from ``base``), resolved;
    None for any other URI or an in-memory database."""
    if not uri.startswith("sqlite:///"):
        return None
    path = uri[len("sqlite:///") :].split("?", 1)[0]  # sqlite:////abs is /abs
    if not path or path == ":memory:":
        return None
    return (base / path).resolve()


def _loopback_address(uri: str) -> tuple[str, int] | None:
    """``(scheme, port)`` of an ``http(s)://`` URL on this machine's loopback with no path,
    else None: ``localhost``, ``127.0.0.1`` and ``::1`` are one host."""
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or parts.path.strip("/"):
        return None
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        return None
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:  # a port that is not a number
        return None
    return parts.scheme, port


def _recorded_server_file(uri: str, home: Path) -> Path | None:
    """The sqlite file the local tracking server recorded in ``home`` serves, when ``uri`` is
    that server's URL: its record's ``--backend-store-uri`` (the server runs in ``home``)."""
    address = _loopback_address(uri)
    svc = stack.read_record("mlflow", home) if address is not None else None
    if svc is None or _loopback_address(svc.url) != address:
        return None
    cmd = list(svc.cmd)
    for i, arg in enumerate(cmd):
        if arg == "--backend-store-uri" and i + 1 < len(cmd):
            return _sqlite_file(cmd[i + 1], home)
        if arg.startswith("--backend-store-uri="):
            return _sqlite_file(arg.split("=", 1)[1], home)
    return None


def _store_identity(uri: str, home: Path) -> Path | str:
    """What a tracking URI stores into: a sqlite file's resolved path, for a ``sqlite:///``
    URI or the URL of the local tracking server recorded in ``home``; else the URI itself."""
    return _sqlite_file(uri, Path.cwd()) or _recorded_server_file(uri, home) or uri.rstrip("/")


def same_store(a: str, b: str, *, home: Path | None = None) -> bool:
    """Whether tracking URIs ``a`` and ``b`` name one store.

    A sqlite URI names its file (paths compared resolved); a loopback URL names the file the
    local tracking server recorded in ``home`` serves (``mdk up``'s ``mlflow server`` over
    ``sqlite:///$MDK_HOME/mlflow.db``) when it is that server's URL; any other URI names
    itself.

    Args:
        a: a tracking URI.
        b: another.
        home: where the tracking server's record is; default ``MDK_HOME``.
    """
    if a == b:
        return True
    home = _target.mdk_home() if home is None else Path(home)
    return _store_identity(a, home) == _store_identity(b, home)


def _check_same_store(url: str) -> None:
    """Refuse a server that reads models from another tracking store than this session."""
    served = served_tracking_uri(url)  # None: not answering yet, the SDK's retries report it
    t = _target.resolve()
    ours = t.tracking_uri
    if served and not same_store(served, ours, home=t.home):
        raise KitError(
            f"The serving endpoint at {url} reads models from {served}, but this session "
            f"registers them in {ours}: run `mdk down` and retry, or set "
            f"MLFLOW_TRACKING_URI={served}."
        )


@functools.cache
def _isolated_config_class() -> type[Config]:
    """A ``Config`` that uses only its arguments: no ``DATABRICKS_*`` env, no profile, no probe.

    The local endpoint must not pick up a workspace's settings (``DATABRICKS_CLIENT_ID`` would
    add a second auth method, ``DATABRICKS_CONFIG_PROFILE`` a profile to load, and
    ``DATABRICKS_WORKSPACE_ID`` a header), and it has no host metadata to discover.
    """
    from databricks.sdk.config import Config

    class IsolatedConfig(Config):
        @classmethod
        def attributes(cls):  # Config caches these per class, from the class's own __dict__
            return Config.attributes()

        def _load_from_env(self) -> None:
            pass

        def _known_file_config_loader(self) -> None:
            pass

        def _resolve_host_metadata(self) -> None:
            pass

    return IsolatedConfig


def local_config(*, host: str, token: str, retry_timeout_seconds: int = 15) -> Config:
    """An SDK config for a PAT on ``host`` that ignores the environment and ``~/.databrickscfg``.

    Args:
        host: the base URL (``http://`` is fine).
        token: the bearer token.
        retry_timeout_seconds: how long the SDK retries refused connections and 429/503 answers.
    """
    cls = _isolated_config_class()
    return cls(host=host, token=token, auth_type="pat", retry_timeout_seconds=retry_timeout_seconds)


def workspace_client(
    target: str | None = None, *, start: bool = True, retry_timeout_seconds: int = 15
) -> WorkspaceClient:
    """A databricks-sdk ``WorkspaceClient`` for the target's serving endpoints.

    Locally it talks to the ``serving`` service with :func:`recipes.auth.token`; on
    Databricks it uses the SDK's unified auth (env or ``~/.databrickscfg`` profile).

    Args:
        target: ``"local"``, ``"databricks"`` or None for ``MDK_TARGET`` (default local).
        start: locally, start the serving service if needed; False requires it to be running.
        retry_timeout_seconds: how long the SDK retries refused connections and retryable errors.

    Raises:
        KitError: the local endpoint is not running (``start=False``), or there are no
            Databricks credentials.
    """
    from databricks.sdk import WorkspaceClient

    if _target.resolve(target).name == "local":
        cfg = local_config(
            host=local_url(start=start),
            token=auth.token(),
            retry_timeout_seconds=retry_timeout_seconds,
        )
    else:
        cfg = _target.databricks_config(retry_timeout_seconds=retry_timeout_seconds)
    return WorkspaceClient(config=cfg)


def connection(
    target: str | None = None, *, start: bool = True, retry_timeout_seconds: int = 15
) -> Connection:
    """The host and bearer token for plain REST calls, e.g. with ``requests``.

    ``requests.post(conn.invocations_url(name), headers=conn.headers, json=...)`` works on
    either target. Locally it also points this process's databricks-sdk configuration at the
    local endpoint (:func:`recipes.target.isolate_sdk`), so the module's bare
    ``WorkspaceClient()`` reaches it and nothing else.

    Args:
        target: ``"local"``, ``"databricks"`` or None for ``MDK_TARGET`` (default local).
        start: locally, start the serving service if needed; False requires it to be running.
        retry_timeout_seconds: on Databricks, bounds the SDK's host-metadata probe.

    Raises:
        KitError: the local endpoint is not running (``start=False``), there are no
            Databricks credentials, or the Databricks auth is not a personal access token.
    """
    t = _target.resolve(target)
    if t.name == "local":
        conn = Connection(host=local_url(start=start), token=auth.token())
        # from here on a bare WorkspaceClient() in this process is this local endpoint's
        _target.isolate_sdk(t.home, host=conn.host, token=conn.token)
        return conn
    cfg = _target.databricks_config(retry_timeout_seconds=retry_timeout_seconds)
    if cfg.auth_type != "pat" or not cfg.token:
        raise KitError(
            f"Target 'databricks' authenticates with {cfg.auth_type!r}, not a personal access "
            "token, so there is no fixed bearer token: set DATABRICKS_TOKEN (a PAT), or call "
            "the endpoint with workspace_client().serving_endpoints.query(...)."
        )
    return Connection(host=cfg.host.rstrip("/"), token=cfg.token)
