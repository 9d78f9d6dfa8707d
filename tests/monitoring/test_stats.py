"""Drift statistics from histograms, checked against scipy on the raw samples (no Spark)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from scipy.spatial.distance import jensenshannon

from recipes.monitoring import bins, stats

SAMPLES = {
    "normal": lambda rng, n: rng.normal(300, 90, n),
    "integers": lambda rng, n: np.clip(np.rint(rng.normal(20, 12, n)), 0, None),
    "lognormal": lambda rng, n: rng.lognormal(3, 1, n),
    "around zero": lambda rng, n: rng.normal(0, 1, n),
    "negative": lambda rng, n: -rng.exponential(5, n),
}


def test_every_value_lies_inside_its_bin_and_bins_sort_as_values():
    rng = np.random.default_rng(0)
    x = np.concatenate(
        [
            rng.normal(0, 1, 5000),
            rng.lognormal(0, 5, 5000),
            -rng.lognormal(0, 5, 5000),
            [0.0, 1.0, -1.0, 1e-12, -1e-12, 1e9],
        ]
    )
    k = bins.numpy_bin(x)
    assert (bins.lower_edge(k) <= x + 1e-12 * np.abs(x)).all()
    assert (x <= bins.upper_edge(k) + 1e-12 * np.abs(x)).all()
    order = np.argsort(x, kind="stable")
    assert (np.diff(k[order]) >= 0).all()  # bin numbers sort as the values do
    assert k[np.abs(x) < bins.MIN_ABS].tolist() == [0, 0, 0]
    wide = bins.upper_edge(k) - bins.lower_edge(k)
    big = np.abs(x) > 1
    assert (wide[big] <= bins.REL * 1.0001 * np.abs(bins.upper_edge(k[big]))).all()


@pytest.mark.parametrize("kind", sorted(SAMPLES))
@pytest.mark.parametrize("shift", [0.0, 0.2, 1.0])
def test_ks_from_histograms_is_within_002_of_ks_2samp(kind, shift):
    rng = np.random.default_rng(7)
    ref = SAMPLES[kind](rng, 4000)
    cur = SAMPLES[kind](rng, 3000) + shift * np.std(ref)
    got = stats.ks_test(stats.numeric_histogram(cur), stats.numeric_histogram(ref))
    want = sps.ks_2samp(cur, ref)
    assert abs(got["statistic"] - want.statistic) <= 0.02
    assert got["statistic"] <= want.statistic + 1e-12  # read at bin edges: never above
    if want.pvalue > 1e-6:
        assert got["pvalue"] == pytest.approx(want.pvalue, rel=0.6, abs=0.02)
    else:
        assert got["pvalue"] < 1e-4


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_js_equals_scipy_jensenshannon_on_the_same_bins(kind):
    rng = np.random.default_rng(3)
    ref, cur = SAMPLES[kind](rng, 5000), SAMPLES[kind](rng, 2000) * 1.1
    h_cur, h_ref = stats.numeric_histogram(cur), stats.numeric_histogram(ref)
    found = stats.compare_numeric(h_cur, h_ref)
    edges = stats.coarse_edges(stats.coarse_cuts(h_ref))
    c, r = np.histogram(cur, edges)[0], np.histogram(ref, edges)[0]
    assert found["js_distance"] == pytest.approx(jensenshannon(c, r, base=2), rel=1e-9)
    assert found["population_stability_index"] == pytest.approx(stats.psi(c, r), rel=1e-9)
    assert 2 <= len(edges) - 1 <= stats.PSI_BINS


def test_the_reference_deciles_hold_a_tenth_each():
    ref = np.random.default_rng(1).normal(300, 90, 10_000)
    edges = stats.coarse_edges(stats.coarse_cuts(stats.numeric_histogram(ref)))
    shares = np.histogram(ref, edges)[0] / len(ref)
    assert len(shares) == 10 and np.allclose(shares, 0.1, atol=0.01)


def test_psi_matches_a_hand_computed_example():
    # shares a = (0.2, 0.3, 0.5), e = (0.25, 0.25, 0.5):
    # (0.2-0.25)ln(0.2/0.25) + (0.3-0.25)ln(0.3/0.25) + 0 = 0.011157 + 0.009116 = 0.020273
    assert stats.psi([20, 30, 50], [25, 25, 50]) == pytest.approx(0.0202733, abs=1e-6)
    # an empty bin is floored at 1e-4 of the mass instead of dividing by zero
    floored = (0.5 - 1e-4) * math.log(0.5 / 1e-4) + (1e-4 - 0.5) * math.log(1e-4 / 0.5)
    assert stats.psi([50, 0, 50], [50, 50, 0]) == pytest.approx(floored, rel=1e-9)
    assert stats.psi([5, 5], [5, 5]) == 0.0


def test_wasserstein_is_close_to_scipy_on_raw_samples():
    rng = np.random.default_rng(5)
    ref, cur = rng.normal(300, 90, 4000), rng.normal(330, 80, 3000)
    got = stats.wasserstein(stats.numeric_histogram(cur), stats.numeric_histogram(ref))
    assert got == pytest.approx(sps.wasserstein_distance(cur, ref), rel=0.01)


def test_chi_squared_equals_chi2_contingency():
    rng = np.random.default_rng(2)
    ref = rng.choice(["a", "b", "c", "d"], 3000, p=[0.4, 0.3, 0.2, 0.1])
    cur = rng.choice(["a", "b", "c", "e"], 1000, p=[0.3, 0.3, 0.3, 0.1])
    found = stats.compare_categorical(
        stats.categorical_histogram(cur), stats.categorical_histogram(ref)
    )
    cats = sorted(set(ref) | set(cur))
    table = np.array([[np.sum(cur == c) for c in cats], [np.sum(ref == c) for c in cats]])
    want = sps.chi2_contingency(table)
    assert found["chi_squared_test"]["statistic"] == pytest.approx(want.statistic, rel=1e-12)
    assert found["chi_squared_test"]["pvalue"] == pytest.approx(want.pvalue, rel=1e-9)
    p, q = table[0] / table[0].sum(), table[1] / table[1].sum()
    assert found["js_distance"] == pytest.approx(jensenshannon(p, q, base=2), rel=1e-12)
    assert found["tv_distance"] == pytest.approx(0.5 * np.abs(p - q).sum())
    assert found["l_infinity_distance"] == pytest.approx(np.abs(p - q).max())


def test_chi_squared_of_a_single_category_is_no_evidence():
    one = pd.DataFrame({"count": [10]}, index=pd.Index(["a"], name="bin"))
    assert stats.chi_squared_test([10], [7]) == {"statistic": 0.0, "pvalue": 1.0}
    assert stats.compare_categorical(one, one)["js_distance"] == 0.0
