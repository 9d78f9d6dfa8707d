"""Q16 · Model Monitoring: which drift statistic fits which feature type, and what a PSI of
0.2 means. KS, chi² and PSI on the same seeded samples, computed with the kit's monitoring
statistics (the ones Lakehouse Monitoring's tables show).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recipes.exam.questions import Option, Outcome, Question

N = 5000

SHIFT_SD = 0.45  # a mean shift whose PSI lands near 0.2


def _samples() -> dict:
    rng = np.random.default_rng(16)
    ref = rng.normal(20.0, 12.0, N)
    cur = rng.normal(20.0 + SHIFT_SD * 12.0, 12.0, N)
    plans = np.array(["basic", "plus", "pro"])
    ref_cat = rng.choice(plans, N, p=[0.5, 0.3, 0.2])
    cur_cat = rng.choice(plans, N, p=[0.38, 0.34, 0.28])
    return {"ref": ref, "cur": cur, "ref_cat": ref_cat, "cur_cat": cur_cat}


def _psi_and_moved(cur: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    """PSI on the reference's deciles, and the share of mass that changed bins (TV)."""
    from recipes.monitoring import stats

    h_cur, h_ref = stats.numeric_histogram(cur), stats.numeric_histogram(ref)
    cuts = stats.coarse_cuts(h_ref)
    c, r = stats.coarse_counts(h_cur, cuts), stats.coarse_counts(h_ref, cuts)
    return stats.psi(c, r), float(0.5 * np.abs(c / c.sum() - r / r.sum()).sum())


def scenario(lab) -> dict:
    def run() -> dict:
        from scipy import stats as sp

        from recipes.monitoring import stats

        s = _samples()
        ks_num = stats.ks_test(stats.numeric_histogram(s["cur"]), stats.numeric_histogram(s["ref"]))
        chi_cat = stats.compare_categorical(
            stats.categorical_histogram(s["cur_cat"]), stats.categorical_histogram(s["ref_cat"])
        )["chi_squared_test"]
        # KS needs an order; categories have none, so any coding is arbitrary
        codings = {
            "basic<plus<pro": {"basic": 0, "plus": 1, "pro": 2},
            "pro<basic<plus": {"pro": 0, "basic": 1, "plus": 2},
        }
        ks_cat = {
            name: float(
                sp.ks_2samp(
                    pd.Series(s["cur_cat"]).map(c), pd.Series(s["ref_cat"]).map(c)
                ).statistic
            )
            for name, c in codings.items()
        }
        # chi² on a numeric feature needs bins, and its answer moves with them
        chi_num = {}
        for k in (5, 40):
            edges = np.quantile(s["ref"], np.linspace(0, 1, k + 1))
            edges[0], edges[-1] = -np.inf, np.inf
            chi_num[k] = stats.chi_squared_test(
                np.histogram(s["cur"], edges)[0], np.histogram(s["ref"], edges)[0]
            )["statistic"]
        psi_shift, moved_shift = _psi_and_moved(s["cur"], s["ref"])
        # a second drift with about the same PSI: most rows of one decile move to the next
        lo, hi, to = np.quantile(s["ref"], [0.5, 0.6, 0.65])
        rng = np.random.default_rng(17)
        jump = s["ref"].copy()
        inside = np.flatnonzero((jump > lo) & (jump <= hi))
        moved = rng.choice(inside, int(0.86 * len(inside)), replace=False)
        jump[moved] = to
        psi_tail, moved_tail = _psi_and_moved(jump, s["ref"])
        return {
            "ks_numeric": ks_num,
            "chi2_categorical": chi_cat,
            "ks_categorical": ks_cat,
            "chi2_numeric_by_bins": chi_num,
            "psi_shift": psi_shift,
            "moved_shift": moved_shift,
            "psi_tail": psi_tail,
            "moved_tail": moved_tail,
            "psi_threshold": 0.2,
        }

    return lab.once("q16", run)


def _table(s: dict) -> pd.DataFrame:
    (c1, k1), (c2, k2) = s["ks_categorical"].items()
    (b1, x1), (b2, x2) = s["chi2_numeric_by_bins"].items()
    return pd.DataFrame(
        [
            {
                "test": "KS, numeric feature (mean +0.45 sd)",
                "value": s["ks_numeric"]["statistic"],
                "note": f"p={s['ks_numeric']['pvalue']:.1e}",
            },
            {
                "test": "chi², categorical feature",
                "value": s["chi2_categorical"]["statistic"],
                "note": f"p={s['chi2_categorical']['pvalue']:.1e}; no order needed",
            },
            {"test": f"KS, categorical coded {c1}", "value": k1, "note": "depends on the coding"},
            {"test": f"KS, categorical coded {c2}", "value": k2, "note": "same data, other coding"},
            {
                "test": f"chi², numeric in {b1} bins",
                "value": x1 / 100,
                "note": f"statistic/100 = {x1:.0f}/100",
            },
            {
                "test": f"chi², numeric in {b2} bins",
                "value": x2 / 100,
                "note": f"statistic/100 = {x2:.0f}/100",
            },
            {
                "test": "PSI, mean shift",
                "value": s["psi_shift"],
                "note": f"{s['moved_shift']:.0%} of rows changed decile",
            },
            {
                "test": "PSI, most of one decile moves up one",
                "value": s["psi_tail"],
                "note": f"{s['moved_tail']:.0%} of rows changed decile",
            },
        ]
    )


def _outcome(lab, fits_fn, happened_fn) -> Outcome:
    from recipes.exam import plots

    s = scenario(lab)
    table = _table(s)
    fig = lab.once("q16:figure", lambda: plots.drift_tests(table))
    return Outcome(happened_fn(s), fits=fits_fn(s), evidence=s, table=table, figure=fig)


def _ks_cat_text(s: dict) -> str:
    return ", ".join(f"{v:.3f} coded {k}" for k, v in s["ks_categorical"].items())


def q16_a(lab) -> Outcome:
    return _outcome(
        lab,
        lambda s: len({round(v, 6) for v in s["ks_categorical"].values()}) == 1,
        lambda s: (
            f"KS on the categorical feature gave {_ks_cat_text(s)}: the same data, "
            "two answers, because KS needs an order that categories do not have."
        ),
    )


def q16_b(lab) -> Outcome:
    def fits(s):
        return (
            s["ks_numeric"]["pvalue"] < 0.01
            and s["chi2_categorical"]["pvalue"] < 0.01
            and s["psi_shift"] >= 0.15
        )

    return _outcome(
        lab,
        fits,
        lambda s: (
            f"KS caught the numeric shift (D={s['ks_numeric']['statistic']:.3f}, "
            f"p={s['ks_numeric']['pvalue']:.1e}); chi² caught the categorical one "
            f"(p={s['chi2_categorical']['pvalue']:.1e}) whatever the coding; the shift's "
            f"PSI is {s['psi_shift']:.2f}, at the 0.2 line where monitors start calling a "
            "shift material."
        ),
    )


def q16_c(lab) -> Outcome:
    (b1, x1), (b2, x2) = scenario(lab)["chi2_numeric_by_bins"].items()
    return _outcome(
        lab,
        lambda s: False,
        lambda s: (
            f"chi² on the numeric feature needs bins first: {b1} bins gave {x1:.0f}, {b2} "
            f"gave {x2:.0f}; and KS on the categorical one gave {_ks_cat_text(s)}. Both "
            "pairings answer a question of your own coding, not of the data."
        ),
    )


def q16_d(lab) -> Outcome:
    return _outcome(
        lab,
        lambda s: abs(s["moved_shift"] - 0.2) < 0.02 and abs(s["moved_tail"] - 0.2) < 0.02,
        lambda s: (
            f"Two drifts with about the same PSI ({s['psi_shift']:.2f} and "
            f"{s['psi_tail']:.2f}) moved {s['moved_shift']:.0%} and {s['moved_tail']:.0%} "
            "of the rows to another decile: PSI weighs how far shares move, in log terms, "
            "not the fraction of rows that changed."
        ),
    )


QUESTION = Question(
    order=16,
    topic="Model Monitoring",
    text=(
        "Lakehouse Monitoring reports drift per column. Which pairing of statistic and feature "
        "type is right, and what does a PSI of 0.2 mean?"
    ),
    options=(
        Option(
            "A", "KS for every feature, numeric or categorical; PSI 0.2 is a mild change.", q16_a
        ),
        Option(
            "B",
            "KS for numeric features, chi² for categorical ones; PSI at or above 0.2 is "
            "the usual line for a significant shift.",
            q16_b,
        ),
        Option("C", "chi² for numeric features, KS for categorical ones.", q16_c),
        Option("D", "PSI 0.2 means 20% of the rows changed.", q16_d),
    ),
    answer="B",
    explanation=(
        "KS compares two cumulative distributions, which needs an order: right for numbers, "
        "meaningless for categories, whose coding is arbitrary. Chi² compares counts per "
        "category and needs no order; on a numeric feature it first needs bins, and its answer "
        "moves with them. PSI sums how far each bin's share moved, weighted by the log of the "
        "ratio: below 0.1 is usually read as stable, 0.1 to 0.2 as a moderate change, 0.2 and "
        "above as significant. It is not a share of rows: a few rows jumping far can score the "
        "same as many moving a little."
    ),
    needs=frozenset(),
)
