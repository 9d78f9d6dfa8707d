"""Data-independent histogram bins: the same bin for a value whatever the data around it.

Drift statistics need the current and the reference data on the same bins. Fixed-width
bins need the range first (one more pass over the log) and break when a later window falls
outside it. These bins are log-spaced instead, as in DDSketch: bin ``k`` of a positive value
``x`` is ``floor(ln x / ln(1 + REL)) + K0``, so each bin spans a relative width of
``REL`` (0.5 %); negative values mirror it and ``|x| < MIN_ABS`` is bin 0. Bin numbers sort
as values do. The same expression runs in Spark (:func:`spark_bin`) and numpy
(:func:`numpy_bin`), so histograms of any windows, slices or tables can be summed or
compared bin by bin, and a statistic from them can be checked against scipy on raw samples.

A bin holds at most ``REL`` of its values' magnitude, so a KS statistic read off the
binned CDFs is off by at most the mass of one bin (well under 1 % for spread-out data).
"""

from __future__ import annotations

import math

import numpy as np

REL = 0.005  # relative width of a bin
MIN_ABS = 1e-9  # smaller magnitudes share bin 0
_LNB = math.log1p(REL)
K0 = -math.floor(math.log(MIN_ABS) / _LNB) + 1  # so every |x| >= MIN_ABS has k >= 1


def numpy_bin(values: np.ndarray) -> np.ndarray:
    """Bin numbers (int64) of ``values``; NaN has no bin, so drop it first."""
    x = np.asarray(values, dtype="float64")
    mag = np.abs(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.sign(x) * (np.floor(np.log(mag) / _LNB) + K0)
    return np.where(mag < MIN_ABS, 0, k).astype("int64")


def spark_bin(col):
    """The same bin number as a Spark Column (long); null stays null."""
    from pyspark.sql import functions as F

    mag = F.abs(col.cast("double"))
    k = F.floor(F.log(mag) / F.lit(_LNB)) + F.lit(K0)
    return F.when(mag < F.lit(MIN_ABS), F.lit(0)).otherwise(F.signum(col) * k).cast("long")


def lower_edge(k: np.ndarray) -> np.ndarray:
    """The smallest value of each bin (bins are [lo, hi) for k > 0, (lo, hi] for k < 0)."""
    k = np.asarray(k, dtype="int64")
    mag_lo = np.exp((np.abs(k) - K0) * _LNB)
    mag_hi = np.exp((np.abs(k) - K0 + 1) * _LNB)
    return np.where(k > 0, mag_lo, np.where(k < 0, -mag_hi, -MIN_ABS))


def upper_edge(k: np.ndarray) -> np.ndarray:
    """The largest value of each bin (see :func:`lower_edge`)."""
    return -lower_edge(-np.asarray(k, dtype="int64"))
