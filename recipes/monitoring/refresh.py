"""A monitor refresh: the job the local endpoint runs, and a wait helper for notebooks.

The serving endpoint's quality-monitors API (:mod:`recipes.endpoint.monitors`) starts
:func:`main` in its own process for each refresh. The job reads the monitor's JSON, marks
the refresh RUNNING, checks the tables and columns with delta-rs (no JVM yet), computes the
metric tables of the monitored table in a local Spark session whose catalog is the
endpoint's warehouse (:func:`compute`: :func:`~recipes.monitoring.compute.compute_metrics`
for the monitor's :class:`~recipes.monitoring.spec.Spec`), writes the Delta tables
``<output_schema>.<table>_profile_metrics`` and ``..._drift_metrics`` through it
(:func:`~recipes.monitoring.output.write_metrics`) and marks the refresh SUCCESS, or
FAILED with a one-line message (a custom metric that does not compile: Spark's).

:func:`wait_for_refresh` polls ``w.quality_monitors.get_refresh`` until the refresh ends,
on a Databricks workspace and on the local endpoint alike.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from recipes.errors import KitError
from recipes.jsonfile import write_json
from recipes.locks import locked

TERMINAL = ("SUCCESS", "FAILED", "CANCELED")


def wait_for_refresh(
    w: Any, table_name: str, refresh_id: int, *, timeout: float = 900.0, poll: float = 1.0
) -> Any:
    """Poll ``w.quality_monitors.get_refresh`` until the refresh is no longer PENDING or
    RUNNING; returns its ``MonitorRefreshInfo``.

    Raises:
        KitError: the refresh FAILED or was CANCELED (with its message), or ``timeout``
            seconds passed.
    """
    deadline = time.monotonic() + timeout
    while True:
        info = w.quality_monitors.get_refresh(table_name=table_name, refresh_id=refresh_id)
        state = getattr(info.state, "value", info.state)
        if state == "SUCCESS":
            return info
        if state in TERMINAL or state not in ("PENDING", "RUNNING"):
            raise KitError(
                f"Monitor refresh {refresh_id} of {table_name} ended {state}: "
                f"{info.message or 'no message'}"
            )
        if time.monotonic() >= deadline:
            raise KitError(
                f"Monitor refresh {refresh_id} of {table_name} is still {state} after "
                f"{timeout:.0f} s: wait longer (timeout=) or see the endpoint's logs."
            )
        time.sleep(poll)


def drop_monitor(w: Any, table_name: str) -> bool:
    """Delete the monitor on ``table_name`` if there is one (its metric tables stay), so a
    rerun creates it afresh. Returns True when one was deleted."""
    from databricks.sdk.errors import NotFound

    try:
        w.quality_monitors.delete(table_name=table_name)
    except NotFound:
        return False
    return True


def _catalog_root(spark, table: str, home: Path) -> tuple[str | None, Path]:
    """Where ``spark`` resolves ``table``'s catalog (None: not the kit's catalog), and where
    ``home``'s warehouse keeps it."""
    from recipes import tables
    from recipes.delta_lake import CATALOG_CLASS

    catalog = tables.check_table_name(table)[0]
    want = tables.table_path(table, home).parents[1]  # <home>/warehouse/<catalog>
    if spark.conf.get(f"spark.sql.catalog.{catalog}", None) != CATALOG_CLASS:
        return None, want
    return spark.conf.get(f"spark.sql.catalog.{catalog}.root", None) or "", want


def _serves(spark, table: str, home: Path) -> bool:
    root, want = _catalog_root(spark, table, home)
    return root is None or (bool(root) and Path(root).resolve() == want.resolve())


def refresh_session(table: str, home: Path):
    """The job's Spark session: ``get_spark("local")`` (the loopback Spark Connect server the
    endpoint names, if any), unless that server's catalog is over another warehouse than
    ``home``'s; then local Spark of this job's own, over ``home``'s warehouse."""
    from recipes.spark import get_spark, stop_spark

    spark = get_spark("local", app_name="mdk-monitor-refresh")
    if _serves(spark, table, home):
        return spark
    stop_spark()
    for name in ("MDK_SPARK_REMOTE", "SPARK_REMOTE"):  # this job's process only
        os.environ.pop(name, None)
    return get_spark("local", app_name="mdk-monitor-refresh")


def check_catalog(spark, table: str, home: Path) -> None:
    """Refuse a session whose catalog does not name ``home``'s tables (a Spark Connect
    server started over another warehouse), in one line, before it reads a table of the same
    name elsewhere.

    Raises:
        KitError: the session resolves ``table``'s catalog to another folder.
    """
    if not _serves(spark, table, home):
        root, want = _catalog_root(spark, table, home)
        catalog = want.name
        raise KitError(
            f"The refresh's Spark session reads {catalog}.* tables from {root}, not from this "
            f"endpoint's {want}: run the Spark Connect server over {want.parent} "
            '(stack.start("spark", home=...)) or unset MDK_SPARK_REMOTE for the '
            "endpoint, so refreshes start local Spark over its warehouse."
        )


def compute(monitor: dict, home: Path, spark) -> dict[str, Any]:
    """The metric tables of ``monitor``'s table, read by name in ``spark`` (whose catalog must
    be ``home``'s warehouse), computed as its profile type says (inference log, time series or
    snapshot; slices, quality from ``label_col``, custom metrics) and written through it."""
    from recipes import tables
    from recipes.monitoring.compute import compute_metrics
    from recipes.monitoring.output import write_metrics
    from recipes.monitoring.spec import Spec

    check_catalog(spark, monitor["table_name"], home)
    spec = Spec.from_monitor(monitor)
    df = tables.read_table(monitor["table_name"], spark=spark)
    baseline = None
    if monitor.get("baseline_table_name"):
        baseline = tables.read_table(monitor["baseline_table_name"], spark=spark)
    try:
        version = tables.files.version(monitor["table_name"], home=home)
    except Exception:  # a table the kit's catalog does not keep as files: no version to give
        version = None
    metrics = compute_metrics(df, baseline, spec, commit_version=version)
    short = monitor["table_name"].split(".")[-1]
    names = write_metrics(
        f"{monitor['output_schema_name']}.{short}",
        metrics.profile,
        metrics.drift,
        spark=spark,
        profile_fields=metrics.profile_fields,
        drift_fields=metrics.drift_fields,
    )
    return {
        "kind": spec.kind,
        "profile_rows": len(metrics.profile),
        "drift_rows": len(metrics.drift),
        "tables": [names.profile, names.drift],
    }


def _write(path: Path, doc: dict) -> None:
    write_json(path, doc)


def claim(folder: Path) -> tuple[Path, dict] | None:
    """The oldest PENDING refresh in ``folder``, marked RUNNING by this process; or None."""
    with locked(folder):
        found = []
        for path in folder.glob("*.json"):
            with contextlib.suppress(OSError, ValueError):
                doc = json.loads(path.read_text())
                if doc.get("state") == "PENDING":
                    found.append((doc["refresh_id"], path, doc))
        if not found:
            return None
        _, path, doc = min(found, key=lambda f: f[0])
        _write(path, {**doc, "state": "RUNNING", "_pid": os.getpid()})
        return path, doc


def _check(monitor: dict, home: Path) -> None:
    """Fail fast, before Spark starts, when a table or a named column is gone."""
    from recipes import tables

    table = monitor["table_name"]
    for name in (table, monitor.get("baseline_table_name")):
        if name and not tables.exists(name, home=home):
            raise KitError(f"Table '{name}' does not exist: write it, or update the monitor.")
    names = tables.column_names(table, home=home)  # from the Delta log: no JVM yet
    log = monitor.get("inference_log") or monitor.get("time_series") or {}
    for key in ("timestamp_col", "prediction_col", "model_id_col", "label_col"):
        if log.get(key) and log[key] not in names:
            raise KitError(f"Column '{log[key]}' ({key}) is not in {table} any more.")


def refresh_one(monitor_path: Path, path: Path, doc: dict, home: Path) -> dict:
    """Run one claimed refresh; its final document (SUCCESS, or FAILED with a message)."""
    started = time.perf_counter()
    try:
        monitor = json.loads(monitor_path.read_text())  # as of now: update() may change it
        print(
            f"refresh {doc['refresh_id']} of {monitor['table_name']} (pid {os.getpid()})",
            flush=True,
        )
        _check(monitor, home)
        summary = compute(monitor, home, refresh_session(monitor["table_name"], home))
        doc = {**doc, "state": "SUCCESS"}
        print(f"SUCCESS in {time.perf_counter() - started:.1f} s: {summary}", flush=True)
    except Exception as exc:  # the job's one answer: FAILED with a one-line message
        text = " ".join(str(exc).split()) or type(exc).__name__
        text = text if isinstance(exc, KitError) else f"{type(exc).__name__}: {text}"
        doc = {**doc, "state": "FAILED", "message": text[:2000]}
        print(f"FAILED in {time.perf_counter() - started:.1f} s: {text}", flush=True)
        traceback.print_exc(file=sys.stdout)
    doc["end_time_ms"] = int(time.time() * 1000)
    if path.parent.exists():  # gone when the monitor was deleted meanwhile
        _write(path, doc)
    return doc


def main(argv: list[str] | None = None) -> int:
    """``--home H --monitor monitor.json --refreshes DIR``: run the PENDING refreshes in
    ``DIR`` one after the other, oldest first, in one Spark session; 0 if all succeeded."""
    parser = argparse.ArgumentParser(prog="recipes.monitoring.refresh")
    parser.add_argument("--home", required=True, type=Path)
    parser.add_argument("--monitor", required=True, type=Path)
    parser.add_argument("--refreshes", required=True, type=Path)
    args = parser.parse_args(argv)
    failed = 0
    while args.monitor.exists() and (claimed := claim(args.refreshes)) is not None:
        failed += refresh_one(args.monitor, *claimed, args.home)["state"] != "SUCCESS"
    return 1 if failed else 0
