"""``mdk doctor``: check the machine for what the kit needs, and name the fix for each gap.

Each check is a small function returning a :class:`Check`; the inputs that differ
between machines (versions, installed packages, command output) are parameters, so the
logic is testable without changing the machine. This module holds the machine checks;
:mod:`recipes.tooling.doctor.databricks` holds databricks-connect's and the workspace's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from recipes import delta_lake, jvm_archive
from recipes.errors import KitError
from recipes.java import MIN_JAVA, java_executable, java_home_hint, java_version
from recipes.tooling.doctor.check import Check, installed_version
from recipes.tooling.doctor.databricks import run_databricks_checks

PYTHON = (3, 12)
MLFLOW_RANGE = (">=3.17", "<3.18")


def check_python(version: tuple[int, ...] | None = None) -> Check:
    """Python must be 3.12 (databricks-connect and Spark Connect UDFs need it)."""
    version = tuple(sys.version_info[:3]) if version is None else version
    found, ok = ".".join(map(str, version)), tuple(version[:2]) == PYTHON
    fix = "pyenv install 3.12 && pyenv local 3.12.1, then python3.12 -m venv .venv"
    return Check("python 3.12", ok, True, f"Python {found} ({sys.executable})", "" if ok else fix)


def check_java(java: Path | None = None, needed: bool | None = None) -> Check:
    """Java 17+ for local Spark; required only when pyspark is installed.

    Args:
        java: the java binary; defaults to :func:`recipes.java.java_executable`.
        needed: whether Spark needs it; defaults to "pyspark is installed".
    """
    needed = installed_version("pyspark") is not None if needed is None else needed
    if java is None and (found := java_executable()):
        java = Path(found)
    fix = f"apt-get install openjdk-17-jdk-headless, then {java_home_hint()}"
    name = f"java {MIN_JAVA}+"
    if java is None or not java.exists():
        home = os.environ.get("JAVA_HOME")
        where = "JAVA_HOME/bin/java" if home else "java on PATH"
        shown = java or (Path(home) / "bin" / "java" if home else "not found")
        return Check(name, False, needed, f"no {where} ({shown})", fix)
    try:
        version, first = java_version(str(java))
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check(name, False, needed, f"{java} -version failed: {exc}", fix)
    ok = version is not None and version >= MIN_JAVA
    return Check(name, ok, needed, f"{first or 'no output'} ({java})", "" if ok else fix)


def check_jvm_archive(path: Path | None | bool = False) -> Check:
    """Whether local Spark JVMs start from the class archive (:mod:`recipes.jvm_archive`).

    Args:
        path: the archive's path (None: no local Spark or java here); default this venv's.
    """
    if path is False:
        path = jvm_archive.archive_path()
    name = "Spark start-up archive"
    if path is None:
        return Check(name, True, False, "not needed (no local Spark JVM or no java)")
    if path.is_file():
        return Check(name, True, False, f"{path} ({path.stat().st_size / 1e6:.0f} MB)")
    fix = f"{sys.executable} -m recipes.jvm_archive (make setup makes it)"
    return Check(name, False, False, f"missing: Spark JVMs start ~3 s slower ({path})", fix)


def check_delta(version: str | None | bool = False) -> Check:
    """Delta Lake's jars and the kit's catalog for local Spark (:mod:`recipes.delta_lake`);
    required when ``delta-spark`` is installed (the ``local`` extra).

    Args:
        version: the ``delta-spark`` wheel's version (None: not installed); default this venv's.
    """
    version = delta_lake.delta_version() if version is False else version
    name = "Delta Lake jars"
    if version is None:
        return Check(name, True, False, "not needed (no delta-spark: no local Spark JVM)")
    try:
        jars, jar = delta_lake.jars(), delta_lake.catalog_jar()
    except KitError as exc:
        return Check(
            name, False, True, str(exc), f"make setup ({sys.executable} -m recipes.delta_lake)"
        )
    mb = sum(p.stat().st_size for p in jars) / 1e6
    return Check(
        name, True, True, f"delta-spark {version}: {len(jars)} jars ({mb:.0f} MB) and {jar.name}"
    )


def check_spark_conflict(
    version_of: Callable[[str], str | None] = installed_version,
) -> Check:
    """pyspark and databricks-connect must not share a venv (each breaks the other)."""
    spark, connect = version_of("pyspark"), version_of("databricks-connect")
    found = f"pyspark {spark or 'absent'}, databricks-connect {connect or 'absent'}"
    ok = not (spark and connect)
    fix = (
        "use separate venvs: pip uninstall -y databricks-connect && pip install --force-reinstall "
        "pyspark (local), or pip uninstall -y pyspark && pip install --force-reinstall "
        "databricks-connect (workspace)"
    )
    return Check("pyspark xor databricks-connect", ok, True, found, "" if ok else fix)


def check_mlflow(version: str | None = None) -> Check:
    """mlflow must be in the pinned range ``>=3.17,<3.18``."""
    from packaging.specifiers import SpecifierSet

    version = version if version is not None else installed_version("mlflow")
    spec = SpecifierSet(",".join(MLFLOW_RANGE))
    ok = version is not None and spec.contains(version)
    return Check(
        f"mlflow {','.join(MLFLOW_RANGE)}",
        ok,
        True,
        f"mlflow {version or 'not installed'}",
        "" if ok else 'pip install "mlflow>=3.17.2,<3.18"',
    )


def check_tracking(uri: str | None = None, timeout: float = 3.0) -> Check:
    """The tracking server answers ``/health`` (http URIs); else report the local store."""
    from recipes.target import mdk_home

    uri = uri if uri is not None else os.environ.get("MLFLOW_TRACKING_URI", "")
    if uri.startswith(("http://", "https://")):
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(uri.rstrip("/") + "/health", timeout=timeout) as resp:
                ok, detail = resp.status == 200, f"{uri} answers {resp.status}"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            ok, detail = False, f"{uri} unreachable ({getattr(exc, 'reason', exc)})"
        fix = "mdk up and export the MLFLOW_TRACKING_URI it prints, or unset MLFLOW_TRACKING_URI"
        return Check("tracking server", ok, True, detail, "" if ok else fix)
    if not uri:
        uri = f"sqlite:///{mdk_home() / 'mlflow.db'}"
    if uri.startswith(("sqlite:", "file:")) or ("://" not in uri and uri != "databricks"):
        return Check("tracking server", True, True, f"embedded store {uri}")
    return Check("tracking server", True, True, f"{uri} (not probed here)")


def check_stack(home: Path | None = None) -> list[Check]:
    """Loopback ports can be bound, and any service ``mdk up`` recorded is healthy."""
    from recipes import stack

    try:
        port = stack.free_port()
        checks = [Check("free port", True, False, f"127.0.0.1:{port} can be bound")]
    except OSError as exc:
        checks = [
            Check(
                "free port",
                False,
                False,
                f"cannot bind 127.0.0.1: {exc}",
                "free a port on 127.0.0.1 or check the loopback interface",
            )
        ]
    for row in stack.status(home):
        who = "mdk up" if row.name in stack.UP else "mdk run"
        if row.pid is None:
            if row.name in stack.UP:  # mdk run's Spark runs only while mdk run does
                checks.append(Check(f"{who}: {row.name}", True, False, "not running (mdk up)"))
        else:
            state = "healthy" if row.healthy else ("alive, not healthy" if row.alive else "dead")
            checks.append(
                Check(
                    f"{who}: {row.name}",
                    row.healthy,
                    False,
                    f"pid {row.pid} at {row.url}: {state}",
                    "" if row.healthy else "mdk down && mdk up",
                )
            )
    return checks


def run_checks() -> list[Check]:
    """Every check, in the order ``mdk doctor`` prints them."""
    return [
        check_python(),
        check_java(),
        check_delta(),
        check_jvm_archive(),
        check_spark_conflict(),
        check_mlflow(),
        check_tracking(),
        *check_stack(),
        *run_databricks_checks(),
    ]


def required_failures(checks: list[Check]) -> list[Check]:
    """The failed checks that are required (``mdk doctor`` exits 1 if any)."""
    return [c for c in checks if c.required and not c.ok]
