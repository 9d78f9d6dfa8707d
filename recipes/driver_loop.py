"""Exam question 3, measured: a row-by-row loop on the driver against ``spark_udf``.

Answer A of the question loads the model with ``mlflow.pyfunc.load_model`` and predicts one
row at a time on the driver; answer C is ``mlflow.pyfunc.spark_udf`` over a DataFrame.
:func:`driver_loop` times A on a sample, and :func:`compare` sets it against a
:class:`recipes.batch.BatchResult` (C on every row, including the write).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd

from recipes.errors import ParameterError


@dataclass(frozen=True)
class LoopTiming:
    """Rows scored one at a time on the driver, and how long that took."""

    rows: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else float("inf")


def driver_loop(model_uri: str, rows: pd.DataFrame) -> LoopTiming:
    """Predict ``rows`` one row per ``predict`` call on the driver (the model load is untimed).

    Args:
        model_uri: any ``models:/`` URI.
        rows: the feature rows (pandas), e.g. a sample of the batch input.
    """
    import mlflow.pyfunc

    if rows.empty:
        raise ParameterError("driver_loop needs at least one row: raise loop_sample.")
    model = mlflow.pyfunc.load_model(model_uri)
    t0 = time.perf_counter()
    for i in range(len(rows)):
        model.predict(rows.iloc[i : i + 1])
    return LoopTiming(len(rows), round(time.perf_counter() - t0, 3))


def compare(loop: LoopTiming, udf) -> pd.DataFrame:
    """Rows per second of the driver loop and of ``spark_udf`` (a ``BatchResult``), and the
    speed-up of the UDF."""
    udf_rate = udf.rows / udf.seconds if udf.seconds else float("inf")
    frame = pd.DataFrame(
        [
            {
                "approach": "A: pyfunc.predict row by row on the driver",
                "rows": loop.rows,
                "seconds": loop.seconds,
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
