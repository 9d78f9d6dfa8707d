"""The workspace double's table catalog: a small jar its Spark Connect server loads.

A plain Spark Connect server has no Unity Catalog and no Delta jars. The double gives it
``mdk.LayoutCatalog`` (Java, in ``recipes/workspace/java/``): each catalog name (``main`` and
``MDK_CATALOG``) is a Spark catalog over ``<double>/warehouse/<catalog>/``, in the kit's
local table layout (:mod:`recipes.tables.local`), where the double's serving endpoint
writes its inference tables. So the server itself resolves ``catalog.schema.table`` in
``spark.table``, ``spark.sql`` and ``saveAsTable``, and ``format("delta")`` is parquet
(``mdk.DeltaAsParquet``): the client sends the plain calls it sends to a workspace.

The jar is compiled with the JDK's ``javac`` against this venv's pyspark jars the first time
a double starts, and kept in ``<venv>/share/mdk/`` under a name that hashes its sources.
Nothing happens at import time.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from recipes.errors import MissingDependency
from recipes.java import java_executable
from recipes.spark_connect import spark_home

SOURCES = Path(__file__).with_name("java")
CATALOG_CLASS = "mdk.LayoutCatalog"
JAVAC_FIX = "install a JDK, not only a JRE: sudo apt-get install openjdk-17-jdk-headless"


def _source_files() -> list[Path]:
    return sorted(p for p in SOURCES.rglob("*") if p.is_file())


def jar_path() -> Path:
    """``<venv>/share/mdk/mdk-catalog-<hash>.jar``: the hash covers the sources and pyspark."""
    digest = hashlib.sha256(str(spark_home()).encode())
    for p in _source_files():
        digest.update(p.relative_to(SOURCES).as_posix().encode() + b"\0" + p.read_bytes())
    return Path(sys.prefix) / "share" / "mdk" / f"mdk-catalog-{digest.hexdigest()[:12]}.jar"


def _javac() -> str:
    java = java_executable()
    javac = Path(java).resolve().parent / "javac" if java else None
    if javac is not None and javac.is_file():
        return str(javac)
    found = shutil.which("javac")
    if found is None:
        raise MissingDependency(f"The workspace double's table catalog needs javac: {JAVAC_FIX}.")
    return found


def ensure_jar() -> Path:
    """The catalog jar, compiled first if this venv has none for the current sources.

    Raises:
        MissingDependency: no ``javac`` (a JRE only).
        RuntimeError: the sources did not compile (javac's first error line is shown).
    """
    path = jar_path()
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mdk-catalog-") as tmp:
        classes = Path(tmp) / "classes"
        java_files = [str(p) for p in _source_files() if p.suffix == ".java"]
        cmd = [_javac(), "-nowarn", "-d", str(classes), "-cp", str(spark_home() / "jars" / "*")]
        out = subprocess.run(cmd + java_files, capture_output=True, text=True, check=False,
                             timeout=300)  # fmt: skip
        if out.returncode != 0:
            first = next((ln for ln in out.stderr.splitlines() if "error" in ln), out.stderr)
            raise RuntimeError(f"the workspace double's catalog did not compile: {first}")
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as jar:
            jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
            for p in sorted(classes.rglob("*.class")):
                jar.write(p, p.relative_to(classes).as_posix())
            for p in _source_files():
                if p.suffix != ".java":  # the service registration
                    jar.write(p, p.relative_to(SOURCES).as_posix())
        for old in path.parent.glob("mdk-catalog-*.jar"):
            old.unlink()
        os.replace(partial, path)
    return path


def server_conf(warehouse: Path, catalogs: list[str], jar: Path) -> dict[str, str]:
    """The Spark Connect server's ``--conf`` settings: the jar and one catalog per name,
    the first the default (as a workspace's default catalog)."""
    conf = {"spark.jars": str(jar), "spark.sql.defaultCatalog": catalogs[0]}
    for name in dict.fromkeys(catalogs):
        conf[f"spark.sql.catalog.{name}"] = CATALOG_CLASS
        conf[f"spark.sql.catalog.{name}.root"] = str(warehouse / name)
    return conf
