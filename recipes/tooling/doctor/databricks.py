"""``mdk doctor`` for ``target=databricks``: databricks-connect, the workspace, the compute.

Databricks Connect needs a client whose major.minor is the cluster's Databricks Runtime
(``databricks-connect==15.4.*`` for a ``15.4.x-scala2.12`` cluster). The pure parts take
plain values: :func:`parse_runtime`, :func:`connect_pin`, :func:`check_connect`,
:func:`check_runtime_match` and :func:`check_compute` (which is handed the call that reads a
cluster's ``spark_version``). :func:`check_workspace` and :func:`run_databricks_checks` use
the real databricks-sdk, so tests point it at a loopback server.

Nothing here writes to a workspace: the calls are ``GET /api/2.0/preview/scim/v2/Me`` and
``GET /api/2.1/clusters/get``, and on the local target they are made only when a workspace
is configured explicitly (``DATABRICKS_HOST`` or ``DATABRICKS_CONFIG_PROFILE``).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from databricks.sdk import WorkspaceClient
from packaging.version import InvalidVersion, Version

from recipes.errors import KitError
from recipes.target import databricks_config
from recipes.tooling.doctor.check import Check, installed_version

CONNECT = "databricks-connect"
SETUP = "make setup-databricks"
WORKSPACE, COMPUTE = "databricks workspace", "databricks compute"
# "15.4.x-scala2.12", "16.2.x-cpu-ml-scala2.12", "16.x-snapshot-scala2.12", and custom images
# that embed one ("custom:custom-local__15.4.x-snapshot-cpu-ml-scala2.12__..."): the same
# shapes databricks-connect's own validation reads.
_RUNTIME = re.compile(r"(?<![\d.])(\d+)\.(?:(\d+)\.)?x")
_AUTH_FIX = (
    "export DATABRICKS_HOST=https://<workspace> DATABRICKS_TOKEN=<token>, or a "
    "~/.databrickscfg profile (databricks auth login --host <workspace>) with "
    "DATABRICKS_CONFIG_PROFILE=<name>"
)
_COMPUTE_FIX = "export DATABRICKS_CLUSTER_ID=<cluster id>, or DATABRICKS_SERVERLESS_COMPUTE_ID=auto"

Runtime = tuple[int, int | None]


def parse_runtime(spark_version: str) -> Runtime:
    """The Databricks Runtime ``(major, minor)`` in a cluster's ``spark_version``.

    ``"15.4.x-scala2.12"`` gives ``(15, 4)``, ``"16.2.x-cpu-ml-scala2.12"`` ``(16, 2)``, and a
    runtime that names no minor (``"16.x-snapshot-scala2.12"``) ``(16, None)``.

    Raises:
        ValueError: when the string names no runtime.
    """
    match = _RUNTIME.search(spark_version or "")
    if match is None:
        raise ValueError(f"no Databricks Runtime major.minor in {spark_version!r}")
    return int(match[1]), None if match[2] is None else int(match[2])


def runtime_series(runtime: Runtime) -> str:
    """``"15.4"``, or ``"16"`` when the runtime names no minor."""
    major, minor = runtime
    return str(major) if minor is None else f"{major}.{minor}"


def connect_pin(runtime: Runtime) -> str:
    """The install line for the databricks-connect that matches ``runtime``."""
    return f'pip install "databricks-connect=={runtime_series(runtime)}.*"'


def check_connect(version: str | None, target: str) -> Check:
    """databricks-connect's version; its absence matters only when ``target`` is databricks.

    Args:
        version: the installed databricks-connect, or None.
        target: the configured target (``MDK_TARGET``), ``"local"`` or ``"databricks"``.
    """
    needed = target == "databricks"
    if version:
        return Check(CONNECT, True, needed, f"databricks-connect {version}")
    if needed:
        fix = (
            f"{SETUP}, then run .venv-dbx/bin/mdk (databricks-connect never shares pyspark's venv)"
        )
        return Check(CONNECT, False, True, f"not installed: {SETUP}", fix)
    return Check(
        CONNECT, True, False, f"not installed: {SETUP} (only MDK_TARGET=databricks needs it)"
    )


def check_runtime_match(
    spark_version: str, connect_version: str | None, where: str, required: bool = True
) -> Check:
    """The runtime in ``spark_version`` against databricks-connect's major.minor.

    Args:
        spark_version: the cluster's ``spark_version``, e.g. ``"15.4.x-scala2.12"``.
        connect_version: the installed databricks-connect, or None.
        where: what runs it, for the message (``"cluster 0123-abc"``).
        required: whether a mismatch is a required failure.
    """
    try:
        runtime = parse_runtime(spark_version)
    except ValueError:
        return Check(
            COMPUTE,
            False,
            required,
            f"{where} runs {spark_version!r}, which names no Databricks Runtime major.minor",
            "use a cluster on a Databricks Runtime (spark_version like 15.4.x-scala2.12)",
        )
    series, pin = runtime_series(runtime), connect_pin(runtime)
    runs = f"{where} runs Databricks Runtime {series} ({spark_version})"
    if not connect_version:  # never pip install it here: this venv may hold pyspark
        return Check(
            COMPUTE,
            False,
            required,
            f"{runs}; databricks-connect is not installed",
            f"{SETUP} (this runtime needs databricks-connect {series}.* there)",
        )
    try:
        client = Version(connect_version)
    except InvalidVersion:
        return Check(
            COMPUTE,
            False,
            required,
            f"{runs}; databricks-connect {connect_version!r} is not a version",
            pin,
        )
    major, minor = runtime
    if major == client.major and minor in (None, client.minor):
        return Check(
            COMPUTE, True, required, f"{runs}: databricks-connect {connect_version} matches"
        )
    return Check(
        COMPUTE,
        False,
        required,
        f"{runs}, databricks-connect is {connect_version}: Databricks Connect needs the same "
        f"major.minor ({series})",
        pin,
    )


@dataclass(frozen=True)
class Compute:
    """What Databricks Connect attaches to, as configured.

    Attributes:
        cluster_id: ``DATABRICKS_CLUSTER_ID`` (or the profile's ``cluster_id``).
        serverless_compute_id: ``DATABRICKS_SERVERLESS_COMPUTE_ID`` (``"auto"`` for serverless).
        spark_remote: a Spark Connect URL (``MDK_SPARK_REMOTE`` or ``SPARK_REMOTE``), which
            databricks-connect uses instead of a cluster.
    """

    cluster_id: str | None = None
    serverless_compute_id: str | None = None
    spark_remote: str | None = None


def check_compute(
    compute: Compute,
    connect_version: str | None,
    spark_version_of: Callable[[str], str],
    required: bool = True,
) -> Check:
    """Which compute Databricks Connect would use, and for a cluster whether its runtime matches.

    Args:
        compute: the configured compute.
        connect_version: the installed databricks-connect, or None.
        spark_version_of: reads a cluster's ``spark_version`` (the SDK's ``clusters.get``).
        required: whether a failure is required (target=databricks) or informational.
    """
    if compute.spark_remote:
        url = re.sub(r"(token=)[^;&]*", r"\1***", compute.spark_remote, flags=re.I)
        return Check(
            COMPUTE,
            True,
            required,
            f"Spark Connect at {url} (no cluster): Databricks Runtime match skipped",
        )
    serverless = compute.serverless_compute_id
    if serverless and serverless != "auto":
        return Check(
            COMPUTE,
            False,
            required,
            f"DATABRICKS_SERVERLESS_COMPUTE_ID={serverless}: Databricks Connect accepts only 'auto'",
            "export DATABRICKS_SERVERLESS_COMPUTE_ID=auto",
        )
    if serverless and compute.cluster_id:
        return Check(
            COMPUTE,
            False,
            required,
            f"both a cluster ({compute.cluster_id}) and serverless are set: Databricks Connect refuses both",
            "unset DATABRICKS_CLUSTER_ID or DATABRICKS_SERVERLESS_COMPUTE_ID",
        )
    if serverless:
        return Check(
            COMPUTE,
            True,
            required,
            "serverless (DATABRICKS_SERVERLESS_COMPUTE_ID=auto): Databricks Runtime match "
            "skipped, serverless picks its own runtime",
        )
    if not compute.cluster_id:
        return Check(
            COMPUTE,
            False,
            required,
            "no cluster and no serverless: Databricks Connect needs one",
            _COMPUTE_FIX,
        )
    where = f"cluster {compute.cluster_id}"
    try:
        spark_version = spark_version_of(compute.cluster_id)
    except Exception as exc:  # the doctor reports every failure as one line, never a traceback
        return Check(
            COMPUTE,
            False,
            required,
            f"{where}: {_first_line(exc)}",
            f"check DATABRICKS_CLUSTER_ID, or {_COMPUTE_FIX}",
        )
    return check_runtime_match(spark_version or "", connect_version, where, required)


def check_workspace(client, required: bool = True) -> Check:
    """An authenticated GET (``current_user.me()``) against the workspace the SDK is set to.

    Args:
        client: a ``databricks.sdk.WorkspaceClient``.
        required: whether a failure is required (target=databricks) or informational.
    """
    host = client.config.host
    try:
        me = client.current_user.me()
    except Exception as exc:  # the doctor reports every failure as one line, never a traceback
        return Check(WORKSPACE, False, required, f"{host}: {_first_line(exc)}", _AUTH_FIX)
    who = me.user_name or me.display_name or me.id or "an unnamed identity"
    return Check(WORKSPACE, True, required, f"{host} answers, signed in as {who}")


def configured_target(environ: Mapping[str, str] = os.environ) -> str:
    """``MDK_TARGET``, lower-cased (``"local"`` when unset)."""
    return (environ.get("MDK_TARGET") or "local").strip().lower()


def run_databricks_checks(
    target: str | None = None,
    connect_version: str | None = None,
    *,
    retry_timeout_seconds: int = 10,
    http_timeout_seconds: float = 10,
) -> list[Check]:
    """databricks-connect, and when a workspace is configured: reaching it, and its compute.

    Args:
        target: the configured target; defaults to ``MDK_TARGET``.
        connect_version: databricks-connect's version; defaults to the installed one.
        retry_timeout_seconds: how long the SDK retries an unanswered call (its default is 300).
        http_timeout_seconds: how long one HTTP call may take.
    """
    target = target or configured_target()
    connect_version = connect_version or installed_version(CONNECT)
    checks = [check_connect(connect_version, target)]
    needed = target == "databricks"
    if not needed and not (
        os.environ.get("DATABRICKS_HOST") or os.environ.get("DATABRICKS_CONFIG_PROFILE")
    ):
        checks.append(
            Check(
                WORKSPACE,
                True,
                False,
                "none configured (MDK_TARGET=databricks uses DATABRICKS_HOST or a profile)",
            )
        )
        return checks
    try:
        with _sdk_quiet():
            config = databricks_config(
                retry_timeout_seconds, http_timeout_seconds=http_timeout_seconds
            )
    except KitError as exc:
        checks.append(Check(WORKSPACE, False, needed, str(exc), _AUTH_FIX))
        return checks
    client = WorkspaceClient(config=config)
    checks.append(reached := check_workspace(client, needed))
    compute = Compute(
        cluster_id=config.cluster_id,
        serverless_compute_id=config.serverless_compute_id,
        spark_remote=os.environ.get("MDK_SPARK_REMOTE") or os.environ.get("SPARK_REMOTE"),
    )
    if not reached.ok and compute.cluster_id and not compute.spark_remote:
        checks.append(
            Check(
                COMPUTE,
                False,
                needed,
                f"cluster {compute.cluster_id}: not checked, the workspace did not answer",
                "fix the workspace check first",
            )
        )
        return checks
    checks.append(
        check_compute(
            compute, connect_version, lambda c: client.clusters.get(c).spark_version, needed
        )
    )
    return checks


def _first_line(exc: BaseException) -> str:
    """The error's first line, without the SDK's `` Config: host=…, Env: …`` dump."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0].split(" Config: ")[0]


@contextmanager
def _sdk_quiet() -> Iterator[None]:
    """Hide the SDK's warning that a host has no ``/.well-known/databricks-config`` (the kit's
    local endpoint and older workspaces answer 404; the SDK then uses the explicit config)."""
    logger = logging.getLogger("databricks.sdk")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
