"""Unpack cost per request format: columnar ``inputs`` and ``dataframe_split`` against
``dataframe_records`` (the named baseline), as the records per request grow.

Run from the repo root::

    .venv/bin/python benchmarks/unpack_formats.py [--sizes 100 1000 4000] [--requests 5]
                                                  [--repeats 3]

For each size it writes three payload tables holding the same records (``--requests``
batch requests of ``size`` records, four features), one per format, then times
``unpack_inference_table(...)`` plus a sum over every unpacked row in one local[2] session
(median of ``--repeats``, after a warm-up). A format whose cost grows faster than the rows
shows as a ratio against records that grows with the size; linear formats stay near 1.
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

FEATURES = ("a", "b", "c", "d")
FORMATS = ("dataframe_records", "dataframe_split", "inputs")  # inputs: columnar


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 4000])
    ap.add_argument("--requests", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    os.environ["MDK_HOME"] = tempfile.mkdtemp(prefix="mdk-bench-unpack-")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from recipes.monitoring import unpack_inference_table
    from recipes.spark import get_spark, stop_spark
    from tests.monitoring.payloads import T0, request_row, write

    spark = get_spark("local")
    rng = random.Random(0)
    results = []
    try:
        for size in args.sizes:
            records = [{f: rng.random() for f in FEATURES} for _ in range(size)]
            seconds = {}
            for fmt in FORMATS:
                table = f"main.bench.{fmt}_{size}"
                write(
                    table,
                    [
                        request_row(records, [0] * size, fmt, ts=T0 + k)
                        for k in range(args.requests)
                    ],
                )
                runs = []
                for _ in range(args.repeats + 1):  # the first run warms up
                    t = time.perf_counter()
                    got = (
                        unpack_inference_table(table, spark=spark)
                        .selectExpr("count(*)", "sum(a)")
                        .first()
                    )
                    runs.append(time.perf_counter() - t)
                if got[0] != size * args.requests:
                    raise SystemExit(f"{fmt}: {got[0]} rows, expected {size * args.requests}")
                seconds[fmt] = statistics.median(runs[1:])
            base = seconds["dataframe_records"]
            ratios = {f: round(s / base, 2) for f, s in seconds.items()}
            print(
                f"size {size:>6} × {args.requests} requests: "
                + ", ".join(f"{f} {s:.2f} s (×{ratios[f]})" for f, s in seconds.items())
            )
            results.append(
                {
                    "size": size,
                    "seconds": {f: round(s, 3) for f, s in seconds.items()},
                    "ratio_vs_records": ratios,
                }
            )
    finally:
        stop_spark()
    print(
        json.dumps(
            {
                "benchmark": "unpack_formats",
                "baseline": "dataframe_records",
                "requests": args.requests,
                "repeats": args.repeats,
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
