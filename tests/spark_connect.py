"""A real local Spark Connect server for tests, on a free loopback port (never 15002).

The server's lifecycle lives in :mod:`recipes.spark_connect` (``mdk workspace up`` starts
one too); this module re-exports it for the tests and adds the client side.

Usage::

    with connect_server(tmp_path) as server:
        ... get_spark(remote=server.url) ...   # in a process with no classic session

pyspark cannot hold a classic and a Connect session in one process, so a test suite
that also uses a classic session should run its Connect client in a subprocess
(:func:`run_client`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from recipes.spark_connect import (  # noqa: F401  (re-exported for the tests)
    CLASS,
    FORBIDDEN_PORT,
    ConnectServer,
    connect_server,
    free_port,
    pid_alive,
    spark_home,
    start_connect_server,
)


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
