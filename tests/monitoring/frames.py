"""Scored-record DataFrames shaped like unpack_inference_table's output, for tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recipes import data

HOUR0 = pd.Timestamp("2026-11-26 08:00:00")


def scored(windows: list[dict], *, seed: int = 0, n: int = 1500) -> pd.DataFrame:
    """One hour per entry of ``windows`` (kwargs of make_churn: ``drift``, ...), ``n`` rows
    each, every 5th row answered by version 2; ``prediction`` = the label."""
    parts = []
    for h, kw in enumerate(windows):
        df = data.make_churn(n, seed + h, id_offset=h * 100_000, **kw)
        seconds = h * 3600 + np.linspace(0, 3599, n)
        df["timestamp"] = (HOUR0 + pd.to_timedelta(seconds, unit="s")).floor("ms")
        df["model_version"] = np.where(np.arange(n) % 5 == 0, "2", "1")
        df["prediction"] = df[data.LABEL]
        parts.append(df)
    return pd.concat(parts, ignore_index=True)


def spark_frame(spark, frame: pd.DataFrame):
    cols = ["timestamp", "model_version", data.KEY, *data.FEATURES, "prediction"]
    return spark.createDataFrame(frame[[c for c in cols if c in frame]])
