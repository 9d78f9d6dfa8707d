"""Java detection for local Spark: which ``java`` runs, its version, and the fix when it is wrong.

One implementation shared by :mod:`recipes.spark` (which refuses to launch a JVM older than
:data:`MIN_JAVA`) and :mod:`recipes.tooling.doctor` (which reports it). Nothing runs at import time.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from pathlib import Path

from recipes.errors import KitError, MissingDependency, ParameterError

MIN_JAVA = 17
JAVA_FIX = (
    "install a JDK 17 (sudo apt-get install openjdk-17-jdk-headless; on macOS "
    "brew install openjdk@17) or set JAVA_HOME to a JDK 17 or 21"
)


def parse_java_version(text: str) -> int | None:
    """The major version in ``java -version`` output.

    Args:
        text: the output of ``java -version`` (stderr and stdout); any preamble such as
            ``Picked up JAVA_TOOL_OPTIONS`` is skipped.

    Returns:
        The feature version (``"1.8.0_392"`` is 8, ``"17.0.15"`` is 17, ``"25-ea"`` is 25),
        or None when the text holds no version.
    """
    m = re.search(r'version\s+"(\d+)(?:\.(\d+))?[^"]*"', text)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major


def java_executable() -> str | None:
    """The ``java`` Spark will launch.

    Returns:
        ``$JAVA_HOME/bin/java`` when ``JAVA_HOME`` is set (None if it has no ``bin/java``),
        else ``java`` on PATH, else None.
    """
    home = os.environ.get("JAVA_HOME")
    if home:
        path = Path(home).expanduser() / "bin" / "java"
        return str(path) if path.exists() else None
    return shutil.which("java")


@functools.lru_cache(maxsize=8)
def java_version(java: str) -> tuple[int | None, str]:
    """Run ``java -version`` (cached per path).

    Args:
        java: the java executable.

    Returns:
        The major version (None when the output holds none) and the first line of output
        (empty when there is none).

    Raises:
        OSError: ``java`` cannot be run.
        subprocess.TimeoutExpired: it did not answer within 30 seconds.
    """
    out = subprocess.run(
        [java, "-version"], capture_output=True, text=True, timeout=30, check=False
    )
    text = out.stderr + out.stdout
    return parse_java_version(text), text.strip().splitlines()[0] if text.strip() else ""


def java_home_hint() -> str:
    """An ``export JAVA_HOME=…`` line for the ``java`` on PATH.

    Returns:
        ``readlink -f $(which java)`` minus ``/bin/java`` when java is on PATH, else the
        shell command that derives it.
    """
    found = shutil.which("java")
    if found:
        return f"export JAVA_HOME={Path(found).resolve().parent.parent} (if that is Java 17+)"
    return "export JAVA_HOME=$(dirname $(dirname $(readlink -f $(which java))))"


def require_java() -> tuple[str, int]:
    """Check, before any JVM starts, that Java 17+ is there.

    Returns:
        The java executable's path and its major version.

    Raises:
        MissingDependency: no java (``JAVA_HOME`` wrong or nothing on PATH).
        KitError: java older than 17, or its version cannot be read.
    """
    java = java_executable()
    if java is None:
        where = (
            f"JAVA_HOME={os.environ['JAVA_HOME']} has no bin/java"
            if os.environ.get("JAVA_HOME")
            else "no `java` is on PATH and JAVA_HOME is unset"
        )
        raise MissingDependency(f"Local Spark needs Java {MIN_JAVA}+, but {where}: {JAVA_FIX}.")
    try:
        major, first_line = java_version(java)
    except (OSError, subprocess.TimeoutExpired) as exc:
        major, first_line = None, str(exc)
    if major is None:
        raise KitError(
            f"Could not read the version of {java} ({first_line or 'no output'}): {JAVA_FIX}."
        )
    if major < MIN_JAVA:
        raise KitError(
            f"Spark 4 needs Java {MIN_JAVA}+, but {java} is Java {major}: {JAVA_FIX} "
            "(e.g. JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64)."
        )
    return java, major


JVM_OPTIONS_ENV = "MDK_JVM_OPTIONS"


def extra_jvm_options() -> str:
    """The options in ``MDK_JVM_OPTIONS``, for every local Spark JVM the kit starts.

    They go after the kit's own in the classic session's and the Spark Connect server's
    ``spark.driver.extraJavaOptions``, so one of them wins over the kit's (``-Xmx4g``, say).
    The test session sets ``-XX:TieredStopAtLevel=1`` (with the tiered code cache size, 240 MB,
    which C1 alone would shrink to 48 MB) and Spark's interpreted expressions
    (``-Dspark.sql.codegen.*``: a JVM reads ``spark.*`` system properties into its SparkConf):
    its JVMs run seconds-long jobs on small data, where compiling costs more CPU than it saves
    (tests/homes.py). A value java refuses is caught here, before Spark starts, with
    ``java <options> -version``'s own line.

    Raises:
        ParameterError: java cannot start with these options.
    """
    options = os.environ.get(JVM_OPTIONS_ENV, "").strip()
    if options:
        _check_options(java_executable() or "java", options)
    return options


@functools.lru_cache(maxsize=8)
def _check_options(java: str, options: str) -> None:
    try:
        out = subprocess.run(
            [java, *options.split(), "-version"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ParameterError(
            f"{JVM_OPTIONS_ENV}={options!r}: {java} did not start ({exc})"
        ) from None
    if out.returncode != 0:
        lines = [ln for ln in (out.stderr + out.stdout).splitlines() if ln.strip()]
        why = next(
            (ln for ln in lines if "Error" in ln or "Unrecognized" in ln), lines[0] if lines else ""
        )
        raise ParameterError(
            f"{JVM_OPTIONS_ENV}={options!r}: java refuses it ({why.strip()}): fix or unset it."
        )
