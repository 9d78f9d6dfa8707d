"""Q3 · Batch Inference, the study module's: the most efficient way to score 100 million
rows. The same rows are scored four ways and each way's growth is measured
(:mod:`recipes.exam.scaling`), then carried to 100M rows.
"""

from __future__ import annotations

from dataclasses import asdict

from recipes.exam import scaling
from recipes.exam.endpoints import endpoint as serving_endpoint
from recipes.exam.endpoints import warm
from recipes.exam.questions import Option, Outcome, Question


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


QUESTION = Question(
    order=3,
    topic="Batch Inference",
    source="module",
    text=(
        "A data engineer needs to score 100 million rows using a registered MLflow model. "
        "Which approach is most efficient on Databricks?"
    ),
    options=(
        Option(
            "A",
            "Load the model with mlflow.pyfunc.load_model() and iterate through rows on the driver",
            q3_a,
        ),
        Option("B", "Send all rows to the Model Serving endpoint using the REST API", q3_b),
        Option("C", "Use mlflow.pyfunc.spark_udf() and apply it to a Spark DataFrame", q3_c),
        Option("D", "Export the data to CSV and score it locally", q3_d),
    ),
    answer="C",
    explanation=(
        "What matters at 100M rows is how an approach grows. `spark_udf` runs the model in "
        "every task of a Spark job, so adding cores adds throughput, each task holds one batch "
        "at a time, and the rows never leave the platform. A driver loop uses one core and one "
        "`predict` per row. An endpoint is built for low-latency requests: every row crosses "
        "HTTP as JSON and the endpoint's concurrency caps the rate. A CSV export moves the data "
        "off the platform, and a local pandas pass needs memory in proportion to the rows. On "
        "a laptop the pandas pass can be the fastest; it just cannot grow."
    ),
    needs=frozenset({"registry", "serving", "spark"}),
    prepare=warm("champion"),
)
