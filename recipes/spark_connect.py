"""What a local Spark Connect server runs: its command line and its environment.

The server is Spark Connect's server class run by the pip package's own ``bin/spark-submit``
(what Spark's ``start-connect-server.sh``, which pyspark 4.2's wheel lacks, runs; the
``spark-connect`` jar ships in ``pyspark/jars``), with Delta Lake and the kit's catalog
(:func:`recipes.delta_lake.spark_conf`: ``main.<schema>.<table>`` over its warehouse), its
scratch and Derby folders under ``<home>/spark-connect/``, and its Python workers running
this interpreter (Connect UDFs need the same Python minor version on client and server).

Starting, finding and stopping it is :mod:`recipes.stack`'s, as for every background
service (``stack.start("spark", home=...)``, ``stack.spark_spec(...)`` for another warehouse):
``mdk run`` starts one that its notebooks share, ``mdk workspace up`` one for the workspace
double, and the tests their own. Nothing here imports pyspark or starts anything.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Mapping
from pathlib import Path

from recipes import delta_lake, jvm_archive
from recipes.errors import MissingDependency

CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
FORBIDDEN_PORT = 15002  # Spark Connect's default: another server may hold it
HOST = "127.0.0.1"
SCRATCH = "spark-connect"  # under the service's home: local (shuffle), derby, spark-warehouse
DEFAULT_MASTER = "local[2]"


def spark_home() -> Path:
    """The pip package's folder (``SPARK_HOME``): its ``bin`` scripts and ``jars``."""
    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependency('pyspark is not installed: run pip install -e ".[local]".')
    home = Path(next(iter(spec.submodule_search_locations))).resolve()
    if not (home / "bin" / "spark-submit").is_file():
        raise MissingDependency(
            f"{home} has no bin/spark-submit (a Connect-only pyspark, such as "
            'databricks-connect\'s): start the server from the local venv (pip install -e ".[local]").'
        )
    return home


def server_command(
    port: int,
    home: Path,
    *,
    master: str = DEFAULT_MASTER,
    warehouse: Path | None = None,
    catalogs: list[str] | None = None,
    extra_conf: Mapping[str, str] | None = None,
) -> list[str]:
    """The argv of a Spark Connect server on loopback ``port``; makes its folders.

    Args:
        port: the gRPC port (never 15002, Spark Connect's default).
        home: the service's home; scratch, Derby and Spark's own warehouse go under
            ``<home>/spark-connect/``.
        master: Spark's master.
        warehouse: the root of its Delta tables (``<warehouse>/<catalog>/<schema>/<table>``);
            None for ``<home>/warehouse``, as a classic session over the same ``MDK_HOME``.
        catalogs: the catalog names it resolves, the first the default; None for ``main``
            (and ``MDK_CATALOG`` when set).
        extra_conf: further ``--conf`` settings.
    """
    if port == FORBIDDEN_PORT:
        raise ValueError("Port 15002 is Spark Connect's default: pick another.")
    home = Path(home)
    scratch = home / SCRATCH
    for name in ("local", "derby"):
        (scratch / name).mkdir(parents=True, exist_ok=True)
    warehouse = Path(warehouse) if warehouse else home / "warehouse"
    warehouse.mkdir(parents=True, exist_ok=True)
    conf = {
        "spark.connect.grpc.binding.port": str(port),
        "spark.connect.grpc.binding.address": HOST,
        "spark.driver.host": HOST,
        "spark.driver.bindAddress": HOST,
        "spark.ui.enabled": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": "4",
        "spark.sql.warehouse.dir": str(scratch / "spark-warehouse"),
        "spark.driver.extraJavaOptions": jvm_archive.spark_java_options(scratch / "derby"),
        "spark.log.level": "WARN",
        **delta_lake.spark_conf(warehouse, catalogs),
        **(extra_conf or {}),
    }
    cmd = [str(spark_home() / "bin" / "spark-submit"), "--class", CLASS]
    cmd += ["--name", "Spark Connect server", "--master", master]
    for key, value in conf.items():
        cmd += ["--conf", f"{key}={value}"]
    return cmd


def server_environment(
    home: Path, extra_env: Mapping[str, str | None] | None = None
) -> dict[str, str | None]:
    """The server's environment on top of the caller's (None removes a variable).

    Its Python workers run this interpreter; a Connect client's variables are removed, so
    the server never mistakes itself for a client.
    """
    return {
        "SPARK_HOME": str(spark_home()),
        "SPARK_LOCAL_DIRS": str(Path(home) / SCRATCH / "local"),
        "SPARK_LOCAL_IP": HOST,
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
        "SPARK_REMOTE": None,
        "MDK_SPARK_REMOTE": None,
        "MASTER": None,
        "SPARK_CONNECT_MODE_ENABLED": None,
        **(extra_env or {}),
    }
