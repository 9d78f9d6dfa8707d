"""Q16 (drift statistics): every option run on seeded samples, no services."""

from __future__ import annotations

import pytest

from recipes.exam import BANK, LETTERS, find, run_option
from tests.exam.fakes import FakeLab


@pytest.fixture(scope="module")
def runs():
    lab = FakeLab()
    q = find(BANK, "Q16")
    return {k: run_option(lab, q, k) for k in LETTERS}


def test_a_ks_on_a_category_depends_on_its_coding(runs):
    ks = runs["A"].evidence["ks_categorical"]
    assert len(ks) == 2 and len({round(v, 4) for v in ks.values()}) == 2
    assert not runs["A"].fits


def test_b_ks_catches_the_numeric_shift_and_chi2_the_categorical_one(runs):
    ev = runs["B"].evidence
    assert ev["ks_numeric"]["pvalue"] < 1e-6 and ev["ks_numeric"]["statistic"] > 0.1
    assert ev["chi2_categorical"]["pvalue"] < 1e-6
    assert 0.15 <= ev["psi_shift"] <= 0.3 and runs["B"].fits


def test_c_chi2_on_a_number_moves_with_its_bins(runs):
    by_bins = runs["C"].evidence["chi2_numeric_by_bins"]
    assert set(by_bins) == {5, 40} and abs(by_bins[5] - by_bins[40]) > 10
    assert not runs["C"].fits


def test_d_the_same_psi_moves_different_shares_of_rows(runs):
    ev = runs["D"].evidence
    assert abs(ev["psi_shift"] - ev["psi_tail"]) < 0.06  # about the same PSI ...
    assert ev["moved_shift"] > 1.5 * ev["moved_tail"]  # ... for very different row shares
    assert not runs["D"].fits
    assert runs["D"].figure is not None and len(runs["D"].table) == 8
