"""Delta Lake for the kit's local Spark JVMs: its jars, the catalog that names its tables, and
the settings every local session and Spark Connect server starts with.

- **Jars.** ``make setup`` runs ``python -m recipes.delta_lake``: a small local Spark JVM with
  ``spark.jars.packages`` set to the artifact Delta's own ``configure_spark_with_delta_pip``
  names for this venv's ``delta-spark`` wheel and pyspark (``io.delta:delta-spark_4.2_2.13:<v>``),
  so Spark's Ivy fetches it and its dependencies from Maven Central once, into
  ``<venv>/share/mdk/delta-<v>/``. The jars Spark already ships (log4j, Hadoop, Parquet, ...)
  are left out, so Spark's own copies stay the ones loaded. Nothing is fetched afterwards:
  sessions name the cached jars on the driver's class path (so the class-data-sharing archive
  of :mod:`recipes.jvm_archive` covers Delta's classes too).
- **Names.** ``mdk.PathCatalog`` (Java, ``recipes/java_src/mdk/``, compiled by ``javac`` at setup)
  resolves ``<catalog>.<schema>.<table>`` to the Delta table at
  ``<warehouse>/<catalog>/<schema>/<table>`` and leaves every table operation to Delta's own
  ``DeltaCatalog``. ``main`` is the default catalog, as on a Unity Catalog workspace, so
  ``predictions.churn_scores`` is ``main.predictions.churn_scores``; ``MDK_CATALOG`` is a
  second catalog when it is set. Unity Catalog OSS would be the real catalog, but its server
  and Spark connector are not served by the Maven Central these machines reach (README).
- **Commits.** ``mdk.LinkLogStore`` (same jar) is Delta's log store for local files: each
  commit is put-if-absent by a hard link, as delta-rs commits are, so a Spark job and the
  endpoint's delta-rs appends to one table never overwrite each other's commit (Delta's default
  checks, then renames over, which loses the other writer's commit when it lands in between).
- **Settings.** :func:`spark_conf`: Delta's session extension, ``DeltaCatalog`` as
  ``spark_catalog``, the catalogs, the log store, and the class path.

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
from collections.abc import Sequence
from pathlib import Path

from recipes.errors import KitError, MissingDependency
from recipes.java import java_executable
from recipes.jsonfile import write_text

SOURCES = Path(__file__).with_name("java_src")
CATALOG_CLASS = "mdk.PathCatalog"
LOG_STORE_CLASS = "mdk.LinkLogStore"  # recipes/java_src/mdk/LinkLogStore.java
DEFAULT_CATALOG = "main"
SYSTEM_CATALOG = "system"  # Databricks' system tables, e.g. system.serving.served_entities
CATALOG_VAR = "MDK_CATALOG"
MANIFEST = "classpath.txt"
SETUP_FIX = "run `make setup` (it fetches them from Maven Central once)"
JAVAC_FIX = "install a JDK, not only a JRE: sudo apt-get install openjdk-17-jdk-headless"
# The jars Spark resolves for Delta that Spark ships itself: its own copies are loaded.
_SKIP = ("commons-logging",)  # Spark routes commons-logging through jcl-over-slf4j
# Delta's dependencies that pyspark ships already (``group:artifact``): Ivy is told not to
# download them (hadoop-client's two jars alone are 50 MB). Only those whose artifact is in
# this pyspark's jars are excluded (:func:`_excludes`), so a Delta or Spark that needs
# another one still resolves it; the class path keeps only what Spark does not ship either way.
_SHIPPED = (
    "com.fasterxml.jackson.core:jackson-annotations",
    "com.fasterxml.jackson.core:jackson-core",
    "com.fasterxml.jackson.core:jackson-databind",
    "com.github.luben:zstd-jni",
    "com.google.code.findbugs:jsr305",
    "commons-pool:commons-pool",
    "io.airlift:aircompressor",
    "org.apache.hadoop:hadoop-client-api",
    "org.apache.hadoop:hadoop-client-runtime",
    "org.apache.logging.log4j:log4j-api",
    "org.apache.logging.log4j:log4j-core",
    "org.apache.logging.log4j:log4j-slf4j2-impl",
    "org.apache.parquet:parquet-column",
    "org.apache.parquet:parquet-common",
    "org.apache.parquet:parquet-encoding",
    "org.apache.parquet:parquet-format-structures",
    "org.apache.parquet:parquet-hadoop",
    "org.apache.parquet:parquet-jackson",
    "org.locationtech.jts:jts-core",
    "org.slf4j:slf4j-api",
    "org.xerial.snappy:snappy-java",
)

# Maven Central only: Ivy's default chain also reads ~/.m2, where a pom without its jar
# (left by an earlier `mvn dependency:get`) fails the whole resolution.
_IVY_SETTINGS = """<ivysettings>
  <settings defaultResolver="central"/>
  <caches defaultCacheDir="{cache}"/>
  <resolvers>
    <ibiblio name="central" m2compatible="true" root="https://repo1.maven.org/maven2/"/>
  </resolvers>
</ivysettings>
"""

_FETCH = """
import sys
from pyspark.sql import SparkSession
spark = (SparkSession.builder.master("local[1]")
         .config("spark.jars.packages", sys.argv[1])
         .config("spark.jars.ivy", sys.argv[2])
         .config("spark.jars.ivySettings", sys.argv[3])
         .config("spark.jars.excludes", sys.argv[4])
         .config("spark.ui.enabled", "false")
         .getOrCreate())
spark.stop()
"""


# --------------------------------------------------------------------------- versions


def delta_version() -> str | None:
    """The installed ``delta-spark`` wheel's version (None without it)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("delta-spark")
    except PackageNotFoundError:
        return None


def maven_coordinate() -> str:
    """The Maven artifact Delta's own pip helper names for this venv's wheel and pyspark.

    Raises:
        MissingDependency: without ``delta-spark`` or pyspark.
    """
    try:
        from delta.pip_utils import configure_spark_with_delta_pip
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise MissingDependency(
            f'delta-spark is not installed ({exc}): run pip install -e ".[local]".'
        ) from exc
    builder = configure_spark_with_delta_pip(SparkSession.builder)
    return builder._options["spark.jars.packages"]


def home() -> Path:
    """``<venv>/share/mdk/delta-<version>``: the Ivy cache, the jars and the catalog jar."""
    return Path(sys.prefix) / "share" / "mdk" / f"delta-{delta_version() or 'none'}"


# --------------------------------------------------------------------------- jars


def _spark_jars() -> Path:
    """The jars pyspark ships (``pyspark/jars``), which Delta's jars are compiled against."""
    import importlib.util

    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependency('pyspark is not installed: run pip install -e ".[local]".')
    return Path(next(iter(spec.submodule_search_locations))).resolve() / "jars"


def _artifact(jar_name: str, *, grouped: bool = True) -> str:
    """An artifact's name from its jar's: Ivy's ``<group>_<artifact>-<version>.jar``
    (``org.apache.logging.log4j_log4j-core-2.25.3.jar`` -> ``log4j-core``), or, with
    ``grouped=False``, Spark's ``<artifact>-<version>.jar``."""
    stem = jar_name.removesuffix(".jar")
    if grouped:
        stem = stem.split("_", 1)[-1]
    parts = stem.split("-")
    while parts and parts[-1][:1].isdigit():
        parts.pop()
    return "-".join(parts)


def _excludes(spark_jars: list[str]) -> list[str]:
    """The :data:`_SHIPPED` dependencies this pyspark's jars hold (by artifact name)."""
    shipped = {_artifact(n, grouped=False) for n in spark_jars}
    return [ga for ga in _SHIPPED if ga.split(":")[1] in shipped]


def _own(resolved: list[Path], spark_jars: list[str]) -> list[Path]:
    """The resolved jars Spark does not ship (by artifact name), without :data:`_SKIP`."""
    shipped = {_artifact(n, grouped=False) for n in spark_jars}
    return [p for p in resolved if _artifact(p.name) not in shipped | set(_SKIP)]


def fetch(timeout: float = 900) -> list[Path]:
    """Resolve Delta's jars through Spark's own Ivy into :func:`home`, and list them.

    Returns:
        The jars put on the class path (those Spark does not ship).

    Raises:
        MissingDependency: no pyspark or delta-spark.
        KitError: the resolution failed (its last line is shown; it needs Maven Central).
    """
    coordinate = maven_coordinate()
    root = home()
    ivy = root / "ivy"
    ivy.mkdir(parents=True, exist_ok=True)
    settings = ivy / "ivysettings.xml"
    settings.write_text(_IVY_SETTINGS.format(cache=ivy / "cache"))
    env = {k: v for k, v in os.environ.items() if k not in ("SPARK_REMOTE", "MDK_SPARK_REMOTE")}
    spark_jars = [p.name for p in _spark_jars().glob("*.jar")]
    job = subprocess.run(
        [
            sys.executable,
            "-c",
            _FETCH,
            coordinate,
            str(ivy),
            str(settings),
            ",".join(_excludes(spark_jars)),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    resolved = sorted((ivy / "jars").glob("*.jar"))
    if job.returncode != 0 or not any("delta-spark" in p.name for p in resolved):
        lines = [ln for ln in job.stderr.splitlines() if ln.strip()]
        hint = next(
            (ln for ln in lines if "not found" in ln.lower() or "error" in ln.lower()),
            lines[-1] if lines else "no output",
        )
        raise KitError(
            f"Spark could not fetch Delta Lake's jars ({coordinate}) from Maven Central: "
            f"{hint.strip()}"
        )
    jars = _own(resolved, spark_jars)
    _write_manifest(root / MANIFEST, jars)
    return jars


def _write_manifest(path: Path, jars: list[Path]) -> None:
    write_text(path, "".join(f"{p}\n" for p in jars))


def jars() -> list[Path]:
    """The cached Delta jars this venv's local JVMs load.

    Raises:
        MissingDependency: none fetched yet, or a listed jar is gone (one line naming the fix).
    """
    manifest = home() / MANIFEST
    try:
        listed = [Path(ln) for ln in manifest.read_text().splitlines() if ln.strip()]
    except OSError:
        listed = []
    missing = [p for p in listed if not p.is_file()]
    if not listed or missing:
        raise MissingDependency(
            f"Delta Lake's jars are not in this venv ({maven_coordinate()}, expected in "
            f"{home()}): {SETUP_FIX}."
        )
    return listed


# --------------------------------------------------------------------------- the catalog


def _source_files() -> list[Path]:
    return sorted(p for p in SOURCES.rglob("*.java") if p.is_file())


def catalog_jar_path() -> Path:
    """``<home>/mdk-catalog-<hash>.jar``: the hash covers the sources and the class path."""
    digest = hashlib.sha256(str(_spark_jars()).encode())
    for p in _source_files():
        digest.update(p.relative_to(SOURCES).as_posix().encode() + b"\0" + p.read_bytes())
    return home() / f"mdk-catalog-{digest.hexdigest()[:12]}.jar"


def _javac() -> str:
    java = java_executable()
    javac = Path(java).resolve().parent / "javac" if java else None
    if javac is not None and javac.is_file():
        return str(javac)
    found = shutil.which("javac")
    if found is None:
        raise MissingDependency(
            f"The kit's table catalog (mdk.PathCatalog) needs javac: {JAVAC_FIX}."
        )
    return found


def catalog_jar() -> Path:
    """The catalog jar, compiled first if this venv has none for the current sources.

    Raises:
        MissingDependency: no ``javac`` (a JRE only), or no Delta jars yet.
        KitError: the sources did not compile (javac's first error line is shown).
    """
    path = catalog_jar_path()
    if path.is_file():
        return path
    class_path = [str(_spark_jars() / "*"), *map(str, jars())]
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mdk-catalog-") as tmp:
        classes = Path(tmp) / "classes"
        cmd = [_javac(), "-nowarn", "-d", str(classes), "-cp", os.pathsep.join(class_path)]
        out = subprocess.run(
            cmd + [str(p) for p in _source_files()],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        if out.returncode != 0:
            first = next((ln for ln in out.stderr.splitlines() if "error" in ln), out.stderr)
            raise KitError(f"the kit's table catalog did not compile: {first}")
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as jar:
            jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
            for p in sorted(classes.rglob("*.class")):
                jar.write(p, p.relative_to(classes).as_posix())
        for old in path.parent.glob("mdk-catalog-*.jar"):
            old.unlink()
        os.replace(partial, path)
    return path


def class_path() -> str:
    """The driver's extra class path: Delta's jars and the catalog jar."""
    return os.pathsep.join([*map(str, jars()), str(catalog_jar())])


# --------------------------------------------------------------------------- settings


def catalogs() -> list[str]:
    """``main``, then ``MDK_CATALOG`` when it names another catalog, then ``system`` (the
    endpoint writes ``system.serving.served_entities`` there, as Databricks does)."""
    extra = os.environ.get(CATALOG_VAR, "").strip().lower()
    return list(dict.fromkeys([DEFAULT_CATALOG, *([extra] if extra else []), SYSTEM_CATALOG]))


def spark_conf(warehouse: Path, names: Sequence[str] | None = None) -> dict[str, str]:
    """A local Spark JVM's Delta settings: the class path, Delta's extension and catalog, and
    one ``mdk.PathCatalog`` per name over ``<warehouse>/<name>``, the first the default.

    Raises:
        MissingDependency: the jars are not fetched (see :func:`jars`).
        KitError: ``warehouse`` holds tables in the kit's old layout.
    """
    names = list(dict.fromkeys(names or catalogs()))
    check_warehouse(Path(warehouse))
    conf = {
        "spark.driver.extraClassPath": class_path(),
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.defaultCatalog": names[0],
        # as on Databricks: saveAsTable and CREATE TABLE without a format make Delta tables
        "spark.sql.sources.default": "delta",
        # Delta reads its log with this many tasks (50 by default): small tables, 2 cores
        "spark.databricks.delta.snapshotPartitions": "2",
        # commits are put-if-absent by link(2), as delta-rs commits: Delta's default for local
        # files checks, then renames over, so a delta-rs append in between would be lost
        "spark.delta.logStore.file.impl": LOG_STORE_CLASS,
    }
    for name in names:
        conf[f"spark.sql.catalog.{name}"] = CATALOG_CLASS
        conf[f"spark.sql.catalog.{name}.root"] = str(Path(warehouse) / name)
    return conf


def check_warehouse(warehouse: Path) -> None:
    """Refuse a warehouse written by a kit from before Delta Lake, in one line.

    The old layout kept each table as a symlink to ``.<table>.versions/<v>/``, which Delta
    cannot read.

    Raises:
        KitError: naming the folder to delete.
    """
    try:
        old = next(warehouse.glob("*/*/.*.versions"), None)
    except OSError:
        old = None
    if old is not None:
        raise KitError(
            f"{warehouse} holds tables in the kit's old parquet layout (before Delta Lake), "
            f"which Delta cannot read, e.g. {old.parent.name}.{old.name[1:-9]}: delete that "
            f"folder (rm -rf {warehouse}) and run the notebooks again; MLflow's runs and "
            "models are kept elsewhere and stay."
        )


def main() -> int:
    """``python -m recipes.delta_lake``: fetch the jars and compile the catalog, or say why not."""
    if delta_version() is None:  # databricks-connect's venv: no local Spark JVM
        print("Delta Lake jars: not needed here (no delta-spark: no local Spark JVM)")
        return 0
    try:
        found = fetch()
        jar = catalog_jar()
    except KitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    mb = sum(p.stat().st_size for p in found) / 1e6
    print(
        f"Delta Lake: {maven_coordinate()}, {len(found)} jars ({mb:.0f} MB) and {jar.name} in {home()}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
