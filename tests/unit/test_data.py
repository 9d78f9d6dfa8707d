"""Deterministic synthetic churn data."""

from __future__ import annotations

import pandas as pd
import pytest

from recipes import data
from recipes.errors import ParameterError


def test_same_seed_same_rows_other_seed_other_rows():
    a, b, c = data.make_churn(500, 1), data.make_churn(500, 1), data.make_churn(500, 2)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_columns_and_types_match_the_seed_request():
    df = data.make_churn(200)
    assert list(df.columns) == ["customer_id", *data.FEATURES, "churned"]
    assert {c: str(df[c].dtype) for c in data.FEATURES} == dict.fromkeys(data.FEATURES, "int64")
    assert set(df["churned"]) == {0, 1}
    assert df["customer_id"].is_unique
    assert set(data.seed_record()) == set(data.FEATURES)
    assert all(type(v) is int for v in data.seed_record().values())


FEATURE_FRAMES = {
    "make_churn": lambda: data.make_churn(300, 2),
    "drifted": lambda: data.make_churn(300, 2, drift=1.5, drifted_features=data.FEATURES),
    "live_traffic": lambda: data.live_traffic(300, seed=4, drift=1.0),
    "monitoring_traffic": lambda: data.monitoring_traffic(
        300, drift=1.0, drifted_features=data.FEATURES
    ),
}


@pytest.mark.parametrize("make", list(FEATURE_FRAMES))
def test_every_producer_gives_whole_number_features(make):
    """The signature says long: every frame of features is int64, and its request records
    carry JSON integers (Python ints), never floats such as 320.0."""
    frame = FEATURE_FRAMES[make]()
    assert {c: str(frame[c].dtype) for c in data.FEATURES} == dict.fromkeys(data.FEATURES, "int64")
    assert frame["avg_session_duration"].nunique() > 100  # whole seconds, still spread out
    records = data.request_records(frame)
    assert {type(r[c]) for r in records for c in data.FEATURES} == {int}


def test_label_is_learnable_and_balanced():
    df = data.make_churn(5000)
    assert 0.3 < df["churned"].mean() < 0.7
    # more days since the last visit -> more churn
    assert df.groupby(df["days_since_last_visit"] > 20)["churned"].mean().diff().iloc[-1] > 0.1


def test_drift_moves_only_the_named_features():
    base = data.make_churn(20000, 3)
    drifted = data.make_churn(20000, 3, drift=1.0, drifted_features=["days_since_last_visit"])
    shift = drifted[list(data.FEATURES)].mean() - base[list(data.FEATURES)].mean()
    assert shift["days_since_last_visit"] == pytest.approx(12.0, abs=1.0)
    assert shift["total_purchases"] == 0 and shift["avg_session_duration"] == 0


def test_live_traffic_and_late_labels_line_up():
    live, labels = data.live_traffic(100, seed=4), data.late_labels(100, seed=4)
    assert "churned" not in live.columns
    assert live["customer_id"].tolist() == labels["customer_id"].tolist()
    assert live["customer_id"].min() == 1_000_000


def test_split_is_deterministic_and_disjoint():
    df = data.make_churn(400)
    tr, te = data.split(df, 0.25, seed=1)
    tr2, te2 = data.split(df, 0.25, seed=1)
    assert len(te) == 100 and te.index.equals(te2.index)
    assert set(tr.index).isdisjoint(te.index)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: data.make_churn(0), "positive int"),
        (lambda: data.make_churn(10, drift=-1), ">= 0"),
        (lambda: data.make_churn(10, drift=1, drifted_features=["age"]), "Unknown drifted feature"),
        (lambda: data.split(data.make_churn(10), 1.5), "between 0 and 1"),
        (lambda: data.monitoring_traffic(1), "n_requests must be an int >= 2"),
        (lambda: data.parse_features("tenure, total_purchases"), "drifted features 'tenure,"),
        (lambda: data.parse_features(" , "), "give comma-separated names"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ParameterError, match=match):
        call()


def test_monitoring_traffic_has_a_normal_then_a_drifted_phase():
    frame = data.monitoring_traffic(2001, drift=1.5, drifted_features=("avg_session_duration",))
    normal, drifted = frame[frame["phase"] == "normal"], frame[frame["phase"] == "drifted"]
    assert (len(normal), len(drifted)) == (1000, 1001) and frame[data.KEY].is_unique
    shift = drifted["avg_session_duration"].mean() - normal["avg_session_duration"].mean()
    assert 1.2 * 90 < shift < 1.8 * 90  # about 1.5 sd of 90 s
    still = drifted["days_since_last_visit"].mean() - normal["days_since_last_visit"].mean()
    assert abs(still) < 2  # the other features keep their distribution
    assert frame.equals(
        data.monitoring_traffic(2001, drift=1.5, drifted_features=("avg_session_duration",))
    )
    records = data.request_records(frame, "drifted")
    assert len(records) == 1001 and list(records[0]) == [data.KEY, data.EVENT_TIME, *data.FEATURES]
    assert type(records[0][data.KEY]) is int  # JSON-ready, as requests sends it
    assert data.parse_features("days_since_last_visit, total_purchases") == (
        "days_since_last_visit",
        "total_purchases",
    )


def _lapsed_loyal_churn(frame):
    lapsed_loyal = (frame["days_since_last_visit"] > data.LAPSED_DAYS) & (
        frame["total_purchases"] >= data.LOYAL_PURCHASES
    )
    return frame.loc[lapsed_loyal, "churned"].mean()


def test_concept_drift_changes_the_rule_not_the_features():
    """``concept`` keeps the features byte for byte and makes lapsed loyal buyers churn: the
    rule a model trained on the old rows learned no longer holds."""
    old, new = data.make_churn(20000, 3), data.make_churn(20000, 3, concept=1.0)
    pd.testing.assert_frame_equal(old[list(data.FEATURES)], new[list(data.FEATURES)])
    assert _lapsed_loyal_churn(old) < 0.05 < 0.3 < _lapsed_loyal_churn(new)
    with pytest.raises(ParameterError, match="concept must be a number from 0 to 1, got 2"):
        data.make_churn(10, concept=2)


def test_monitoring_traffic_drifts_the_concept_with_the_features_and_not_at_zero():
    drifted = data.monitoring_traffic(8000, drift=1.0)
    calm = data.monitoring_traffic(8000, drift=0.0)
    by_phase = {name: _lapsed_loyal_churn(part) for name, part in drifted.groupby("phase")}
    assert by_phase["normal"] < 0.05 < 0.3 < by_phase["drifted"]
    assert max(_lapsed_loyal_churn(part) for _, part in calm.groupby("phase")) < 0.05
