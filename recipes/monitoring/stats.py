"""Drift statistics from aggregated histograms (scipy on the aggregates, never raw rows).

A numeric histogram is a DataFrame indexed by bin number (:mod:`.bins`) with ``count`` and
``sum`` (the values' sum in that bin, so each bin's mean is known); a categorical one is
indexed by value with ``count``. :func:`compare_numeric` and :func:`compare_categorical`
return the Databricks-like statistics of a current histogram against a reference.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from recipes.monitoring import bins

PSI_BINS = 10  # PSI and JS use the reference's deciles, the usual choice
PSI_FLOOR = 1e-4  # share given to an empty bin so PSI stays finite


def numeric_histogram(values) -> pd.DataFrame:
    """The histogram of raw ``values`` (NaN dropped), as Spark would aggregate it."""
    x = np.asarray(values, dtype="float64")
    x = x[~np.isnan(x)]
    frame = pd.DataFrame({"bin": bins.numpy_bin(x), "value": x})
    out = frame.groupby("bin")["value"].agg(count="count", sum="sum")
    return out.astype({"count": "int64"})


def categorical_histogram(values) -> pd.DataFrame:
    """The histogram of raw categorical ``values`` (None dropped)."""
    s = pd.Series(values).dropna().astype(str)
    return s.value_counts().rename("count").rename_axis("bin").to_frame()


def _aligned(cur: pd.DataFrame, ref: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    keys = cur.index.union(ref.index).sort_values()
    c = cur["count"].reindex(keys, fill_value=0).to_numpy("float64")
    r = ref["count"].reindex(keys, fill_value=0).to_numpy("float64")
    return keys.to_numpy(), c, r


def ks_test(cur: pd.DataFrame, ref: pd.DataFrame) -> dict[str, float]:
    """Two-sample KS statistic from the binned CDFs, and its asymptotic p-value.

    The CDFs are exact at every bin edge, so the statistic is at most one bin's mass
    below the one on raw samples. The p-value is scipy's ``kstwo`` at the effective size
    ``n*m/(n+m)``, as ``ks_2samp(method="asymp")`` computes it.
    """
    from scipy import stats

    _, c, r = _aligned(cur, ref)
    n, m = c.sum(), r.sum()
    d = float(np.max(np.abs(np.cumsum(c) / n - np.cumsum(r) / m)))
    en = round(n * m / (n + m))
    return {"statistic": d, "pvalue": float(np.clip(stats.kstwo.sf(d, en), 0.0, 1.0))}


def coarse_cuts(ref: pd.DataFrame, n_bins: int = PSI_BINS) -> np.ndarray:
    """Bin numbers after which the reference's quantiles ``1/n_bins … (n-1)/n_bins`` cut.

    Ties (integer data) can merge quantiles, so there may be fewer than ``n_bins`` groups.
    """
    ref = ref.sort_index()
    share = ref["count"].cumsum().to_numpy("float64") / ref["count"].sum()
    qs = np.arange(1, n_bins) / n_bins
    idx = np.searchsorted(share, qs - 1e-12, side="left")
    idx = idx[idx < len(ref) - 1]  # a cut after the last bin splits nothing
    return np.unique(ref.index.to_numpy()[idx])


def coarse_edges(cuts: np.ndarray) -> np.ndarray:
    """Value edges of the coarse bins: ``-inf``, each cut bin's upper edge, ``+inf``."""
    return np.concatenate([[-np.inf], bins.upper_edge(cuts), [np.inf]])


def coarse_counts(hist: pd.DataFrame, cuts: np.ndarray) -> np.ndarray:
    """``hist`` summed into the groups that ``cuts`` make (see :func:`coarse_cuts`)."""
    group = np.searchsorted(cuts, hist.index.to_numpy(), side="left")
    return np.bincount(group, weights=hist["count"].to_numpy("float64"), minlength=len(cuts) + 1)


def psi(cur_counts, ref_counts, floor: float = PSI_FLOOR) -> float:
    """Population stability index: ``sum((a - e) * ln(a / e))`` over shares ``a`` (current)
    and ``e`` (reference), each floored at ``floor``."""
    a = np.asarray(cur_counts, dtype="float64")
    e = np.asarray(ref_counts, dtype="float64")
    a = np.maximum(a / a.sum(), floor)
    e = np.maximum(e / e.sum(), floor)
    return float(np.sum((a - e) * np.log(a / e)))


def js_distance(cur_counts, ref_counts) -> float:
    """Jensen–Shannon distance (base 2, so 0 … 1) between two count vectors."""
    from scipy.spatial.distance import jensenshannon

    return float(
        jensenshannon(np.asarray(cur_counts, float), np.asarray(ref_counts, float), base=2)
    )


def wasserstein(cur: pd.DataFrame, ref: pd.DataFrame) -> float:
    """Earth mover's distance, each bin's mass placed at the mean of its values."""
    from scipy import stats

    return float(
        stats.wasserstein_distance(
            cur["sum"] / cur["count"], ref["sum"] / ref["count"], cur["count"], ref["count"]
        )
    )


def compare_numeric(cur: pd.DataFrame, ref: pd.DataFrame, n_bins: int = PSI_BINS) -> dict[str, Any]:
    """KS (statistic, p-value), PSI and JS on the reference's deciles, and Wasserstein."""
    cuts = coarse_cuts(ref, n_bins)
    c, r = coarse_counts(cur, cuts), coarse_counts(ref, cuts)
    return {
        "ks_test": ks_test(cur, ref),
        "chi_squared_test": None,
        "population_stability_index": psi(c, r),
        "js_distance": js_distance(c, r),
        "wasserstein_distance": wasserstein(cur, ref),
        "tv_distance": None,
        "l_infinity_distance": None,
    }


def chi_squared_test(cur_counts, ref_counts) -> dict[str, float]:
    """``scipy.stats.chi2_contingency`` on the 2×k table of counts (k >= 2 categories)."""
    from scipy import stats

    table = np.vstack([cur_counts, ref_counts]).astype("float64")
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return {"statistic": 0.0, "pvalue": 1.0}
    res = stats.chi2_contingency(table)
    return {"statistic": float(res.statistic), "pvalue": float(res.pvalue)}


def compare_categorical(cur: pd.DataFrame, ref: pd.DataFrame) -> dict[str, Any]:
    """Chi² (statistic, p-value), JS, total-variation and L∞ distances between shares."""
    _, c, r = _aligned(cur, ref)
    p, q = c / c.sum(), r / r.sum()
    return {
        "ks_test": None,
        "chi_squared_test": chi_squared_test(c, r),
        "population_stability_index": None,
        "js_distance": js_distance(c, r),
        "wasserstein_distance": None,
        "tv_distance": float(0.5 * np.abs(p - q).sum()),
        "l_infinity_distance": float(np.abs(p - q).max()),
    }
