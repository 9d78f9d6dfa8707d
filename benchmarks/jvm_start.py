"""JVM start-up benchmark: local Spark with the kit's class archive against without it, and
what Delta Lake's jars and catalog add to a start without it.

Run from the repo root (after ``make setup``, which makes the archive)::

    .venv/bin/python benchmarks/jvm_start.py [--repeats 3]

Each run is a FRESH subprocess with its own temporary ``MDK_HOME``, alternating the two
ways, and times, from the launch of the JVM to the answer:

* ``classic``: ``get_spark("local")``, then ``spark.range(10).count()`` and a pandas
  round trip (the first things a notebook's Spark cell does);
* ``connect``: ``stack.start("spark")`` until it listens, then a client's first
  ``count()``.

Three ways to start, alternated:

* ``archive``: as the kit starts, with Delta and the archive
  (:func:`recipes.jvm_archive.java_options`), which covers Delta's classes;
* ``baseline``: with Delta, without the archive (the baseline);
* ``no_delta``: without the archive and without Delta's jars, extension and catalog (Spark
  as it starts bare), to show Delta's own start-up cost.

It prints the medians, the ratios archive / baseline and baseline / no_delta per way, and
one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

_CHILD = r"""
import json, os, sys, time
from recipes import delta_lake, jvm_archive
if sys.argv[1] in ("baseline", "no_delta"):
    jvm_archive.java_options = lambda: ""
if sys.argv[1] == "no_delta":
    delta_lake.spark_conf = lambda *args, **kwargs: {}
t0 = time.perf_counter()
if sys.argv[2] == "classic":
    import pandas as pd
    from recipes.spark import get_spark
    spark = get_spark("local")
    spark.range(10).count()
    spark.createDataFrame(pd.DataFrame({"a": [1, 2]})).toPandas()
else:
    from pyspark.sql import SparkSession
    from recipes import stack
    home = os.path.join(os.environ["MDK_HOME"], "connect")
    server = stack.start("spark", home=home, timeout=120)
    try:
        spark = SparkSession.builder.remote(server.url).getOrCreate()
        spark.range(10).count()
    finally:
        seconds = time.perf_counter() - t0
        stack.stop("spark", home)
print(json.dumps({"seconds": time.perf_counter() - t0 if sys.argv[2] == "classic" else seconds}))
"""


def _run(how: str, way: str) -> float:
    with tempfile.TemporaryDirectory(prefix="mdk-bench-jvm-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MDK_", "SPARK_"))}
        env["MDK_HOME"] = str(Path(tmp) / "mdk")
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, how, way],
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=300,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from recipes import jvm_archive

    if not jvm_archive.java_options():
        sys.exit("no JVM archive for this venv: make setup (python -m recipes.jvm_archive)")
    seconds: dict[str, dict[str, list[float]]] = {}
    for way in ("classic", "connect"):
        for _ in range(args.repeats):
            for how in ("archive", "baseline", "no_delta"):
                seconds.setdefault(way, {}).setdefault(how, []).append(_run(how, way))
    print(
        f"{'way':8s} {'archive s':>10s} {'baseline s':>11s} {'no_delta s':>11s} "
        f"{'archive/baseline':>17s} {'baseline/no_delta':>18s}"
    )
    result = {}
    for way, runs in seconds.items():
        a, b, n = (statistics.median(runs[h]) for h in ("archive", "baseline", "no_delta"))
        result[way] = {
            "archive_s": round(a, 2),
            "baseline_s": round(b, 2),
            "no_delta_s": round(n, 2),
            "ratio": round(a / b, 2),
            "delta_cost": round(b / n, 2),
        }
        print(f"{way:8s} {a:10.2f} {b:11.2f} {n:11.2f} {a / b:17.2f} {b / n:18.2f}")
    print(
        f"medians of {args.repeats}; archive/baseline: the archive's gain (lower is better); "
        "baseline/no_delta: what Delta's jars and catalog add without the archive"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
