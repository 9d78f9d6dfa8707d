"""A monitor's metric tables, computed as a Lakehouse Monitoring refresh computes them.

:func:`compute_metrics` takes the monitored table and the baseline (Spark DataFrames) and a
:class:`~recipes.monitoring.spec.Spec`, and returns the profile and drift tables' rows in
Databricks' shape (:mod:`.schema`): per granularity, window, model (``'*'`` = all), slice
(``slice_key``/``slice_value``, NULL for the whole table) and column, with the ``':table'``
rows carrying the table-level metrics, model quality and custom metrics.

Spark does the heavy part in a few aggregations over the rows, each repeated once per
granularity and per slicing expression (``inline``): the statistics of every column, with
``GROUPING SETS`` for the per-model and all-models rows (one job); the histograms for drift
and frequent items (one job); the rows per label and prediction for classification quality
(one job); the same for the baseline, without windows. Only those aggregates reach the
driver, where the rows are assembled; DERIVED and DRIFT custom metrics then run in Spark on
the metric rows themselves.

:func:`profile_metrics` and :func:`drift_metrics` are the same computation for a DataFrame
at hand, one table each.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from recipes.errors import ParameterError
from recipes.monitoring import custom
from recipes.monitoring.drift import DRIFT_TYPES, Side, as_hist, drift_rows, histograms
from recipes.monitoring.profile import (
    column_aggregates,
    column_row,
    distinct_value,
    frequent_items,
    is_categorical,
    is_numeric,
    sort_metrics,
    table_row,
)
from recipes.monitoring.quality import classification_scores, regression_scores, regression_sums
from recipes.monitoring.schema import ALL, TABLE, drift_fields, profile_fields
from recipes.monitoring.slices import SLICE_KEY, SLICE_VALUE, slice_entries, usable, uses_only
from recipes.monitoring.spec import Spec, profiled_columns
from recipes.monitoring.windows import snapshot_window, window_column

_G, _W, _WS, _WE, _M = "__granularity", "__window", "__window_start", "__window_end", "__model"
_KEYS = (_G, _WS, _WE, SLICE_KEY, SLICE_VALUE)
_ROW_KEYS = (
    "window",
    "log_type",
    "logging_table_commit_version",
    "monitor_version",
    "granularity",
    "slice_key",
    "slice_value",
    "column_name",
)


@contextmanager
def _cached(df):
    """``df`` kept (memory, then disk) while the aggregations that share it run."""
    from pyspark import StorageLevel

    df = df.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        yield df
    finally:
        df.unpersist()


@dataclass(frozen=True)
class Metrics:
    """The two tables' rows, and their columns as ``(name, Spark DDL type)``."""

    profile: pd.DataFrame
    drift: pd.DataFrame
    profile_fields: list[tuple[str, str]]
    drift_fields: list[tuple[str, str]]


def _micros_to_time(us) -> pd.Timestamp | None:
    return None if us is None else pd.Timestamp(int(us), unit="us")


def _prepare(df, spec: Spec, exprs: Sequence[str], *, at: datetime | None, by_model: bool):
    """``df`` with the keys: granularity and window (one copy of each row per granularity;
    none for a baseline, ``at`` for a snapshot), slice (one copy per expression, plus the
    whole table) and model."""
    from pyspark.sql import functions as F

    if at is None:  # a baseline: no window of its own
        df = df.withColumn(_G, F.lit(None).cast("string"))
        df = df.withColumn(_W, F.lit(None).cast("struct<start:timestamp,end:timestamp>"))
    elif spec.timestamp_col is None:  # a snapshot: the table as one window, the refresh's
        df = df.withColumn(_G, F.lit(None).cast("string")).withColumn(_W, snapshot_window(at))
    else:
        ts = "__timestamp"
        df = df.withColumn(ts, F.col(f"`{spec.timestamp_col}`").cast("timestamp"))
        windows = [
            F.struct(F.lit(g).alias(_G), window_column(g, ts).alias(_W)) for g in spec.granularities
        ]
        df = df.select("*", F.inline(F.array(*windows))).filter(F.col(_W).isNotNull())
    df = df.withColumn(_WS, F.unix_micros(F.col(f"{_W}.start")))
    df = df.withColumn(_WE, F.unix_micros(F.col(f"{_W}.end")))
    df = df.select("*", F.inline(slice_entries(df, exprs)))
    if by_model:
        df = df.withColumn(_M, F.col(f"`{spec.model_id_col}`").cast("string"))
    return df


def _class_values(types: Mapping[str, str], *names: str) -> list:
    """Label and prediction as comparable strings: whole numbers as such (``1``), other
    numbers as doubles (``1.0``), anything else as a string."""
    from pyspark.sql import functions as F

    kinds = [types[n].split("(")[0] for n in names]
    whole = all(k in ("int", "bigint", "smallint", "tinyint") for k in kinds)
    number = all(is_numeric(k) for k in kinds)
    cast = "bigint" if whole else "double" if number else "string"
    return [F.col(f"`{n}`").cast(cast).cast("string") for n in names]


def _aggregate(
    prep,
    cols: Mapping[str, str],
    spec: Spec,
    aggregates: Mapping[tuple, Any],
    *,
    by_model: bool,
    timestamps: bool = False,
    score: bool = True,
) -> list[dict]:
    """One aggregation: the rows of every (granularity, window, slice[, model]) and of every
    (granularity, window, slice) for all models, with every column's statistics."""
    from pyspark.sql import functions as F

    aggs = [F.count(F.lit(1)).alias("rows")]
    for i, (name, data_type) in enumerate(cols.items()):
        aggs += column_aggregates(name, data_type, i)
    if score and spec.problem_type == "regression" and spec.label_col:
        aggs += regression_sums(F.col(f"`{spec.label_col}`"), F.col(f"`{spec.prediction_col}`"))
    aggs += [expr.alias(f"x{k}") for k, expr in enumerate(aggregates.values())]
    if timestamps:
        ts = F.col(f"`{spec.timestamp_col}`").cast("timestamp")
        aggs += [F.unix_micros(F.min(ts)).alias("ts_min"), F.unix_micros(F.max(ts)).alias("ts_max")]
    records = [r.asDict(recursive=True) for r in _agg(prep, aggs, by_model=by_model).collect()]
    distinct = _distinct_counts(prep, cols, by_model=by_model)
    for rec in records:
        key = _group(rec, by_model)
        for i in range(len(cols)):
            rec[f"c{i}_distinct"] = distinct.get((*key, i), 0)
    return records


def _group(row, by_model: bool) -> tuple:
    """An aggregated row's keys and model (None on the all-models rows of :func:`_agg`)."""
    model = None if not by_model or row["_gm"] else row[_M]
    return (*(row[k] for k in _KEYS), model)


def _agg(df, aggs: Sequence, *, by_model: bool, more: Sequence[str] = ()):
    """``aggs`` of ``df`` per keys (and ``more``): with ``by_model``, GROUPING SETS of each
    model's rows and of all models' (``_gm`` = 1 on the latter)."""
    from pyspark.sql import functions as F

    if not by_model:
        return df.groupBy(*_KEYS, *more).agg(*aggs)
    sets = [[*_KEYS, _M, *more], [*_KEYS, *more]]
    return df.groupingSets(sets, *_KEYS, _M, *more).agg(*aggs, F.grouping(_M).alias("_gm"))


def _distinct_counts(prep, cols: Mapping[str, str], *, by_model: bool) -> dict[tuple, int]:
    """``{(*keys, model or None for all models, column index): distinct values}``: every
    column's values stacked (:func:`~recipes.monitoring.profile.distinct_value`) and counted
    in one aggregation."""
    from pyspark.sql import functions as F

    if not cols:
        return {}
    entries = [
        F.struct(F.lit(i).alias("__i"), distinct_value(name, data_type).alias("__v"))
        for i, (name, data_type) in enumerate(cols.items())
    ]
    stacked = prep.select(*_KEYS, *([_M] if by_model else []), F.inline(F.array(*entries)))
    counts = [F.count_distinct("__v").alias("n")]
    rows = _agg(stacked, counts, by_model=by_model, more=["__i"]).collect()
    return {(*_group(r, by_model), r["__i"]): int(r["n"]) for r in rows}


def _confusion(prep, spec: Spec, types: Mapping[str, str], *, by_model: bool) -> dict:
    """``{(granularity, window start, model, slice_key, slice_value): {(label, prediction):
    rows}}`` over the rows with both, the all-models counts summed from the models'."""
    from pyspark.sql import functions as F

    y, p = _class_values(types, spec.label_col, spec.prediction_col)
    keys = [*_KEYS, *([_M] if by_model else [])]
    rows = (
        prep.select(*keys, y.alias("__y"), p.alias("__p"))
        .filter(F.col("__y").isNotNull() & F.col("__p").isNotNull())
        .groupBy(*keys, "__y", "__p")
        .count()
        .collect()
    )
    out: dict[tuple, dict] = {}
    for r in rows:
        models = [ALL, r[_M]] if by_model else [ALL]
        for m in models:
            cell = out.setdefault((r[_G], r[_WS], m, r[SLICE_KEY], r[SLICE_VALUE]), {})
            cell[(r["__y"], r["__p"])] = cell.get((r["__y"], r["__p"]), 0) + int(r["count"])
    return out


def _hists(frame: pd.DataFrame, numeric: Mapping[str, bool], *, by_model: bool) -> dict:
    """``{(granularity, window start, model, slice_key, slice_value, column): histogram}``,
    with the all-models histograms (the models' summed)."""
    out = {}
    if frame.empty:
        return out
    keys = [_G, _WS, SLICE_KEY, SLICE_VALUE, "column_name"]
    frame = frame.astype({"count": "int64"})
    parts = [(frame.assign(**{_M: ALL}), True)]
    if by_model:
        parts.append((frame, False))
    for part, _ in parts:
        for key, g in part.groupby([*keys, _M], dropna=False, sort=False):
            g_, ws, sk, sv, column, m = (
                None if isinstance(v, float) and v != v else v for v in key
            )
            out[(g_, ws, m, sk, sv, column)] = as_hist(g, numeric[column])
    return out


def _custom_values(rec: Mapping, names: Sequence[tuple], column: str) -> dict[str, Any]:
    return {
        name: custom.plain(rec[f"x{k}"]) for k, (name, col) in enumerate(names) if col == column
    }


def _rows(
    records: list[dict],
    cols: Mapping[str, str],
    spec: Spec,
    *,
    log_type: str,
    aggregate_names: Sequence[tuple],
    conf: Mapping,
    hists: Mapping,
    categorical: set[str],
    base: Mapping[str, Any],
    by_model: bool,
    score: bool = True,
) -> list[dict]:
    """The profile rows of aggregated ``records``: one per column and one ``':table'``."""
    model_col = spec.model_id_col
    out = []
    for rec in records:
        model = (ALL if rec.get("_gm") else rec[_M]) if by_model else ALL
        start, end = _micros_to_time(rec[_WS]), _micros_to_time(rec[_WE])
        key = (rec[_G], rec[_WS], model, rec[SLICE_KEY], rec[SLICE_VALUE])
        head = {
            **base,
            "window": None if start is None else {"start": start, "end": end},
            "log_type": log_type,
            "granularity": rec[_G],
            "slice_key": rec[SLICE_KEY],
            "slice_value": rec[SLICE_VALUE],
        }
        if model_col:
            head[model_col] = model
        quality = {}
        if score and spec.problem_type == "classification" and spec.label_col:
            quality = classification_scores(conf.get(key, {}))
        elif score and spec.problem_type == "regression" and spec.label_col:
            quality = regression_scores(rec)
        out.append(
            {
                **head,
                "column_name": TABLE,
                **table_row(rec, list(cols)),
                **quality,
                **_custom_values(rec, aggregate_names, TABLE),
            }
        )
        for i, (name, data_type) in enumerate(cols.items()):
            row = {
                **head,
                "column_name": name,
                **column_row(rec, i, data_type),
                **_custom_values(rec, aggregate_names, name),
            }
            if name in categorical:
                row["frequent_items"] = frequent_items(hists.get((*key, name)))
            out.append(row)
    return out


def _frame(rows: list[dict], fields: Sequence[tuple[str, str]]) -> pd.DataFrame:
    """The rows as a frame of ``fields``' columns, whole numbers as pandas' ``Int64``."""
    names = [n for n, _ in fields]
    frame = pd.DataFrame([{n: r.get(n) for n in names} for r in rows], columns=names)
    whole = {n: "Int64" for n, t in fields if t in ("bigint", "int")}
    return frame.astype(whole)


def _kinds(cols: Mapping[str, str], categorical: set[str]) -> dict[str, str]:
    """Each column's distribution: ``categorical`` (strings, booleans, ``categorical``),
    ``numeric``; dates, timestamps and others have none."""
    out = {}
    for name, data_type in cols.items():
        if name in categorical:
            out[name] = "categorical"
        elif is_numeric(data_type):
            out[name] = "numeric"
    return out


def _baseline_window(records: list[dict], current: list[dict], granularity) -> dict | None:
    """The window of the BASELINE rows of ``granularity``: the baseline's own time span when it
    has the timestamp column, else the span of the monitored windows."""
    whole = [r for r in records if r.get("ts_min") is not None and r[SLICE_KEY] is None]
    if whole:
        return {
            "start": _micros_to_time(min(r["ts_min"] for r in whole)),
            "end": _micros_to_time(max(r["ts_max"] for r in whole)),
        }
    spans = [r["window"] for r in current if r["granularity"] == granularity and r["window"]]
    if not spans:
        return None
    return {"start": min(w["start"] for w in spans), "end": max(w["end"] for w in spans)}


def compute_metrics(
    df,
    baseline=None,
    spec: Spec | None = None,
    *,
    columns: Sequence[str] | None = None,
    categorical: Sequence[str] = (),
    drift_types: Sequence[str] = DRIFT_TYPES,
    commit_version: int | None = None,
    at: datetime | None = None,
) -> Metrics:
    """The profile and drift metrics of ``df`` as a monitor of ``spec`` writes them.

    Args:
        df: the monitored table (Spark DataFrame).
        baseline: the baseline table (Spark DataFrame) or None; it needs no timestamp or model
            column: its BASELINE profile rows cover all models (and each model too when it
            has the model column), in one window per granularity (its time span, or the
            monitored windows' span).
        spec: what to compute (:meth:`Spec.from_monitor` reads a monitor's document).
        columns: the columns to profile; default every column but the keys and bookkeeping.
        categorical: more columns whose drift is by value (strings and booleans always are,
            and a classifier's prediction and label).
        drift_types: ``CONSECUTIVE`` and/or ``BASELINE``.
        commit_version: the monitored table's Delta version (``logging_table_commit_version``).
        at: the refresh time (a snapshot's window); default now (UTC).

    Raises:
        ParameterError: a missing column, a bad slicing expression or a custom metric that
            does not compile (with Spark's message).
    """
    spec = spec or Spec()
    unknown = set(drift_types) - set(DRIFT_TYPES)
    if unknown or not drift_types:
        raise ParameterError(f"drift_types must be among {DRIFT_TYPES}, got {list(drift_types)}.")
    spark = df.sparkSession
    at = at or datetime.now(UTC).replace(tzinfo=None)
    types = dict(df.dtypes)
    cols = profiled_columns(df.dtypes, spec, columns)
    for c in categorical:
        if c not in cols:
            raise ParameterError(
                f"categorical column {c!r} is not monitored: use one of {list(cols)}."
            )
    cat = {c for c, t in cols.items() if is_categorical(t)} | set(categorical)
    if spec.problem_type == "classification":
        cat |= {c for c in (spec.prediction_col, spec.label_col) if c in cols}
    kinds = _kinds(cols, cat)
    numeric = {c: k == "numeric" for c, k in kinds.items()}
    metrics = spec.custom_metrics
    custom.check_inputs(metrics, cols)
    by_model = spec.model_id_col is not None
    scored = spec.problem_type == "classification" and spec.label_col is not None
    agg_exprs = custom.aggregate_columns(
        df, metrics, prediction_col=spec.prediction_col, label_col=spec.label_col
    )
    names = list(agg_exprs)
    base = {"logging_table_commit_version": commit_version, "monitor_version": spec.monitor_version}
    custom_types = [(m.name, m.ddl) for m in metrics if m.kind in ("AGGREGATE", "DERIVED")]
    p_fields = profile_fields(
        spec.model_id_col, spec.problem_type if by_model else None, custom_types
    )
    d_fields = drift_fields(
        spec.model_id_col, [(m.name, m.ddl) for m in metrics if m.kind == "DRIFT"]
    )
    side = [f for f in p_fields if f[0] not in (*_ROW_KEYS, spec.model_id_col)]
    derived, drift_custom = custom.of_kind(metrics, "DERIVED"), custom.of_kind(metrics, "DRIFT")
    names_of = {"prediction_col": spec.prediction_col, "label_col": spec.label_col}
    stats = [f for f in side if f[0] not in {m.name for m in derived}]
    custom.check_rows(spark, stats, derived, **names_of)  # before any job: fail fast
    custom.check_rows(spark, [], drift_custom, side_fields=side, **names_of)

    with _cached(_prepare(df, spec, spec.slicing_exprs, at=at, by_model=by_model)) as prep:
        records = _aggregate(prep, cols, spec, agg_exprs, by_model=by_model)
        conf = _confusion(prep, spec, types, by_model=by_model) if scored else {}
        hist_keys = [*_KEYS, *([_M] if by_model else [])]
        hists = _hists(histograms(prep, kinds, hist_keys), numeric, by_model=by_model)
    rows = _rows(
        records,
        cols,
        spec,
        log_type="INPUT",
        aggregate_names=names,
        conf=conf,
        hists=hists,
        categorical=cat,
        base=base,
        by_model=by_model,
    )
    base_rows, base_sides = _baseline(
        baseline, spec, cols, rows, metrics, cat, kinds, numeric, base, list(types)
    )
    rows += base_rows
    if derived:
        values = custom.evaluate_rows(
            spark,
            [{k: r.get(k) for k in ("column_name", *dict(stats))} for r in rows],
            stats,
            derived,
            **names_of,
        )
        for r, v in zip(rows, values, strict=True):
            r.update(v)

    pairs = drift_rows(_sides(rows, hists, spec), base_sides, numeric, drift_types)
    drifts = []
    for key, row, _, _ in pairs:
        row.update(
            {
                "monitor_version": spec.monitor_version,
                "granularity": key[0],
                "slice_key": key[2],
                "slice_value": key[3],
                "column_name": key[4],
            }
        )
        if by_model:
            row[spec.model_id_col] = key[1]
        drifts.append(row)
    if drift_custom:
        wanted = {c for m in drift_custom for c in m.input_columns}
        todo = [
            (i, cur, ref)
            for i, (_, _, cur, ref) in enumerate(pairs)
            if cur.profile["column_name"] in wanted
        ]
        inputs = [
            {
                "column_name": cur.profile["column_name"],
                "current_df": {n: cur.profile.get(n) for n, _ in side},
                "base_df": {n: ref.profile.get(n) for n, _ in side},
            }
            for _, cur, ref in todo
        ]
        values = custom.evaluate_rows(spark, inputs, [], drift_custom, side_fields=side, **names_of)
        for (i, _, _), v in zip(todo, values, strict=True):
            drifts[i].update(v)
    model = spec.model_id_col
    profile = sort_metrics(_frame(rows, p_fields), model)
    drift = sort_metrics(_frame(drifts, d_fields), model, "drift_type")
    return Metrics(profile, drift, p_fields, d_fields)


def _sides(rows: list[dict], hists: Mapping, spec: Spec) -> dict[tuple, Side]:
    """The INPUT rows as drift sides: ``{(granularity, model, slice_key, slice_value, column,
    window start): Side}``."""
    out = {}
    for r in rows:
        if r["log_type"] != "INPUT":
            continue
        model = r[spec.model_id_col] if spec.model_id_col else ALL
        key = (r["granularity"], model, r["slice_key"], r["slice_value"], r["column_name"])
        start = r["window"]["start"]
        hist = hists.get((key[0], int(start.value // 1000), *key[1:]))
        out[(*key, start)] = Side(r, hist)
    return out


def _baseline(
    baseline, spec: Spec, cols, rows, metrics, cat, kinds, numeric, base, all_columns
) -> tuple[list[dict], dict]:
    """The BASELINE profile rows (one set per granularity) and the baseline's sides for drift
    (``{(slice_key, slice_value, column): Side}``, all models)."""
    from pyspark.sql import functions as F

    if baseline is None:
        return [], {}
    types = dict(baseline.dtypes)
    bcols = {c: t for c, t in cols.items() if c in types}
    by_model = spec.model_id_col is not None and spec.model_id_col in types
    has_ts = spec.timestamp_col is not None and spec.timestamp_col in types
    aggregates = {}
    for m in custom.of_kind(metrics, "AGGREGATE"):  # one the baseline cannot compute: NULL
        for column in m.input_columns:
            sql = m.render(column, prediction_col=spec.prediction_col, label_col=spec.label_col)
            fits = column in (TABLE, *bcols) and uses_only(sql, all_columns, types)
            aggregates[(m.name, column)] = (
                F.expr(sql).cast(m.ddl) if fits else F.lit(None).cast(m.ddl)
            )
    exprs = usable(spec.slicing_exprs, all_columns, types)
    score = spec.label_col is not None and {spec.label_col, spec.prediction_col} <= set(types)
    with _cached(_prepare(baseline, spec, exprs, at=None, by_model=by_model)) as prep:
        records = _aggregate(
            prep, bcols, spec, aggregates, by_model=by_model, timestamps=has_ts, score=score
        )
        conf = {}
        if score and spec.problem_type == "classification":
            conf = _confusion(prep, spec, types, by_model=by_model)
        hist_keys = [*_KEYS, *([_M] if by_model else [])]
        bkinds = {c: k for c, k in kinds.items() if c in bcols}
        hists = _hists(histograms(prep, bkinds, hist_keys), numeric, by_model=by_model)
    template = _rows(
        records,
        bcols,
        spec,
        log_type="BASELINE",
        aggregate_names=list(aggregates),
        conf=conf,
        hists=hists,
        categorical=cat,
        base=base,
        by_model=by_model,
        score=score,
    )
    model = spec.model_id_col
    out, sides = [], {}
    for n, g in enumerate(spec.granularities):
        window = (
            _baseline_window(records, rows, g)
            if spec.timestamp_col
            else (rows[0]["window"] if rows else None)
        )  # a snapshot's: the refresh's moment
        for r in template:
            row = {**r, "granularity": g, "window": window}
            if model and not by_model:
                row[model] = ALL
            out.append(row)
            if n == 0 and (row[model] if model else ALL) == ALL:
                key = (None, None, ALL, r["slice_key"], r["slice_value"], r["column_name"])
                sides[(r["slice_key"], r["slice_value"], r["column_name"])] = Side(
                    row, hists.get(key)
                )
    return out, sides


def _spec(
    granularity,
    *,
    timestamp_col,
    model_id_col,
    prediction_col,
    label_col,
    problem_type,
    slicing_exprs,
    custom_metrics,
) -> Spec:
    if granularity is None:
        granularities, timestamp_col = (None,), None
    else:
        granularities = (granularity,) if isinstance(granularity, str) else tuple(granularity)
    return Spec(
        granularities,
        timestamp_col,
        model_id_col,
        prediction_col if model_id_col or label_col else None,
        label_col,
        problem_type if model_id_col else None,
        tuple(slicing_exprs),
        custom.parse_metrics(custom_metrics),
    )


def profile_metrics(
    df,
    granularity: str | Sequence[str] | None = "1 day",
    *,
    columns: Sequence[str] | None = None,
    model_id_col: str | None = "model_version",
    timestamp_col: str = "timestamp",
    log_type: str = "INPUT",
    slicing_exprs: Sequence[str] = (),
    prediction_col: str = "prediction",
    label_col: str | None = None,
    problem_type: str = "classification",
    custom_metrics: Sequence[Mapping[str, Any]] | None = None,
) -> pd.DataFrame:
    """The profile metrics table's rows for ``df`` (e.g. from :func:`unpack_inference_table`).

    Args:
        df: a Spark DataFrame with ``timestamp_col``, ``model_id_col`` and the columns.
        granularity: a window length (``"1 hour"``, ``"1 month"``…) or several; None profiles
            ``df`` as a snapshot (one window, no timestamp).
        columns: the columns to profile; default every column but the keys and bookkeeping.
        model_id_col: the model column (its name is the table's model column; ``'*'`` rows
            cover all models); None for a time series.
        log_type: ``INPUT`` for live data, ``BASELINE`` for a reference with its own times.
        slicing_exprs: Databricks' ``slicing_exprs`` (``"plan"``, ``"total_purchases > 10"``).
        label_col: scored against ``prediction_col`` on the ``':table'`` rows when set.
        problem_type: ``classification`` or ``regression``.
        custom_metrics: ``MonitorMetric`` dicts (AGGREGATE and DERIVED land here).

    Returns:
        One row per granularity, window, model, slice and column, plus ``':table'`` rows, in
        the columns of :func:`~recipes.monitoring.schema.profile_fields`.
    """
    spec = _spec(
        granularity,
        timestamp_col=timestamp_col,
        model_id_col=model_id_col,
        prediction_col=prediction_col,
        label_col=label_col,
        problem_type=problem_type,
        slicing_exprs=slicing_exprs,
        custom_metrics=custom_metrics,
    )
    if log_type not in ("INPUT", "BASELINE"):
        raise ParameterError(f"log_type must be 'INPUT' or 'BASELINE', got {log_type!r}.")
    profile = compute_metrics(df, None, spec, columns=columns, drift_types=["CONSECUTIVE"]).profile
    return profile.assign(log_type=log_type)


def drift_metrics(
    current,
    baseline=None,
    granularity: str | Sequence[str] | None = "1 day",
    *,
    columns: Sequence[str] | None = None,
    model_id_col: str | None = "model_version",
    timestamp_col: str = "timestamp",
    drift_types: Sequence[str] = DRIFT_TYPES,
    categorical: Sequence[str] = (),
    slicing_exprs: Sequence[str] = (),
    prediction_col: str = "prediction",
    label_col: str | None = None,
    problem_type: str | None = None,
    custom_metrics: Sequence[Mapping[str, Any]] | None = None,
) -> pd.DataFrame:
    """The drift metrics table's rows: each window against the one before it (CONSECUTIVE) and
    against ``baseline`` (BASELINE), per model (``'*'`` = all), slice and column.

    Args:
        current: a Spark DataFrame of scored records (see :func:`unpack_inference_table`).
        baseline: a Spark DataFrame of the reference data (e.g. the training set), with the
            same columns, no timestamp needed; None computes CONSECUTIVE drift only.
        granularity: the window length(s); None: a snapshot (BASELINE drift only).
        columns: the columns to compare; default every column but the keys and bookkeeping
            (a column the baseline lacks gets CONSECUTIVE drift only).
        categorical: numeric columns to treat as categories (e.g. a class ``prediction``);
            strings and booleans always are, and with ``problem_type="classification"`` the
            prediction and the label.

    Returns:
        Rows in the columns of :func:`~recipes.monitoring.schema.drift_fields`. Numeric
        columns get ``ks_test`` (statistic, pvalue), ``population_stability_index`` and
        ``js_distance`` (on the comparison's deciles) and ``wasserstein_distance``;
        categorical ones ``chi_squared_test``, ``js_distance``, ``tv_distance`` and
        ``l_infinity_distance``; ``':table'`` rows the count and non-null columns deltas.
    """
    spec = _spec(
        granularity,
        timestamp_col=timestamp_col,
        model_id_col=model_id_col,
        prediction_col=prediction_col,
        label_col=label_col,
        problem_type=problem_type,
        slicing_exprs=slicing_exprs,
        custom_metrics=custom_metrics,
    )
    return compute_metrics(
        current, baseline, spec, columns=columns, categorical=categorical, drift_types=drift_types
    ).drift
