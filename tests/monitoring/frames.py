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


def labeled(windows: list[dict], *, seed: int = 0, n: int = 400) -> pd.DataFrame:
    """:func:`scored` with a real label: ``churned`` (NULL for every 9th row, not labeled
    yet), predictions right about 85 % of the time for version 1 and 70 % for version 2, and
    a ``plan`` (``gold`` for every 3rd customer, else ``basic``)."""
    frame = scored(windows, seed=seed, n=n)
    rng = np.random.default_rng(seed + 1000)
    flip = rng.random(len(frame)) < np.where(frame["model_version"] == "2", 0.30, 0.15)
    frame["prediction"] = np.where(flip, 1 - frame[data.LABEL], frame[data.LABEL])
    frame["plan"] = np.where(frame[data.KEY] % 3 == 0, "gold", "basic")
    frame[data.LABEL] = frame[data.LABEL].astype("Int64")
    frame.loc[frame.index % 9 == 0, data.LABEL] = pd.NA
    return frame
