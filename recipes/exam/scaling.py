"""Exam question 3, measured: the same rows scored four ways, and how each way grows.

07's question 3 (:mod:`recipes.exam.bank.q03_hundred_million_rows`) measures all four; 05
measures A against its own ``spark_udf`` job with :func:`driver_loop` and :func:`compare`.

A laptop cannot run 100 million rows through four approaches, and on a laptop a pandas pass
(D) can even beat Spark (C). What decides the question is how each approach *grows*, which
can be measured here:

- **rate**: rows per second of each approach on the same generated rows;
- **per core**: ``spark_udf`` with one task at a time (what ``local[1]`` gives) against two
  (``local[2]``), in the same session: Spark's scale-out slope;
- **memory**: the peak memory holding the data at two row counts, for each approach: what
  grows with the data and what stays flat;
- **where the data goes**: bytes per row that leave the platform (D's CSV, B's JSON).

:func:`extrapolate` carries those measured slopes to 100M rows under stated
:class:`Assumptions`. Nothing happens at import time.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import tracemalloc
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from recipes.data import FEATURES
from recipes.errors import ParameterError
from recipes.formats import encode

ROWS_100M = 100_000_000


@dataclass(frozen=True)
class Assumptions:
    """What the 100M-row extrapolation assumes (none of it measured here).

    Attributes:
        rows: the rows to score.
        cluster_cores: cores of the cluster ``spark_udf`` would run on (8 workers x 4 cores).
        endpoint_concurrency: requests a serving endpoint answers at once (a Small workload
            serves about 4 concurrently).
        network_mb_s: download speed of the CSV export from the platform to the laptop.
        request_limit_mb: the largest request body a serving endpoint accepts.
    """

    rows: int = ROWS_100M
    cluster_cores: int = 32
    endpoint_concurrency: int = 4
    network_mb_s: float = 100.0
    request_limit_mb: float = 16.0


@dataclass
class Measured:
    """One approach measured on this machine."""

    option: str
    approach: str
    rows: int
    seconds: float
    where: str
    memory_mb: dict[int, float] = field(default_factory=dict)  # rows -> peak MB
    memory_measure: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")

    def memory_slope(self) -> float:
        """Bytes of peak memory per extra row, between the two measured row counts."""
        (n1, m1), (n2, m2) = sorted(self.memory_mb.items())[:2]
        return (m2 - m1) * 2**20 / (n2 - n1) if n2 != n1 else 0.0


# --------------------------------------------------------------------------- the rows


def source(spark, rows: int, partitions: int):
    """``rows`` generated churn rows as a Spark DataFrame in ``partitions`` partitions.

    The features are pure functions of the row id (no I/O, the same rows every time), as
    integers like the seed's record.
    """
    from pyspark.sql import functions as F

    ids = spark.range(0, rows, 1, partitions)
    return ids.select(
        F.col("id").alias("customer_id"),
        ((F.col("id") * 7919) % 40).cast("long").alias("total_purchases"),
        (60 + (F.col("id") * 104729) % 600).cast("long").alias("avg_session_duration"),
        ((F.col("id") * 31) % 90).cast("long").alias("days_since_last_visit"),
    )


class _Peak:
    """Traced Python allocations (numpy and pandas report theirs) at their peak, in MB."""

    def __enter__(self) -> _Peak:
        self.was = tracemalloc.is_tracing()
        if not self.was:
            tracemalloc.start()
        tracemalloc.reset_peak()
        self.base = tracemalloc.get_traced_memory()[0]
        return self

    def __exit__(self, *exc) -> None:
        self.mb = max(0.0, (tracemalloc.get_traced_memory()[1] - self.base) / 2**20)
        if not self.was:
            tracemalloc.stop()


class _RssSampler:
    """Peak RSS, in MB, of given processes while the block runs (sampled every 20 ms)."""

    def __init__(self, pids_fn):
        self.pids_fn = pids_fn
        self.peaks: dict[str, float] = {}
        self._stop = threading.Event()

    def _sample(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                pids = list(self.pids_fn())
            except Exception:  # noqa: BLE001 - a process vanished mid-listing: sample again
                pids = []
            for label, pid in pids:
                try:
                    mb = psutil.Process(pid).memory_info().rss / 2**20
                except psutil.Error:
                    continue
                self.peaks[label] = max(self.peaks.get(label, 0.0), mb)
            self._stop.wait(0.02)

    def __enter__(self) -> _RssSampler:
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _jvm_pid() -> int | None:
    """The classic local session's JVM: a ``java`` child of this process (None under Spark
    Connect, whose JVM runs elsewhere)."""
    import psutil

    if "pyspark" not in sys.modules:
        return None
    for child in psutil.Process().children():
        try:
            if child.name() == "java":
                return child.pid
        except psutil.NoSuchProcess:
            continue
    return None


# --------------------------------------------------------------------------- A: driver loop


@dataclass(frozen=True)
class LoopTiming:
    """Rows scored one ``predict`` at a time on the driver, how long that took, and the
    processes the calls ran in."""

    rows: int
    seconds: float
    pids: tuple[int, ...] = ()

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else float("inf")


def time_driver_loop(model, frame: pd.DataFrame) -> LoopTiming:
    """One ``model.predict`` per row of ``frame``, in this process; a first, untimed call
    warms pyfunc's checks."""
    model.predict(frame.iloc[0:1])
    pids = set()
    t0 = time.perf_counter()
    for i in range(len(frame)):
        model.predict(frame.iloc[i : i + 1])
        pids.add(os.getpid())
    return LoopTiming(len(frame), time.perf_counter() - t0, tuple(sorted(pids)))


def driver_loop(model_uri: str, rows: pd.DataFrame) -> LoopTiming:
    """A on the given feature rows (05 passes a sample of its input): ``model_uri`` loaded
    with ``mlflow.pyfunc.load_model`` (untimed), then :func:`time_driver_loop`.

    Args:
        model_uri: any ``models:/`` URI.
        rows: the feature rows (pandas).
    """
    import mlflow.pyfunc

    if rows.empty:
        raise ParameterError("driver_loop needs at least one row: raise loop_sample.")
    return time_driver_loop(mlflow.pyfunc.load_model(model_uri), rows)


def measure_driver_loop(spark, model_uri: str, rows: int, memory_rows: tuple[int, int]) -> Measured:
    """A: the rows come to the driver, then one ``predict`` per row (the load is untimed)."""
    import mlflow.pyfunc

    model = mlflow.pyfunc.load_model(model_uri)
    frame = source(spark, rows, 2).toPandas()[list(FEATURES)]
    loop = time_driver_loop(model, frame)
    memory = {}
    for n in memory_rows:  # the rows must be on the driver before the loop can run
        with _Peak() as peak:
            held = source(spark, n, 2).toPandas()[list(FEATURES)]
            for i in range(min(50, len(held))):
                model.predict(held.iloc[i : i + 1])
            del held
        memory[n] = round(peak.mb, 2)
    return Measured(
        "A",
        "pyfunc.predict row by row on the driver",
        rows,
        loop.seconds,
        where=f"the driver only (pid {list(loop.pids)})",
        memory_mb=memory,
        memory_measure="driver, traced allocations",
        extra={"pids": list(loop.pids), "driver_pid": os.getpid()},
    )


# --------------------------------------------------------------------------- B: REST


def _send_batches(conn, endpoint: str, rows, batch: int) -> tuple[int, int, int]:
    """Send ``rows`` (an iterator of Spark rows) in ``dataframe_split`` batches of ``batch``."""
    import json

    import requests

    sent = body_bytes = failed = 0
    columns = list(FEATURES)

    def post(s, data: list[dict]) -> None:
        nonlocal sent, body_bytes, failed
        body = json.dumps(encode(data, "dataframe_split"))
        r = s.post(
            conn.invocations_url(endpoint),
            data=body,
            timeout=120,
            headers={**conn.headers, "Content-Type": "application/json"},
        )
        sent += len(data) if r.status_code == 200 else 0
        failed += r.status_code != 200
        body_bytes += len(body)

    with requests.Session() as s:
        chunk: list = []
        for row in rows:
            chunk.append({c: row[c] for c in columns})
            if len(chunk) == batch:
                post(s, chunk)
                chunk = []
        if chunk:
            post(s, chunk)
    return sent, body_bytes, failed


def _parts(rows: int) -> int:
    """Partitions of at most 2,000 rows: ``toLocalIterator`` holds one at a time."""
    return max(2, -(-rows // 2000))


def measure_rest(
    spark, conn, endpoint: str, rows: int, batch: int, memory_rows: tuple[int, int]
) -> Measured:
    """B: the rows streamed to a client and sent in ``dataframe_split`` batches of ``batch``."""
    t0 = time.perf_counter()
    sent, body_bytes, failed = _send_batches(
        conn, endpoint, source(spark, rows, _parts(rows)).toLocalIterator(), batch
    )
    seconds = time.perf_counter() - t0
    memory = {}
    # fewer rows than the others (every row is a request's worth of work), but at least two
    # partitions' worth: the client holds one partition and one request at a time
    small = max(4000, min(memory_rows) // 10)
    for n in (small, max(2 * small, max(memory_rows) // 10)):
        with _Peak() as peak:
            _send_batches(conn, endpoint, source(spark, n, _parts(n)).toLocalIterator(), batch)
        memory[n] = round(peak.mb, 2)
    return Measured(
        "B",
        f"REST endpoint, {batch} rows per request",
        sent,
        seconds,
        where="the serving endpoint's worker, one request at a time",
        memory_mb=memory,
        memory_measure="client, traced allocations",
        extra={
            "bytes_per_row": body_bytes / max(rows, 1),
            "failed": failed,
            "batch": batch,
            "requests": -(-rows // batch),
        },
    )


# --------------------------------------------------------------------------- C: spark_udf


def _python_workers(jvm: int | None) -> list[tuple[str, int]]:
    """The Python workers under the JVM: the processes pyspark's daemon forks (the daemon,
    the JVM's own child, runs no task)."""
    import psutil

    if jvm is None:
        return []
    try:
        kids = psutil.Process(jvm).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    found = []
    for p in kids:
        try:
            if (
                p.ppid() != jvm
                and "python" in (p.name() or "").lower()
                and p.status() != psutil.STATUS_ZOMBIE
            ):
                found.append((str(p.pid), p.pid))
        except psutil.Error:
            continue
    return found


def _spark_job(spark, udf, rows: int, partitions: int) -> dict:
    """Score ``rows`` in ``partitions`` tasks; the Python workers' peak RSS while it runs."""
    from pyspark.sql import functions as F

    jvm = _jvm_pid()
    scored = source(spark, rows, partitions).select(
        udf(*[F.col(c) for c in FEATURES]).alias("prediction"),
        F.spark_partition_id().alias("task"),
    )
    cpu0 = _cpu_seconds(jvm)
    with _RssSampler(lambda: _python_workers(jvm)) as rss:
        t0 = time.perf_counter()
        # the sum uses every prediction: a column nothing reads is pruned, model and all
        out = (
            scored.groupBy("task")
            .agg(F.count("*").alias("rows"), F.sum("prediction").alias("positives"))
            .collect()
        )
        seconds = time.perf_counter() - t0
    cpu = {pid: t - cpu0.get(pid, 0.0) for pid, t in _cpu_seconds(jvm).items()}
    workers = {int(k): v for k, v in rss.peaks.items()}
    return {
        "rows": sum(r["rows"] for r in out),
        "seconds": seconds,
        "tasks": len(out),
        "worker_pids": sorted(workers),
        "worker_peak_mb": max(workers.values(), default=float("nan")),
        "jvm": jvm,
        "cpu_seconds": sum(cpu.values()) if jvm else None,
    }


def _cpu_seconds(jvm: int | None) -> dict[int, float]:
    """CPU seconds (user + system) so far of the JVM and every process under it."""
    import psutil

    if jvm is None:
        return {}
    out = {}
    try:
        procs = [psutil.Process(jvm), *psutil.Process(jvm).children(recursive=True)]
    except psutil.NoSuchProcess:
        return {}
    for p in procs:
        try:
            t = p.cpu_times()
            out[p.pid] = t.user + t.system
        except psutil.Error:
            continue
    return out


def measure_spark_udf(spark, model_uri: str, rows: int, memory_rows: tuple[int, int]) -> Measured:
    """C: ``mlflow.pyfunc.spark_udf`` over a DataFrame, with one task at a time and with two.

    A warm-up job starts the Python workers and loads the model in each first, so the timed
    jobs measure scoring, not start-up.
    """
    import mlflow.pyfunc

    udf = mlflow.pyfunc.spark_udf(spark, model_uri, env_manager="local", result_type="long")
    _spark_job(spark, udf, 4000, 2)  # warm-up: both workers start and load the model
    memory, jvm_mb, driver_mb = {}, {}, {}
    jvm = _jvm_pid()
    jvm_only = [("jvm", jvm)] if jvm else []
    for n in sorted(memory_rows):
        with _Peak() as peak, _RssSampler(lambda: jvm_only) as rss:
            job = _spark_job(spark, udf, n, 2)
        memory[n] = round(job["worker_peak_mb"], 1)
        jvm_mb[n] = round(rss.peaks.get("jvm", float("nan")), 1)
        driver_mb[n] = round(peak.mb, 2)
    one = _spark_job(spark, udf, rows, 1)
    two = _spark_job(spark, udf, rows, 2)
    where = (
        f"{two['tasks']} Spark tasks in Python worker processes {two['worker_pids']}"
        if two["worker_pids"]
        else f"{two['tasks']} Spark tasks on the Spark Connect server"
    )
    r1, r2 = one["rows"] / one["seconds"], two["rows"] / two["seconds"]
    cpu1, cpu2 = one["cpu_seconds"], two["cpu_seconds"]
    per_cpu = two["rows"] / cpu2 if cpu2 else None  # rows per CPU-second, JVM and workers
    return Measured(
        "C",
        "mlflow.pyfunc.spark_udf over the DataFrame",
        two["rows"],
        two["seconds"],
        where=where,
        memory_mb=memory,
        memory_measure="largest Python worker, peak RSS",
        extra={
            "tasks": two["tasks"],
            "worker_pids": two["worker_pids"],
            "driver_pid": os.getpid(),
            "rate_1_task": r1,
            "rate_2_tasks": r2,
            "per_core_1": r1,
            "per_core_2": r2 / 2,
            "efficiency": r2 / (2 * r1),
            "cores_busy_1": cpu1 / one["seconds"] if cpu1 else None,
            "cores_busy_2": cpu2 / two["seconds"] if cpu2 else None,
            "rows_per_cpu_second": per_cpu,
            "jvm_mb": jvm_mb,
            "driver_traced_mb": driver_mb,
            "tasks_1": one["tasks"],
        },
    )


# --------------------------------------------------------------------------- D: CSV + pandas


def _export_and_score(spark, model, rows: int, folder: Path) -> tuple[float, float, int, int]:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
    t0 = time.perf_counter()
    source(spark, rows, 2).write.option("header", True).csv(str(folder))
    t_export = time.perf_counter() - t0
    files = sorted(folder.glob("part-*.csv"))
    size = sum(f.stat().st_size for f in files)
    frame = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    pred = model.predict(frame[list(FEATURES)])
    return t_export, time.perf_counter() - t0, size, len(pred)


def measure_csv_pandas(
    spark, model_uri: str, rows: int, memory_rows: tuple[int, int], folder: Path
) -> Measured:
    """D: export to CSV with Spark, read every file into one pandas frame, one ``predict``."""
    import mlflow.pyfunc

    model = mlflow.pyfunc.load_model(model_uri)
    t_export, seconds, size, scored = _export_and_score(spark, model, rows, folder)
    memory = {}
    for n in memory_rows:
        source(spark, n, 2).write.mode("overwrite").option("header", True).csv(
            str(folder / f"m{n}")
        )
        files = sorted((folder / f"m{n}").glob("part-*.csv"))
        with _Peak() as peak:
            frame = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
            model.predict(frame[list(FEATURES)])
            del frame
        memory[n] = round(peak.mb, 2)
    return Measured(
        "D",
        "CSV export, then pandas and one predict",
        scored,
        seconds,
        where=f"one process off the platform (pid {os.getpid()})",
        memory_mb=memory,
        memory_measure="pandas process, traced allocations",
        extra={
            "csv_bytes_per_row": size / max(rows, 1),
            "export_seconds": t_export,
            "local_seconds": seconds - t_export,
        },
    )


# --------------------------------------------------------------------------- extrapolation


def _hours(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:,.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:,.0f} min"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:,.1f} h"
    return f"{seconds / 86400:,.1f} days"


def core_rate(C: Measured) -> float:
    """``spark_udf``'s rows per second per core: rows per CPU-second of the JVM and its Python
    workers together when that was measured (classic local Spark), else the one-task rate
    times the measured one-to-two-task efficiency."""
    per_cpu = C.extra.get("rows_per_cpu_second")
    return per_cpu or C.extra["per_core_1"] * min(1.0, C.extra["efficiency"])


def seconds_at(measured: dict[str, Measured], a: Assumptions = Assumptions()) -> dict[str, float]:
    """Seconds each approach would take for ``a.rows`` rows; see :func:`extrapolate`."""
    n = a.rows
    A, B, C, D = (measured[k] for k in "ABCD")
    cluster = core_rate(C) * a.cluster_cores
    export = n * D.extra["export_seconds"] / D.rows * 2 / a.cluster_cores  # 2 cores measured
    download = D.extra["csv_bytes_per_row"] * n / (a.network_mb_s * 2**20)
    local = n * D.extra["local_seconds"] / D.rows
    return {
        "A": n / A.rows_per_s,
        "B": n / (B.rows_per_s * a.endpoint_concurrency),
        "C": n / cluster,
        "D": export + download + local,
    }


def extrapolate(measured: dict[str, Measured], a: Assumptions = Assumptions()) -> pd.DataFrame:
    """Each approach at ``a.rows`` rows, from the measured rates and slopes.

    - A: one core at the measured rows/s of the loop; memory: the measured slope x rows.
    - B: the measured rows/s of one client x ``endpoint_concurrency``; the requests it takes
      and the JSON that leaves the platform.
    - C: :func:`core_rate` x ``cluster_cores``: every core of the cluster does what a
      CPU-second did here (the JVM's share included); memory per task stays as measured.
    - D: the export runs on the cluster (the measured 2-core rate, scaled to its cores),
      then the CSV is downloaded at ``network_mb_s`` and scored on one machine at the
      measured local rate; memory: the measured slope x rows, in that one process.
    """
    import psutil

    ram_gb = psutil.virtual_memory().total / 2**30
    n = a.rows
    A, B, C, D = (measured[k] for k in "ABCD")
    secs = seconds_at(measured, a)
    b_gb = B.extra["bytes_per_row"] * n / 2**30
    d_gb = D.extra["csv_bytes_per_row"] * n / 2**30
    busy = C.extra.get("cores_busy_1")
    slope = (
        (
            f"; here one task already kept {busy:.1f} cores busy, so a second task on this "
            f"2-core machine added {max(C.extra['efficiency'] * 2 - 1, 0):.0%}"
        )
        if busy
        else ""
    )
    rows = [
        {
            "option": "A",
            "approach": A.approach,
            "time": _hours(secs["A"]),
            "memory": f"{max(A.memory_slope(), 0) * n / 2**30:,.1f} GB on the driver",
            "how": f"{A.rows_per_s:,.0f} rows/s on one core; every row must reach the driver",
        },
        {
            "option": "B",
            "approach": B.approach,
            "time": _hours(secs["B"]),
            "memory": f"one request at a time ({B.extra['batch']} rows)",
            "how": f"{B.rows_per_s * a.endpoint_concurrency:,.0f} rows/s with "
            f"{a.endpoint_concurrency} concurrent requests; {-(-n // B.extra['batch']):,} "
            f"requests carrying {b_gb:,.0f} GB of JSON",
        },
        {
            "option": "C",
            "approach": C.approach,
            "time": _hours(secs["C"]),
            "memory": "flat: one Arrow batch per task",
            "how": f"{core_rate(C):,.0f} rows per core-second x {a.cluster_cores} cores{slope}; "
            "the data stays on the platform",
        },
        {
            "option": "D",
            "approach": D.approach,
            "time": _hours(secs["D"]),
            "memory": f"{max(D.memory_slope(), 0) * n / 2**30:,.1f} GB in one process "
            f"(this machine has {ram_gb:,.0f} GB)",
            "how": f"{d_gb:,.1f} GB of CSV leaves the platform at {a.network_mb_s:g} MB/s; "
            f"one machine scores it at {D.rows / D.extra['local_seconds']:,.0f} rows/s",
        },
    ]
    frame = pd.DataFrame(rows)
    frame.attrs["assumptions"] = asdict(a)
    return frame


def rates_table(measured: dict[str, Measured]) -> pd.DataFrame:
    """Rows, seconds, rows/s and where the work ran, per approach."""
    rows = []
    for k in "ABCD":
        m = measured[k]
        rows.append(
            {
                "option": k,
                "approach": m.approach,
                "rows": m.rows,
                "seconds": round(m.seconds, 2),
                "rows_per_s": round(m.rows_per_s),
                "ran_in": m.where,
            }
        )
    return pd.DataFrame(rows)


def memory_table(measured: dict[str, Measured]) -> pd.DataFrame:
    """Peak memory at the two measured row counts, per approach, and its slope."""
    rows = []
    for k in "ABCD":
        m = measured[k]
        (n1, m1), (n2, m2) = sorted(m.memory_mb.items())[:2]
        rows.append(
            {
                "option": k,
                "measure": m.memory_measure,
                "rows_1": n1,
                "peak_mb_1": m1,
                "rows_2": n2,
                "peak_mb_2": m2,
                "bytes_per_row": round(m.memory_slope(), 1),
            }
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- 05: A against C


def compare(loop: LoopTiming, udf) -> pd.DataFrame:
    """Rows per second of the driver loop and of a ``spark_udf`` job (a
    :class:`recipes.batch.BatchResult`), and the speed-up of the UDF."""
    udf_rate = udf.rows / udf.seconds if udf.seconds else float("inf")
    frame = pd.DataFrame(
        [
            {
                "approach": "A: pyfunc.predict row by row on the driver",
                "rows": loop.rows,
                "seconds": round(loop.seconds, 3),
                "rows_per_s": round(loop.rows_per_second),
            },
            {
                "approach": "C: mlflow.pyfunc.spark_udf over the DataFrame",
                "rows": udf.rows,
                "seconds": udf.seconds,
                "rows_per_s": round(udf_rate),
            },
        ]
    )
    frame.attrs["speedup"] = round(udf_rate / loop.rows_per_second, 1)
    return frame


def plot_speed(speed: pd.DataFrame):
    """Horizontal bars of rows per second for each approach of :func:`compare` (log scale)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 2.6), layout="constrained")
    ax = fig.add_subplot()
    names = [
        a.split(" over ")[0].replace(" row by row on the driver", " per row")
        for a in speed["approach"]
    ]
    bars = ax.barh(names, speed["rows_per_s"], color=["tab:red", "tab:green"])
    ax.bar_label(bars, labels=[f"{v:,.0f} rows/s" for v in speed["rows_per_s"]], padding=3)
    ax.set_xscale("log")
    ax.set_xlim(speed["rows_per_s"].min() / 3, speed["rows_per_s"].max() * 20)  # room for labels
    ax.invert_yaxis()
    ax.set_xlabel("rows per second (log scale)")
    ax.set_title(f"exam question 3: spark_udf is {speed.attrs.get('speedup')}x faster")
    return fig
