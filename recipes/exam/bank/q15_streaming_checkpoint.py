"""Q15 · Streaming Inference: files land in a folder, a job scores them, the job restarts
once, and a third file lands in between. Does each row come out once?

Each option gets its own folders under the lab's home, so no run sees another's files.
"""

from __future__ import annotations

import shutil
import uuid

import pandas as pd

from recipes.exam.questions import Option, Outcome, Question

SCHEMA = (
    "customer_id long, total_purchases long, avg_session_duration long, days_since_last_visit long"
)


def _land(folder, k: int, rows: int) -> None:
    """File ``k`` of new customers (ids unique across files)."""
    from recipes.data import FEATURES, KEY, live_traffic

    df = live_traffic(rows, seed=100 + k)[[KEY, *FEATURES]].copy()
    df[KEY] = range(k * rows, (k + 1) * rows)
    folder.mkdir(parents=True, exist_ok=True)
    df.to_parquet(folder / f"part-{k}.parquet", index=False)


def _udf(lab):
    def make():
        import mlflow

        m = lab.registry()
        return mlflow.pyfunc.spark_udf(
            lab.spark(), f"models:/{m.name}/{m.v1}", env_manager="local", result_type="long"
        )

    return lab.once("q15:udf", make)


def _stream(lab, source, out, checkpoint) -> None:
    """``readStream`` → ``spark_udf`` → ``writeStream``, processing what is there, then stop."""
    from recipes.data import FEATURES

    spark = lab.spark()
    udf = _udf(lab)
    scored = (
        spark.readStream.schema(SCHEMA)
        .parquet(str(source))
        .withColumn("prediction", udf(*FEATURES))
    )
    writer = scored.writeStream.format("parquet").trigger(availableNow=True)
    if checkpoint is not None:
        writer = writer.option("checkpointLocation", str(checkpoint))
    writer.start(str(out)).awaitTermination(120)


def _batch(lab, source, out) -> None:
    """Read the whole folder, score it, append the predictions."""
    from recipes.data import FEATURES

    spark = lab.spark()
    udf = _udf(lab)
    df = spark.read.schema(SCHEMA).parquet(str(source)).withColumn("prediction", udf(*FEATURES))
    df.write.mode("append").parquet(str(out))


def _count(lab, out, landed: int) -> dict:
    spark = lab.spark()
    try:
        df = spark.read.parquet(str(out))
        rows = df.count()
        distinct = df.select("customer_id").distinct().count()
    except Exception:  # noqa: BLE001 - nothing was written
        rows = distinct = 0
    return {
        "landed": landed,
        "rows": rows,
        "distinct": distinct,
        "duplicates": rows - distinct,
        "missing": landed - distinct,
        "exactly_once": rows == distinct == landed,
    }


def _scenario(lab, key: str, run_once) -> dict:
    """Two files land, the job runs; a third lands, the job runs again."""

    def run() -> dict:
        base = lab.home / "stream" / f"{key}-{uuid.uuid4().hex[:6]}"
        shutil.rmtree(base, ignore_errors=True)
        source, out = base / "landing", base / "scored"
        n = lab.sizes.stream_rows
        _land(source, 0, n)
        _land(source, 1, n)
        error = None
        try:
            run_once(source, out, base, 1)
            after_first = _count(lab, out, 2 * n)
            _land(source, 2, n)
            run_once(source, out, base, 2)
        except Exception as exc:  # noqa: BLE001 - a refusal to start is the evidence
            text = " ".join(str(exc).split())
            error = f"{type(exc).__name__}: {text[:300]}"
            after_first = None
        counts = _count(lab, out, 3 * n)
        return {**counts, "after_first": after_first, "error": error, "folder": str(base)}

    return lab.once(f"q15:{key}", run)


def _outcome(s: dict, code: str) -> Outcome:
    if s["error"]:
        happened = f"The query did not start: {s['error']}"
    else:
        happened = (
            f"{s['landed']} rows landed in 3 files over two runs; the output holds "
            f"{s['rows']} rows for {s['distinct']} customers: {s['duplicates']} duplicated, "
            f"{s['missing']} missing."
        )
    table = pd.DataFrame(
        [{k: s[k] for k in ("landed", "rows", "distinct", "duplicates", "missing")}]
    )
    return Outcome(
        happened,
        fits=s["exactly_once"] and not s["error"],
        evidence=s,
        code=code,
        table=table,
        error=s["error"],
    )


def q15_a(lab) -> Outcome:
    s = _scenario(lab, "batch", lambda src, out, base, k: _batch(lab, src, out))
    return _outcome(
        s, 'spark.read.parquet(landing).withColumn("prediction", udf(...)).write.mode("append")'
    )


def q15_b(lab) -> Outcome:
    s = _scenario(
        lab, "checkpoint", lambda src, out, base, k: _stream(lab, src, out, base / "checkpoint")
    )
    return _outcome(
        s,
        (
            'spark.readStream...withColumn("prediction", udf(...)).writeStream'
            '.option("checkpointLocation", cp).trigger(availableNow=True).start(out)'
        ),
    )


def q15_c(lab) -> Outcome:
    s = _scenario(
        lab, "fresh", lambda src, out, base, k: _stream(lab, src, out, base / f"checkpoint-{k}")
    )
    return _outcome(
        s, 'writeStream.option("checkpointLocation", f"cp-{run}")  # a new one each run'
    )


def q15_d(lab) -> Outcome:
    s = _scenario(lab, "none", lambda src, out, base, k: _stream(lab, src, out, None))
    return _outcome(s, 'writeStream.format("parquet").start(out)  # no checkpointLocation')


QUESTION = Question(
    order=15,
    topic="Streaming Inference",
    text=(
        "Files of new customers land in a folder all day. Which job scores every row exactly "
        "once, even when the job restarts?"
    ),
    options=(
        Option(
            "A",
            "A batch job that reads the whole folder each run and appends its predictions.",
            q15_a,
        ),
        Option(
            "B",
            "readStream + spark_udf + writeStream with a checkpointLocation, restarted "
            "on the same checkpoint.",
            q15_b,
        ),
        Option("C", "The same stream, with a new checkpoint location for each run.", q15_c),
        Option("D", "The same stream, without a checkpoint location.", q15_d),
    ),
    answer="B",
    explanation=(
        "Structured Streaming remembers which files it has processed, and which output it has "
        "committed, in the checkpoint. Restarted on the same checkpoint, a query picks up only "
        "the new files. A batch job rescans everything each run, so appending duplicates the "
        "earlier rows. A new checkpoint forgets the progress while the file sink's own log in "
        "the output folder remembers its committed batch numbers: the new query's first batch "
        "is taken as already written, and the new file's rows are silently lost. Without any "
        "checkpoint a file sink refuses to start. `trigger(availableNow=True)` runs the stream "
        "as a scheduled job: everything new, then stop."
    ),
    needs=frozenset({"registry", "spark"}),
)
