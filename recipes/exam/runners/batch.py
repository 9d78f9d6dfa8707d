"""Option checks for batch inference: 100M rows (Q3), ``spark_udf``'s result type (Q12),
its ``env_manager`` (Q13) and what ``score_batch`` needs (Q14)."""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from recipes.exam import scaling
from recipes.exam.questions import Outcome
from recipes.exam.runners.serving import endpoint as serving_endpoint

FEATURE_TABLE = "main.exam.customers"


def _one_line(exc: BaseException, limit: int = 260) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:limit]}"


# --------------------------------------------------------------------------- Q3


def q3_scenario(lab) -> dict:
    """The same generated rows scored four ways, and how each grows (once per lab)."""

    def run() -> dict:
        m = lab.registry()
        spark = lab.spark()
        _, conn = lab.serving()
        endpoint = serving_endpoint(lab, "champion")
        uri = f"models:/{m.name}/{m.v1}"
        s = lab.sizes
        measured = {
            "C": scaling.measure_spark_udf(spark, uri, s.spark_rows, s.memory_rows),
            "A": scaling.measure_driver_loop(spark, uri, s.loop_rows, s.memory_rows),
            "B": scaling.measure_rest(
                spark, conn, endpoint, s.rest_rows, s.rest_batch, s.memory_rows
            ),
            "D": scaling.measure_csv_pandas(
                spark, uri, s.spark_rows, s.memory_rows, lab.home / "q3-csv"
            ),
        }
        assumptions = scaling.Assumptions()
        extrapolation = scaling.extrapolate(measured, assumptions)
        seconds = scaling.seconds_at(measured, assumptions)
        return {
            "measured": measured,
            "rates": scaling.rates_table(measured),
            "memory": scaling.memory_table(measured),
            "extrapolation": extrapolation,
            "seconds_100m": seconds,
            "assumptions": assumptions,
        }

    return lab.once("q3", run)


def q3_figure(lab):
    from recipes.exam import plots

    s = q3_scenario(lab)
    return lab.once(
        "q3:figure", lambda: plots.q3_scaling(s["measured"], s["extrapolation"], s["seconds_100m"])
    )


def _q3(lab, letter: str, fits_fn, happened_fn) -> Outcome:
    s = q3_scenario(lab)
    m = s["measured"][letter]
    row = s["extrapolation"].set_index("option").loc[letter]
    ev = {
        "rows_per_s": m.rows_per_s,
        "rows": m.rows,
        "seconds": m.seconds,
        "where": m.where,
        "memory_mb": m.memory_mb,
        "memory_slope": m.memory_slope(),
        **m.extra,
        "time_100m": row["time"],
        "seconds_100m": s["seconds_100m"][letter],
        "memory_100m": row["memory"],
    }
    happened = (
        f"{happened_fn(s, m)} At 100M rows: {row['time']}, memory {row['memory']} ({row['how']})."
    )
    tables = {
        "A": (s["rates"], "rows per second on this machine, and where the work ran"),
        "B": (s["memory"], "peak memory at two row counts, and its slope"),
        "C": (
            s["extrapolation"],
            "at 100M rows, from the measured slopes; assumptions: "
            + ", ".join(f"{k}={v:,}" for k, v in asdict(s["assumptions"]).items()),
        ),
    }
    table, title = tables.get(letter, (None, None))
    return Outcome(
        happened,
        fits=fits_fn(s, ev),
        evidence=ev,
        table=table,
        table_title=title,
        figure=q3_figure(lab) if letter == "C" else None,
    )


def q3_a(lab) -> Outcome:
    return _q3(
        lab,
        "A",
        lambda s, ev: False,
        lambda s, m: (
            f"{m.rows} rows, one predict each, {m.rows_per_s:,.0f} rows/s, all in "
            f"{m.where}; the rows had to be collected to the driver first."
        ),
    )


def q3_b(lab) -> Outcome:
    return _q3(
        lab,
        "B",
        lambda s, ev: False,
        lambda s, m: (
            f"{m.rows} rows in {m.extra['requests']} requests of {m.extra['batch']}: "
            f"{m.rows_per_s:,.0f} rows/s; every row crossed HTTP as "
            f"{m.extra['bytes_per_row']:.0f} bytes of JSON."
        ),
    )


def q3_c(lab) -> Outcome:
    def fits(s, ev):
        fastest = min(s["seconds_100m"], key=s["seconds_100m"].get) == "C"
        return ev["tasks"] >= 2 and ev["driver_pid"] not in ev["worker_pids"] and fastest

    def happened(s, m):
        x = m.extra
        busy = (
            f" One task already kept {x['cores_busy_1']:.1f} cores busy (the JVM feeds the "
            "Python worker), so on this 2-core machine a second task added little: that "
            "slope says nothing of a cluster, where each task gets cores of its own."
            if x.get("cores_busy_1")
            else ""
        )
        per_cpu = (
            f" {x['rows_per_cpu_second']:,.0f} rows per CPU-second."
            if x.get("rows_per_cpu_second")
            else ""
        )
        return (
            f"{m.rows} rows as a Spark job of {x['tasks']} tasks in Python worker "
            f"process(es) {x['worker_pids']}, not the driver (pid {x['driver_pid']}): "
            f"{x['rate_1_task']:,.0f} rows/s with one task at a time, "
            f"{x['rate_2_tasks']:,.0f} with two.{busy}{per_cpu} A worker's peak memory "
            f"stayed at {max(m.memory_mb.values()):,.0f} MB whatever the rows."
        )

    return _q3(lab, "C", fits, happened)


def q3_d(lab) -> Outcome:
    def happened(s, m):
        c = s["measured"]["C"]
        local = m.rows / max(m.extra["local_seconds"], 1e-9)
        beat = "beats" if local > c.rows_per_s else "trails"  # honest either way
        return (
            f"Export, read and one predict: {m.rows_per_s:,.0f} rows/s overall; its local "
            f"pandas pass alone ({local:,.0f} rows/s) {beat} spark_udf here "
            f"({c.rows_per_s:,.0f} rows/s), as a single laptop often does. But its memory "
            f"grew {m.memory_slope():,.0f} bytes per row and the data left the platform as "
            f"{m.extra['csv_bytes_per_row']:.0f} bytes of CSV per row."
        )

    return _q3(lab, "D", lambda s, ev: False, happened)


# --------------------------------------------------------------------------- Q12 result_type


def _unsigned_model():
    """The same kind of model, fitted on a bare array and logged with no signature (so
    ``spark_udf`` hands it unnamed columns, which it takes by position)."""
    from sklearn.linear_model import LogisticRegression

    from recipes import data

    df = data.make_churn(1000, seed=0)
    x = df[list(data.FEATURES)].to_numpy("float64")
    return LogisticRegression(max_iter=1000).fit(x, df[data.LABEL].to_numpy()), None


def q12_scenario(lab) -> dict:
    def run() -> dict:
        import mlflow

        from recipes.data import FEATURES, live_traffic

        m = lab.registry()
        spark = lab.spark()
        signed = f"models:/{m.name}/{m.v1}"
        unsigned = lab.run_model("unsigned", _unsigned_model)
        df = spark.createDataFrame(live_traffic(4, seed=12)[list(FEATURES)])
        out = {}
        for key, uri, kwargs in [
            ("signed, no result_type", signed, {}),
            ("no signature, no result_type", unsigned, {}),
            ('signed, result_type="double"', signed, {"result_type": "double"}),
            ('signed, result_type="string"', signed, {"result_type": "string"}),
        ]:
            udf = mlflow.pyfunc.spark_udf(spark, uri, env_manager="local", **kwargs)
            scored = df.withColumn("prediction", udf(*FEATURES)).select("prediction")
            out[key] = {
                "type": dict(scored.dtypes)["prediction"],
                "values": [r[0] for r in scored.collect()],
            }
        return out

    return lab.once("q12", run)


def _q12(lab, fits_fn) -> Outcome:
    s = q12_scenario(lab)
    table = pd.DataFrame(
        [{"call": k, "column type": v["type"], "values": v["values"]} for k, v in s.items()]
    )
    default = s["signed, no result_type"]["type"]
    bare = s["no signature, no result_type"]["type"]
    happened = (
        f"With no result_type the column came out {default} for the model whose signature "
        f"says long, and {bare} for the same model logged without a signature; "
        "result_type turned it into exactly the type asked for."
    )
    ev = {k: v["type"] for k, v in s.items()}
    return Outcome(
        happened,
        fits=fits_fn(ev),
        evidence=ev,
        table=table,
        code="mlflow.pyfunc.spark_udf(spark, model_uri)",
    )


def q12_a(lab) -> Outcome:
    return _q12(lab, lambda ev: ev["signed, no result_type"] == "double")


def q12_b(lab) -> Outcome:
    return _q12(
        lab,
        lambda ev: (
            ev["signed, no result_type"] == "bigint"
            and ev["no signature, no result_type"] == "double"
        ),
    )


def q12_c(lab) -> Outcome:
    return _q12(lab, lambda ev: ev["signed, no result_type"] == "string")


def q12_d(lab) -> Outcome:
    return _q12(lab, lambda ev: ev["signed, no result_type"].startswith("array"))


# --------------------------------------------------------------------------- Q13 env_manager


@contextlib.contextmanager
def _output_to(path: Path):
    """Send this process's file descriptors 1 and 2 to ``path`` inside the block: tools an
    env manager runs (pyenv, conda, pip) write there directly, not through Python."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(Exception):
            stream.flush()
    saved = os.dup(1), os.dup(2)
    with path.open("ab") as out:
        os.dup2(out.fileno(), 1)
        os.dup2(out.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def _cause(log: Path, offset: int) -> str | None:
    """The line of what the env manager's tools printed that says why they failed."""
    import re

    try:
        with log.open("rb") as f:
            f.seek(offset)
            lines = f.read().decode(errors="replace").splitlines()
    except OSError:
        return None
    hits = [ln.strip() for ln in lines if re.search(r"(?i)error|could not|not found|failed", ln)]
    return hits[0][:200] if hits else None


def _env_attempt(lab, env_manager: str) -> dict:
    def run() -> dict:
        import time

        import mlflow

        from recipes.data import FEATURES, live_traffic
        from recipes.spark import describe_session

        m = lab.registry()
        spark = lab.spark()
        # MLflow refuses virtualenv/conda/uv over Spark Connect to a non-Databricks cluster
        # (mlflow/pyfunc/__init__.py, spark_udf); the session kind says which rules apply
        session = describe_session(spark)["kind"]
        uri = f"models:/{m.name}/{m.v1}"
        t0 = time.perf_counter()
        log = lab.home / "logs" / "env-managers.log"
        offset = log.stat().st_size if log.exists() else 0
        try:
            with _output_to(log):
                udf = mlflow.pyfunc.spark_udf(
                    spark, uri, env_manager=env_manager, result_type="long"
                )
                df = spark.createDataFrame(live_traffic(3, seed=13)[list(FEATURES)])
                values = [r[0] for r in df.select(udf(*FEATURES).alias("p")).collect()]
            return {
                "scored": True,
                "values": values,
                "error": None,
                "session": session,
                "seconds": round(time.perf_counter() - t0, 2),
            }
        except Exception as exc:  # noqa: BLE001 - the refusal is the evidence
            return {
                "scored": False,
                "values": None,
                "error": _one_line(exc),
                "cause": _cause(log, offset),
                "session": session,
                "seconds": round(time.perf_counter() - t0, 2),
            }

    return lab.once(f"q13:{env_manager}", run)


def _q13(lab, env_manager: str, restores: bool) -> Outcome:
    r = _env_attempt(lab, env_manager)
    code = f'mlflow.pyfunc.spark_udf(spark, model_uri, env_manager="{env_manager}")'
    if r["scored"]:
        happened = (
            f"Scored {r['values']} in {r['seconds']} s"
            + (
                " after building the model's environment"
                if restores
                else ", using the packages of the session's own environment"
            )
            + "."
        )
    else:
        why = f" (its tools said: {r['cause']})" if r.get("cause") else ""
        happened = (
            f"Could not run here ({r['seconds']} s, a {r['session']} Spark session): "
            f"{r['error']}{why}"
        )
    return Outcome(
        happened,
        fits=r["scored"] and not restores,
        evidence={"env_manager": env_manager, **r},
        code=code,
        error=r["error"],
    )


def q13_a(lab) -> Outcome:
    return _q13(lab, "conda", restores=True)


def q13_b(lab) -> Outcome:
    return _q13(lab, "virtualenv", restores=True)


def q13_c(lab) -> Outcome:
    return _q13(lab, "local", restores=False)


def q13_d(lab) -> Outcome:
    return _q13(lab, "uv", restores=True)


# --------------------------------------------------------------------------- Q14 score_batch


def q14_setup(lab) -> dict:
    """A feature table keyed by ``customer_id``, and a model logged with its lookups."""

    def run() -> dict:
        import mlflow

        from recipes import data, train
        from recipes.features import FeatureLookup, ensure_table, feature_client

        lab.registry()
        spark = lab.spark()
        feature_model = lab.related("features")
        fs = feature_client(lab.target.name)
        customers = data.make_churn(600, seed=14)
        ensure_table(
            fs,
            name=FEATURE_TABLE,
            primary_keys=data.KEY,
            df=spark.createDataFrame(customers.drop(columns=[data.LABEL])),
        )
        training_set = fs.create_training_set(
            df=spark.createDataFrame(customers[[data.KEY, data.LABEL]]),
            feature_lookups=[FeatureLookup(table_name=FEATURE_TABLE, lookup_key=data.KEY)],
            label=data.LABEL,
            exclude_columns=[data.KEY],
        )
        fs.log_model(
            model=train.fit(training_set.load_df().toPandas()),
            name="model",
            flavor=mlflow.sklearn,
            training_set=training_set,
            registered_model_name=feature_model,
        )
        version = max(
            int(v.version)
            for v in mlflow.MlflowClient().search_model_versions(f"name = '{feature_model}'")
        )
        return {
            "fs": fs,
            "customers": customers.head(200),
            "uri": f"models:/{feature_model}/{version}",
        }

    return lab.once("q14:setup", run)


MISSING = "DataFrame is missing required columns"  # the real client's words (Q14's source)
OVERRIDE = ("total_purchases", 0)  # a feature given beside the key, and the value it is given


def _score(lab, columns: list[str], given: dict | None = None) -> dict:
    """``score_batch`` on the first customers' ``columns`` (with ``given`` values set),
    or the refusal (once per columns and values)."""

    def run() -> dict:
        setup = q14_setup(lab)
        spark = lab.spark()
        frame = setup["customers"][columns].assign(**(given or {}))
        try:
            out = setup["fs"].score_batch(model_uri=setup["uri"], df=spark.createDataFrame(frame))
            kept = {
                c: sorted({r[0] for r in out.select(c).distinct().collect()}) for c in (given or {})
            }
            rows = out.select("prediction").count()
            return {
                "columns": columns,
                "scored": rows,
                "output": out.columns,
                "error": None,
                "kept": kept,
            }
        except Exception as exc:  # noqa: BLE001 - a refusal is evidence too
            return {
                "columns": columns,
                "scored": 0,
                "output": None,
                "error": _one_line(exc),
                "kept": {},
            }

    key = ",".join(columns) + (f":{sorted((given or {}).items())}" if given else "")
    return lab.once("q14:" + key, run)


def _override(lab) -> dict:
    """The key with one feature beside it, set to a value of our own: the value scored is
    ours, not the feature table's (the real client's documented override)."""
    from recipes import data

    name, value = OVERRIDE
    out = _score(lab, [data.KEY, name], {name: value})
    return {
        **out,
        "feature": name,
        "value": value,
        "used_given": out.get("kept", {}).get(name) == [value],
    }


def _q14(lab, columns: list[str]) -> Outcome:
    from recipes import data

    mine = _score(lab, columns)
    keys_only = _score(lab, [data.KEY])
    override = _override(lab)
    minimal = mine["error"] is None and set(columns) == {data.KEY}
    if mine["error"] is None:
        first = (
            f"score_batch scored {mine['scored']} rows from {columns}; output columns "
            f"{mine['output']}. "
        )
    else:
        first = f"score_batch refused {columns}: {mine['error'].rstrip('.')}. "
    if minimal:
        rest = "The features were joined from the feature table by key."
    else:
        rest = (
            f"With only {keys_only['columns']} it scored {keys_only['scored']} rows: the "
            "features were looked up by key."
        )
    if data.KEY not in columns:
        name, value = OVERRIDE
        used = override.get("kept", {}).get(name)
        rest += (
            f" The key is what it lacks: with the key beside {name}={value}, it scored "
            f"{override['scored']} rows using {name}={used}, the given value instead of "
            "the table's."
        )
    missing_key = bool(mine["error"]) and MISSING in mine["error"] and data.KEY in mine["error"]
    return Outcome(
        first + rest,
        fits=minimal and keys_only["scored"] > 0,
        evidence={
            "mine": mine,
            "keys_only": keys_only,
            "override": override,
            "missing_key": missing_key,
        },
        code="fs.score_batch(model_uri=..., df=new_customers_df)",
        error=mine["error"],
    )


def q14_a(lab) -> Outcome:
    from recipes import data

    return _q14(lab, list(data.FEATURES))


def q14_b(lab) -> Outcome:
    from recipes import data

    return _q14(lab, [data.KEY])


def q14_c(lab) -> Outcome:
    from recipes import data

    return _q14(lab, [*data.FEATURES, data.LABEL])


def q14_d(lab) -> Outcome:
    from recipes import data

    return _q14(lab, [data.KEY, data.LABEL])
