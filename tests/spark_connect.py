"""A real local Spark Connect server for tests, on a free loopback port (never 15002).

The server is the kit's ``spark`` service (:mod:`recipes.stack`, with its command from
:mod:`recipes.spark_connect`); this module gives the tests a handle on one started in a
folder of their own, and adds the client side.

Usage::

    with connect_server(tmp_path) as server:
        ... get_spark(remote=server.url) ...   # in a process with no classic session

pyspark cannot hold a classic and a Connect session in one process, so a test suite
that also uses a classic session should run its Connect client in a subprocess
(:func:`run_client`).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from recipes import stack
from recipes.spark_connect import CLASS, FORBIDDEN_PORT  # noqa: F401  (re-exported for the tests)
from recipes.stack import pid_alive  # noqa: F401  (re-exported for the tests)


@dataclass
class ConnectServer:
    """A test's server: its record (``service``) and its folder (``workdir``: the service's
    home, whose ``warehouse/`` holds the tables its catalog names)."""

    service: stack.Service
    workdir: Path

    @property
    def url(self) -> str:
        return self.service.url

    @property
    def port(self) -> int:
        return self.service.port

    @property
    def pid(self) -> int:
        return self.service.pid

    def stop(self) -> int | None:
        """Stop it by its recorded pid (see :func:`recipes.stack.stop`)."""
        return stack.stop("spark", self.workdir)


def start_connect_server(workdir: Path, *, timeout: float = 120, **spec) -> ConnectServer:
    """Start a server whose files are under ``workdir``; ``spec``: :func:`stack.spark_spec`'s
    keywords (``warehouse``, ``catalogs``, ``extra_env``, ``master``)."""
    workdir = Path(workdir).resolve()
    service = stack.start("spark", home=workdir, timeout=timeout, spec=stack.spark_spec(**spec))
    return ConnectServer(service, workdir)


@contextlib.contextmanager
def connect_server(workdir: Path, **kwargs) -> Iterator[ConnectServer]:
    """:func:`start_connect_server` as a context manager that always stops it."""
    server = start_connect_server(workdir, **kwargs)
    try:
        yield server
    finally:
        server.stop()


def run_python(
    code: str, *, env: dict[str, str] | None = None, cwd=None, timeout: float = 180
) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter that imports the kit from this checkout.

    The child gets this process's environment without the Spark Connect mode flag, plus ``env``.
    """
    child_env = {k: v for k, v in os.environ.items() if k != "SPARK_CONNECT_MODE_ENABLED"}
    child_env.update(env or {})
    root = str(Path(__file__).resolve().parent.parent)
    child_env["PYTHONPATH"] = os.pathsep.join(p for p in (root, child_env.get("PYTHONPATH")) if p)
    return subprocess.run(
        [sys.executable, "-c", code],
        env=child_env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_client(code: str, *, env: dict[str, str] | None = None, timeout: float = 180):
    """Run ``code`` in a fresh interpreter (no classic session there); return the result.

    The child's stdout's last line must be JSON; it is parsed and returned.
    """
    import json

    out = run_python(code, env=env, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"client failed ({out.returncode}):\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])
