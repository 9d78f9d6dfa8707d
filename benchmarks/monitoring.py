"""Monitoring benchmark: unpack, profile and drift over a large inference table.

Run from the repo root::

    .venv/bin/python benchmarks/monitoring.py [--rows 1000000 10000000] [--baseline-rows 1000000]
                                              [--repeats 1] [--keep]

It writes, per size, a payload table shaped exactly as the serving endpoint writes it
(an AI Gateway inference table: ``request``/``response`` JSON text, ``request_time``, the
served entity by ``served_entity_id``, named in ``system.serving.served_entities``), one request
per row, spread over 24 hours, 90/10 between two versions, the last 6 hours drifted: a Delta
table, appended with delta-rs as the endpoint appends (one commit per 500k rows).
Each approach then runs in a FRESH subprocess:

* ``kit`` (before): ``get_spark()`` (local[2]) → ``unpack_inference_table`` → ``profile_metrics``
  and ``drift_metrics`` (BASELINE and CONSECUTIVE, hourly, four columns) → ``stop_spark()``;
  each pass parses the payload's JSON again;
* ``processed`` (after): the same, but ``process_inference_table`` first writes the
  processed Delta table through Spark (the JSON parsed once) and profile and drift read that;
* ``pandas`` (the named baseline, the approach the kit avoids): read the whole table into
  pandas (delta-rs), ``json.loads`` every request and response, then the same per-hour, per-version
  profile with pandas and KS/Wasserstein with scipy on the raw values. It runs only up to
  ``--baseline-rows`` (its memory grows with the log).

It prints the seconds and peak tree RSS per run, the ratios (kit time 10M/1M against the
rows ratio: linear means equal; kit peak RSS 10M/1M: flat means about 1; kit vs pandas
time and memory at the common size) and, last, one JSON object.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import child_env, fixed_and_rate, median, run_child

CHUNK = 500_000
FEATURES = ("total_purchases", "avg_session_duration", "days_since_last_visit")
GB = 1024**3
ENDPOINT_ID = "b" * 32  # the fake endpoint whose two served entities the payload names


def _entities():
    from recipes.endpoint.config import EntitySpec

    return {
        v: EntitySpec(name, "churn-predictor", v)
        for v, name in (("1", "champion"), ("2", "challenger"))
    }


def _payload_chunk(start: int, n: int, hours: int = 24, seed: int = 0):
    """``n`` payload rows as a pyarrow Table (vectorized JSON text, no per-row Python)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from recipes.endpoint.capture import PAYLOAD_SCHEMA, served_entity_id

    rng = np.random.default_rng(seed + start)
    idx = np.arange(start, start + n)
    t0 = 1_795_000_000_000
    ts = t0 + (idx * (hours * 3_600_000 // max(idx[-1] + 1, 1)))  # spread over the hours
    hour = (ts - t0) // 3_600_000
    shift = np.where(hour >= hours - 6, 12.0, 0.0)  # days_since_last_visit +1 sd at the end
    purchases = np.clip(np.rint(rng.normal(12, 6, n)), 0, None).astype("int64")
    duration = np.clip(np.rint(rng.normal(300, 90, n)), 5, None).astype("int64")  # whole s
    days = np.clip(np.rint(rng.normal(20 + shift, 12, n)), 0, None).astype("int64")
    pred = (rng.random(n) < 0.45).astype("int64")
    version = np.where(idx % 10 == 0, "2", "1")

    def s(a):
        return pc.cast(pa.array(a), pa.string())

    request = pc.binary_join_element_wise(
        '{"dataframe_records": [{"customer_id": ',
        s(idx),
        ', "total_purchases": ',
        s(purchases),
        ', "avg_session_duration": ',
        s(duration),
        ', "days_since_last_visit": ',
        s(days),
        '}], "client_request_id": "b-',
        s(idx),
        '"}',
        "",
    )
    response = pc.binary_join_element_wise('{"predictions": [', s(pred), "]}", "")
    ids = {v: served_entity_id(ENDPOINT_ID, spec) for v, spec in _entities().items()}
    days_col = (ts // 86_400_000).astype("int32")
    cols = {
        "request_date": pa.array(days_col, pa.int32()).cast(pa.date32()),
        "databricks_request_id": s(idx),
        "client_request_id": pc.binary_join_element_wise("b-", s(idx), ""),
        "request_time": pa.array(ts * 1000, pa.int64()).cast(pa.timestamp("us", tz="UTC")),
        "status_code": pa.array(np.full(n, 200), pa.int32()),
        "sampling_fraction": pa.array(np.ones(n)),
        "execution_duration_ms": pa.array(np.full(n, 3), pa.int64()),
        "request": request,
        "response": response,
        "served_entity_id": pa.array(np.where(version == "1", ids["1"], ids["2"])),
        "logging_error_codes": pa.array([[]] * n, pa.list_(pa.string())),
        "requester": pa.array(["mdk"] * n, pa.string()),
    }
    return pa.table([cols[f.name] for f in PAYLOAD_SCHEMA], schema=PAYLOAD_SCHEMA)


def make_tables(sizes: list[int], home: Path) -> dict[int, str]:
    from recipes import tables
    from recipes.endpoint.capture import CaptureWriter, served_entity_row

    with CaptureWriter(home=home) as writer:  # system.serving.served_entities names them
        for spec in _entities().values():
            writer.add_served_entity(
                served_entity_row(
                    endpoint_name="bench", endpoint_id=ENDPOINT_ID, spec=spec, config_version=1
                )
            )

    made = {}
    for n in sizes:
        name = f"main.bench.payload_{n}"
        t = time.perf_counter()
        for start in range(0, n, CHUNK):
            tables.append(name, _payload_chunk(start, min(CHUNK, n - start)), home=home)
        print(f"  wrote {name} ({n:,} rows) in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        made[n] = name
    import pyarrow as pa

    from recipes import data

    baseline = pa.Table.from_pandas(data.make_churn(5000, 0)[list(FEATURES)], preserve_index=False)
    tables.append("main.bench.baseline", baseline, home=home)
    return made


# --------------------------------------------------------------------------- children


def _child_kit(args, processed: bool = False) -> dict[str, Any]:
    t0 = time.perf_counter()
    from recipes import monitoring, tables
    from recipes.spark import get_spark, stop_spark

    spark = get_spark("local", app_name="mdk-bench")
    t_spark = time.perf_counter()
    if processed:  # parse once into the processed table, then read it
        target = f"{args.table}_processed"
        tables.drop_table(target, spark=spark)
        monitoring.process_inference_table(args.table, target, spark=spark)
        df = tables.read_table(target, spark=spark)
    else:  # every pass parses the payload's JSON again
        df = monitoring.unpack_inference_table(args.table, spark=spark)
    baseline = tables.read_table(args.baseline, spark=spark)
    t_unpack = time.perf_counter()
    cols = list(FEATURES)
    profile = monitoring.profile_metrics(df, "1 hour", columns=[*cols, "prediction"])
    t_profile = time.perf_counter()
    drift = monitoring.drift_metrics(df, baseline, "1 hour", columns=cols)
    t_drift = time.perf_counter()
    stop_spark()
    flagged = monitoring.flag_drift(drift[drift["model_version"] == monitoring.ALL])
    hit = flagged[flagged["drifted"] & (flagged["drift_type"] == "BASELINE")]
    return {
        "rows": int(
            profile[
                (profile["model_version"] == monitoring.ALL)
                & (profile["column_name"] == "prediction")
            ]["count"].sum()
        ),
        "profile_rows": len(profile),
        "drift_rows": len(drift),
        "drifted_windows": int(hit["window_start"].nunique()),
        "drifted_columns": sorted(set(hit["column_name"])),
        "phases": {
            "start": t_spark - t0,
            "unpack": t_unpack - t_spark,
            "profile": t_profile - t_unpack,
            "drift": t_drift - t_profile,
        },
    }


def _child_pandas(args) -> dict[str, Any]:
    t0 = time.perf_counter()
    import pandas as pd
    from scipy import stats

    from recipes import tables

    raw = tables.read_table(args.table)
    t_read = time.perf_counter()
    records = [json.loads(r)["dataframe_records"][0] for r in raw["request"]]
    preds = [json.loads(r)["predictions"][0] for r in raw["response"]]
    df = pd.DataFrame.from_records(records)
    df["prediction"] = preds
    names = tables.read_table("system.serving.served_entities")
    versions = dict(zip(names["served_entity_id"], names["entity_version"], strict=True))
    df["model_version"] = raw["served_entity_id"].map(versions).to_numpy()
    df["window"] = raw["request_time"].dt.floor("h").to_numpy()
    t_unpack = time.perf_counter()
    cols = [*FEATURES, "prediction"]
    groups = [df.groupby("window"), df.groupby(["window", "model_version"])]
    profile = [g[cols].agg(["count", "mean", "std", "min", "max", "nunique"]) for g in groups]
    quant = [g[cols].quantile([0.05, 0.25, 0.5, 0.75, 0.95]) for g in groups]
    t_profile = time.perf_counter()
    base = tables.read_table(args.baseline)
    drift = 0
    for _, part in df.groupby("window"):
        for c in FEATURES:
            stats.ks_2samp(part[c], base[c])
            stats.wasserstein_distance(part[c], base[c])
            drift += 1
    t_drift = time.perf_counter()
    return {
        "rows": len(df),
        "profile_rows": sum(len(p) for p in profile) + sum(len(q) for q in quant),
        "drift_rows": drift,
        "phases": {
            "read": t_read - t0,
            "unpack": t_unpack - t_read,
            "profile": t_profile - t_unpack,
            "drift": t_drift - t_profile,
        },
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    p.add_argument(
        "--baseline-rows",
        type=int,
        default=1_000_000,
        help="largest size the pandas baseline runs at",
    )
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--keep", action="store_true", help="keep the temporary MDK_HOME")
    p.add_argument("--child", choices=["kit", "processed", "pandas"], help=argparse.SUPPRESS)
    p.add_argument("--table", help=argparse.SUPPRESS)
    p.add_argument("--baseline", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        if args.child == "pandas":
            print(json.dumps(_child_pandas(args)))
        else:
            print(json.dumps(_child_kit(args, processed=args.child == "processed")))
        return 0
    sizes = sorted(set(args.rows))
    if min(sizes) < 10_000 or max(sizes) > 50_000_000 or not 1 <= args.repeats <= 5:
        p.error("--rows must be 10,000..50,000,000 and --repeats 1..5")
    home = Path(tempfile.mkdtemp(prefix="mdk-bench-monitoring-"))
    try:
        env = child_env(home)
        import os

        os.environ["MDK_HOME"] = str(home)
        print(f"writing payload tables under {home}", file=sys.stderr)
        made = make_tables(sizes, home)
        runs: dict[tuple[int, str], list[dict]] = {}
        for n in sizes:
            kinds = ["kit", "processed"] + (["pandas"] if n <= args.baseline_rows else [])
            for kind in kinds:
                for _ in range(args.repeats):
                    res = run_child(
                        __file__,
                        kind,
                        ["--table", made[n], "--baseline", "main.bench.baseline"],
                        env,
                    )
                    print(
                        f"  {kind:6s} {n:>11,} rows: {res['wall']:7.1f} s, peak "
                        f"{res['peak_rss'] / GB:5.2f} GiB  {res['phases']}",
                        file=sys.stderr,
                    )
                    runs.setdefault((n, kind), []).append(res)
        return report(sizes, runs)
    finally:
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)


def report(sizes: list[int], runs: dict[tuple[int, str], list[dict]]) -> int:
    res: dict[str, Any] = {}
    print(f"\n{'approach':8s} {'rows':>11s} {'seconds':>8s} {'peak GiB':>9s} {'rows/s':>10s}")
    for (n, kind), rs in sorted(runs.items()):
        wall, peak = median(rs, "wall"), median(rs, "peak_rss")
        res[f"{kind}_{n}"] = {
            "wall_s": round(wall, 1),
            "peak_gib": round(peak / GB, 2),
            "rows_per_s": round(n / wall),
            "runs": len(rs),
            "phases": {k: round(v, 1) for k, v in rs[-1]["phases"].items()},
        }
        if kind in ("kit", "processed"):  # what the drift table flags (BASELINE, all versions)
            res[f"{kind}_{n}"] |= {
                "drifted_windows": rs[-1]["drifted_windows"],
                "drifted_columns": rs[-1]["drifted_columns"],
            }
        print(f"{kind:8s} {n:>11,} {wall:8.1f} {peak / GB:9.2f} {n / wall:10,.0f}")
    lo, hi = sizes[0], sizes[-1]
    kit_lo, kit_hi = res[f"kit_{lo}"], res[f"kit_{hi}"]
    out: dict[str, Any] = {"sizes": sizes, **res}
    if hi > lo:
        out["kit_time_ratio"] = round(kit_hi["wall_s"] / kit_lo["wall_s"], 2)
        out["rows_ratio"] = hi / lo
        out["kit_peak_rss_ratio"] = round(kit_hi["peak_gib"] / kit_lo["peak_gib"], 2)
        fit = fixed_and_rate({n: res[f"kit_{n}"]["wall_s"] for n in sizes})
        if fit:
            out["kit_fixed_s"], out["kit_rows_per_s_marginal"] = round(fit[0], 1), round(fit[1])
        print(
            f"\nkit {hi:,} vs {lo:,} rows: time x{out['kit_time_ratio']} for x{hi / lo:g} rows "
            f"(linear: equal or less); peak RSS x{out['kit_peak_rss_ratio']} (flat: about 1)"
        )
        if fit:
            print(f"kit fit: {fit[0]:.1f} s fixed + {fit[1]:,.0f} rows/s")
    for n in sizes:  # before (every pass parses the JSON) and after (the processed table)
        before, after = res[f"kit_{n}"], res[f"processed_{n}"]
        out[f"processed_vs_kit_time_{n}"] = round(after["wall_s"] / before["wall_s"], 2)
        assert after["drifted_columns"] == before["drifted_columns"], "the two paths disagree"
        print(
            f"{n:,} rows, payload to drift: before {before['wall_s']:.1f} s "
            f"({before['peak_gib']:.2f} GiB), with the processed table {after['wall_s']:.1f} s "
            f"({after['peak_gib']:.2f} GiB): x{out[f'processed_vs_kit_time_{n}']}"
        )
    if hi > lo:
        out["processed_peak_rss_ratio"] = round(
            res[f"processed_{hi}"]["peak_gib"] / res[f"processed_{lo}"]["peak_gib"], 2
        )
    common = [n for n in sizes if f"pandas_{n}" in res]
    if common:
        n = common[-1]
        p, k = res[f"pandas_{n}"], res[f"kit_{n}"]
        out["kit_vs_pandas_time"] = round(k["wall_s"] / p["wall_s"], 2)
        out["kit_vs_pandas_peak_rss"] = round(k["peak_gib"] / p["peak_gib"], 2)
        print(
            f"at {n:,} rows, kit/pandas: time x{out['kit_vs_pandas_time']}, "
            f"peak RSS x{out['kit_vs_pandas_peak_rss']}"
        )
        if len(common) > 1:
            out["pandas_peak_rss_ratio"] = round(
                res[f"pandas_{common[-1]}"]["peak_gib"] / res[f"pandas_{common[0]}"]["peak_gib"], 2
            )
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
