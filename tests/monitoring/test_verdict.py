"""Every branch of the verdict, and what carry_out does with it (registry: sqlite)."""

from __future__ import annotations

import pandas as pd
import pytest

from recipes import registry
from recipes.errors import ParameterError
from recipes.monitoring import ALL, Thresholds, Verdict, carry_out, verdict
from recipes.monitoring.verdict import drifted_columns

W1 = {"start": pd.Timestamp("2026-11-26 08:00"), "end": pd.Timestamp("2026-11-26 09:00")}
W2 = {"start": pd.Timestamp("2026-11-26 09:00"), "end": pd.Timestamp("2026-11-26 10:00")}


def _num(column, ks, p, psi=0.0, window=W2, drift_type="BASELINE", model_id=ALL):
    return {
        "window": window,
        "model_id": model_id,
        "column_name": column,
        "drift_type": drift_type,
        "ks_test": {"statistic": ks, "pvalue": p},
        "chi_squared_test": None,
        "population_stability_index": psi,
        "js_distance": 0.0,
    }


def _cat(column, p, js, window=W2, drift_type="BASELINE"):
    return {
        "window": window,
        "model_id": ALL,
        "column_name": column,
        "drift_type": drift_type,
        "ks_test": None,
        "chi_squared_test": {"statistic": 9.0, "pvalue": p},
        "population_stability_index": None,
        "js_distance": js,
    }


def _quality(champion=(0.80, 1800), challenger=(0.80, 600)):
    return pd.DataFrame(
        [
            {
                "model_id": ALL,
                "labeled_rows": champion[1] + challenger[1],
                "accuracy": 0.8,
                "rmse": 1.0,
            },
            {
                "model_id": "1",
                "labeled_rows": champion[1],
                "accuracy": champion[0],
                "rmse": champion[0],
            },
            {
                "model_id": "2",
                "labeled_rows": challenger[1],
                "accuracy": challenger[0],
                "rmse": challenger[0],
            },
        ]
    )


CALM = pd.DataFrame([_num("a", 0.02, 0.5), _num("b", 0.03, 0.2)])


def test_ok_when_nothing_drifts_and_quality_is_even():
    v = verdict(CALM, _quality(), champion=1, challenger="2")
    assert (v.decision, v.drifted) == ("ok", [])
    assert "no significant difference" in v.reason and v.quality["gain"] == 0


@pytest.mark.parametrize(
    ("row", "drifts"),
    [
        (_num("b", 0.15, 1e-9), True),  # significant and KS >= 0.1
        (_num("b", 0.05, 1e-9, psi=0.25), True),  # significant and PSI >= 0.2
        (_num("b", 0.05, 1e-9, psi=0.05), False),  # significant but small: no alarm
        (_num("b", 0.30, 0.02), False),  # large but not significant at alpha 0.01
    ],
)
def test_numeric_drift_needs_significance_and_size(row, drifts):
    v = verdict(pd.DataFrame([_num("a", 0.02, 0.5), row]))
    assert v.decision == ("drift" if drifts else "ok")
    assert v.drifted == (["b"] if drifts else [])


def test_categorical_drift_uses_chi2_and_js_and_prediction_alone_is_not_input_drift():
    pred = verdict(pd.DataFrame([_num("a", 0.02, 0.5), _cat("prediction", 1e-12, 0.3)]))
    assert pred.decision == "ok" and pred.drifted == ["prediction"]
    plan = verdict(pd.DataFrame([_cat("plan", 1e-12, 0.3), _cat("prediction", 1e-12, 0.3)]))
    assert plan.decision == "drift" and plan.drifted == ["plan", "prediction"]
    assert verdict(pd.DataFrame([_cat("plan", 1e-12, 0.05)])).decision == "ok"


def test_only_the_latest_window_and_baseline_rows_decide():
    old = _num("a", 0.5, 1e-20, window=W1)
    consecutive = _num("a", 0.5, 1e-20, drift_type="CONSECUTIVE")
    per_version = _num("a", 0.5, 1e-20, model_id="2")
    rows = pd.DataFrame([old, consecutive, per_version, _num("a", 0.02, 0.5)])
    assert verdict(rows).decision == "ok"
    # with no baseline at all, CONSECUTIVE rows decide
    assert verdict(pd.DataFrame([consecutive])).decision == "drift"
    assert drifted_columns(pd.DataFrame()).empty


def test_a_clearly_better_challenger_is_promoted_even_under_drift():
    drifting = pd.DataFrame([_num("a", 0.4, 1e-30)])
    v = verdict(drifting, _quality((0.70, 1800), (0.85, 600)), champion=1, challenger=2)
    assert v.decision == "promote_challenger" and v.drifted == ["a"]
    assert v.quality["gain"] == pytest.approx(0.15) and v.quality["pvalue"] < 0.01
    assert "challenger v2 accuracy 0.850 vs champion v1 0.700" in v.reason


def test_a_clearly_worse_challenger_is_rolled_back():
    v = verdict(CALM, _quality((0.80, 1800), (0.60, 600)), champion=1, challenger=2)
    assert v.decision == "rollback" and v.quality["gain"] == pytest.approx(-0.2)


@pytest.mark.parametrize(
    ("champion", "challenger", "why"),
    [
        ((0.70, 1800), (0.85, 50), "too few labeled rows to compare (v2 has 50, need 500"),
        ((0.80, 1800), (0.81, 600), "no significant difference"),  # under the margin
        ((0.80, 600), (0.84, 600), "no significant difference"),  # z-test fails
    ],
)
def test_quality_does_not_decide_on_thin_evidence(champion, challenger, why):
    v = verdict(CALM, _quality(champion, challenger), champion=1, challenger=2)
    assert v.decision == "ok" and why in v.reason


def _split_quality(hits_1, hits_2, to_challenger):
    """The quality table of one A/B split: each version scored on the rows routed to it."""
    rows = [
        (m, hits[mask])
        for m, hits, mask in (("1", hits_1, ~to_challenger), ("2", hits_2, to_challenger))
    ]
    return pd.DataFrame(
        [{"model_id": m, "labeled_rows": len(h), "accuracy": h.mean()} for m, h in rows]
    )


def _notebook_hits(models, drift: float = 1.0):
    """Per model, whether it gets each of 06's default 2,000 requests right."""
    from recipes import data

    requests = data.monitoring_traffic(2000, drift)
    x, y = requests[list(data.FEATURES)].astype("float64"), requests[data.LABEL].to_numpy()
    return [m.predict(x) == y for m in models]


def test_two_equally_good_versions_are_never_promoted_on_the_notebooks_traffic():
    """Two equally good versions (the baseline fitted on two samples), 2,000 requests, 90/10:
    over 300 random splits quality never decides, and the drift-free verdict stays ok."""
    import numpy as np

    from recipes import data, train

    models = [train.fit(data.make_churn(5000, s), kind="baseline") for s in (0, 1)]
    hits = _notebook_hits(models, drift=0.0)
    assert abs(hits[0].mean() - hits[1].mean()) < 0.01  # equally good on this traffic
    rng = np.random.default_rng(0)
    splits = [rng.random(len(hits[0])) < 0.10 for _ in range(300)]
    decided = [
        verdict(CALM, _split_quality(*hits, s), champion=1, challenger=2).decision for s in splits
    ]
    assert set(decided) == {"ok"}
    # the floor of 100 labels the verdict used to have lets the z-test's alpha through
    loose = Thresholds(min_labeled=100)
    fooled = [
        verdict(CALM, _split_quality(*hits, s), champion=1, challenger=2, thresholds=loose).decision
        for s in splits
    ]
    assert set(fooled) > {"ok"}


@pytest.mark.slow
def test_the_notebooks_challenger_is_promoted_in_299_of_300_replays():
    """06's default: v1 baseline as champion, v2 challenger, 2,000 requests (half drifted),
    50/50. Replaying 300 seeded splits, the default thresholds promote the challenger in at
    least 299, and the same replays with the roles swapped roll back as reliably."""
    import numpy as np

    from recipes import data, train

    training = data.make_churn(5000, 0)
    v1, v2 = (train.fit(training, kind=k) for k in ("baseline", "challenger"))
    hits = _notebook_hits([v1, v2])
    rng = np.random.default_rng(0)
    splits = [rng.random(len(hits[0])) < 0.50 for _ in range(300)]
    promoted = [
        verdict(CALM, _split_quality(*hits, s), champion=1, challenger=2).decision for s in splits
    ]
    assert promoted.count("promote_challenger") >= 299, promoted
    swapped = [
        verdict(CALM, _split_quality(hits[1], hits[0], s), champion=1, challenger=2).decision
        for s in splits
    ]
    assert swapped.count("rollback") >= 299, swapped


def test_lower_is_better_metrics_and_bad_metric_names():
    t = Thresholds(metric="rmse", margin=0.1)
    better = verdict(CALM, _quality((2.0, 500), (1.5, 500)), champion=1, challenger=2, thresholds=t)
    assert better.decision == "promote_challenger" and better.quality["gain"] == pytest.approx(0.25)
    worse = verdict(CALM, _quality((2.0, 500), (2.5, 500)), champion=1, challenger=2, thresholds=t)
    assert worse.decision == "rollback"
    with pytest.raises(ParameterError, match="metric 'auc' is not in the quality table"):
        verdict(CALM, _quality(), champion=1, challenger=2, thresholds=Thresholds(metric="auc"))
    assert "no labels" in verdict(CALM, _quality()).reason  # no champion/challenger named


def test_carry_out_ok_and_drift(trained):
    ok = carry_out(Verdict("ok", "fine", champion="1"), None, "ep", trained)
    assert not ok.changed and "Nothing to do" in ok.did
    drift = Verdict("drift", "x", drifted=["days_since_last_visit", "prediction"], champion="1")
    dry = carry_out(drift, None, "ep", trained, dry_run=True)
    assert not dry.changed and dry.did.startswith("Would have tagged")
    assert "mdk.monitor.verdict" not in registry.require_version(trained, 1).tags
    done = carry_out(drift, None, "ep", trained)
    tags = registry.require_version(trained, 1).tags
    assert done.changed and tags["mdk.monitor.verdict"] == "drift"
    assert tags["mdk.monitor.drifted"] == "days_since_last_visit,prediction"
    with pytest.raises(ParameterError, match="Unknown decision"):
        carry_out(Verdict("panic", "x"), None, "ep", trained)


def test_carry_out_dry_runs_traffic_moves_without_touching_anything(trained):
    promote = carry_out(
        Verdict("promote_challenger", "x", champion="1", challenger="2"),
        None,
        "ep",
        trained,
        dry_run=True,
    )
    assert not promote.changed and "set @champion on churn-predictor v2" in promote.did
    back = carry_out(
        Verdict("rollback", "x", champion="1", challenger="2"), None, "ep", trained, dry_run=True
    )
    assert "{'champion': 100, 'challenger': 0}" in back.did
    assert registry.aliases(trained) == {}
