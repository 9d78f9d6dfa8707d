"""Deterministic synthetic churn data: training, live traffic, drifted traffic, late labels.

The features are the seed's, all whole numbers (int64), as the seed's request sends them:
``total_purchases`` and ``days_since_last_visit`` are counts, ``avg_session_duration`` is
whole seconds. The models' signature declares them ``long`` (:func:`recipes.train.signature`). The label ``churned`` follows a fixed rule with
thresholds and an interaction, plus a little noise (see :func:`churn_logit`): a customer
whose visits have lapsed churns unless they are a loyal buyer, and among recent visitors
short sessions signal churn. A linear model cannot draw those corners, so the v1 baseline
(logistic regression) stays near 0.81 accuracy while gradient-boosted trees (v2) reach about
0.91: a gap the monitor can see on live traffic. The same ``seed`` always gives the same rows.

Drift comes in two kinds, as in production. ``drift`` shifts features (covariate drift: the
inputs change, the rule does not). ``concept`` changes the rule itself (concept drift):
loyalty stops protecting lapsed customers, so loyal buyers who stopped visiting churn as the
others do. Only concept drift gives a model trained on recent rows something to learn that
the registered versions lack; :func:`monitoring_traffic` puts both in its drifted phase.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from recipes.errors import ParameterError
from recipes.granularity import window_start

FEATURES = ("total_purchases", "avg_session_duration", "days_since_last_visit")
KEY = "customer_id"
LABEL = "churned"

# Baseline distribution of each feature: (mean, standard deviation).
_BASE = {
    "total_purchases": (12.0, 6.0),
    "avg_session_duration": (300.0, 90.0),
    "days_since_last_visit": (20.0, 12.0),
}


# The churn rule's thresholds: lapsed visits, a loyal buyer, a short session.
LAPSED_DAYS = 21
LOYAL_PURCHASES = 14
SHORT_SESSION_SECONDS = 270


def churn_logit(purchases, duration, days, concept: float = 0.0) -> np.ndarray:
    """The log-odds of churn: thresholds and an interaction a linear model cannot draw.

    ``concept`` (0 to 1) is concept drift: loyalty stops protecting customers who lapsed. At
    1 a lapsed loyal buyer churns 40 % of the time (88 % with short sessions), against 0.5 %
    (5 %) under the training rule.
    """
    lapsed = np.asarray(days) > LAPSED_DAYS
    loyal = np.asarray(purchases) >= LOYAL_PURCHASES
    short = np.asarray(duration) < SHORT_SESSION_SECONDS
    score = (
        -2.2
        + 3.6 * (lapsed & ~loyal)
        + 2.2 * (short & ~lapsed & ~loyal)
        - 0.5 * loyal
        + 1.2 * (lapsed & loyal & short)
        + 2.5 * concept * (lapsed & loyal)
    )
    return 2.0 * score


def _check(n_rows: int, drift: float, concept: float = 0.0) -> None:
    if not isinstance(n_rows, int) or isinstance(n_rows, bool) or n_rows < 1:
        raise ParameterError(f"n_rows must be a positive int, got {n_rows!r}.")
    if not isinstance(drift, int | float) or drift < 0:
        raise ParameterError(
            f"drift must be a number >= 0 (in standard deviations), got {drift!r}."
        )
    if not isinstance(concept, int | float) or not 0 <= concept <= 1:
        raise ParameterError(f"concept must be a number from 0 to 1, got {concept!r}.")


def make_churn(
    n_rows: int = 5000,
    seed: int = 0,
    *,
    drift: float = 0.0,
    drifted_features: Iterable[str] = ("days_since_last_visit",),
    id_offset: int = 0,
    concept: float = 0.0,
) -> pd.DataFrame:
    """Make a churn data set.

    Args:
        n_rows: number of customers.
        seed: random seed; the same seed gives the same rows.
        drift: shift, in standard deviations, added to each of ``drifted_features``.
            0 is the training distribution; 1.5 is clearly drifted.
        drifted_features: which features the drift shifts.
        id_offset: first ``customer_id`` (keeps ids of several batches apart).
        concept: concept drift, 0 to 1 (see :func:`churn_logit`); 0 is the training rule.

    Returns:
        Columns ``customer_id`` (int64), the three features (int64, whole numbers) and
        ``churned`` (int64, 0/1).
    """
    _check(n_rows, drift, concept)
    drifted = set(drifted_features)
    unknown = drifted - set(FEATURES)
    if unknown:
        raise ParameterError(
            f"Unknown drifted feature(s) {sorted(unknown)}: use any of {', '.join(FEATURES)}."
        )
    rng = np.random.default_rng(seed)
    cols: dict[str, np.ndarray] = {}
    for name, (mean, std) in _BASE.items():
        shift = drift * std if name in drifted else 0.0
        cols[name] = rng.normal(mean + shift, std, n_rows)
    purchases = np.clip(np.rint(cols["total_purchases"]), 0, None).astype("int64")
    duration = np.clip(np.rint(cols["avg_session_duration"]), 5, None).astype("int64")
    days = np.clip(np.rint(cols["days_since_last_visit"]), 0, None).astype("int64")
    logit = churn_logit(purchases, duration, days, concept)
    churned = (rng.random(n_rows) < 1.0 / (1.0 + np.exp(-logit))).astype("int64")
    return pd.DataFrame(
        {
            KEY: np.arange(id_offset, id_offset + n_rows, dtype="int64"),
            "total_purchases": purchases,
            "avg_session_duration": duration,
            "days_since_last_visit": days,
            LABEL: churned,
        }
    )


def split(df: pd.DataFrame, test_fraction: float = 0.25, seed: int = 0):
    """Split into (train, test) deterministically."""
    if not 0 < test_fraction < 1:
        raise ParameterError(f"test_fraction must be between 0 and 1, got {test_fraction!r}.")
    test = df.sample(frac=test_fraction, random_state=seed)
    return df.drop(test.index), test


def live_traffic(n_rows: int, seed: int = 1, drift: float = 0.0, **kwargs) -> pd.DataFrame:
    """Requests as a serving endpoint would see them: keys and features, no label."""
    df = make_churn(n_rows, seed, drift=drift, id_offset=1_000_000, **kwargs)
    return df.drop(columns=[LABEL])


def late_labels(n_rows: int, seed: int = 1, drift: float = 0.0, **kwargs) -> pd.DataFrame:
    """The labels for :func:`live_traffic` with the same arguments, as they arrive later."""
    df = make_churn(n_rows, seed, drift=drift, id_offset=1_000_000, **kwargs)
    return df[[KEY, LABEL]]


def parse_features(text: str) -> tuple[str, ...]:
    """Comma-separated feature names (as a notebook parameter gives them), checked."""
    names = tuple(n.strip() for n in str(text).split(",") if n.strip())
    unknown = [n for n in names if n not in FEATURES]
    if not names or unknown:
        raise ParameterError(
            f"drifted features {text!r}: give comma-separated names from {', '.join(FEATURES)}."
        )
    return names


EVENT_TIME = "transaction_ts"  # when a request's event happened: sent with it, ignored by the model


def event_windows(
    granularity: str, count: int = 2, *, before: datetime | None = None
) -> list[tuple[datetime, datetime]]:
    """The last ``count`` whole monitoring windows of ``granularity`` that end by ``before``
    (default now), oldest first, as ``(start, end)`` in UTC.

    Raises:
        ParameterError: a granularity Databricks does not accept.
    """
    before = before or datetime.now(UTC)
    if before.tzinfo is None:
        before = before.replace(tzinfo=UTC)
    end = window_start(before.astimezone(UTC), granularity)
    out = []
    for _ in range(count):
        start = window_start(end - timedelta(microseconds=1), granularity)
        out.insert(0, (start, end))
        end = start
    return out


def monitoring_traffic(
    n_requests: int,
    drift: float = 0.0,
    drifted_features: Iterable[str] = ("days_since_last_visit",),
    seed: int = 7,
    *,
    granularity: str = "1 hour",
    before: datetime | None = None,
) -> pd.DataFrame:
    """Two phases of requests with their labels and event times, for the monitoring notebook.

    The first half (``phase == "normal"``) follows the training distribution; the second
    (``"drifted"``) has ``drifted_features`` shifted by ``drift`` standard deviations and,
    with it, concept drift of ``min(drift, 1)`` (:func:`churn_logit`): from ``drift=1`` on,
    lapsed loyal buyers churn too, which no registered version has seen. ``drift=0`` is
    neither. Each
    row has ``customer_id`` (unique across both phases), :data:`EVENT_TIME` (when the event
    happened, UTC: the normal phase spread evenly over the window of ``granularity`` before
    last, the drifted phase over the last whole window before ``before``, default now; see
    :func:`event_windows`), the features, ``churned`` (the label that arrives late) and
    ``phase``.
    """
    if not isinstance(n_requests, int) or n_requests < 2:
        raise ParameterError(f"n_requests must be an int >= 2 (two phases), got {n_requests!r}.")
    half = n_requests // 2
    normal = make_churn(half, seed, id_offset=2_000_000)
    shifted = make_churn(
        n_requests - half,
        seed + 1,
        drift=drift,
        drifted_features=drifted_features,
        id_offset=3_000_000,
        concept=min(drift, 1.0),
    )
    phases = []
    for (start, end), (name, frame) in zip(
        event_windows(granularity, 2, before=before),
        (("normal", normal), ("drifted", shifted)),
        strict=True,
    ):
        step = (end - start) / len(frame)
        times = [start + (i + 0.5) * step for i in range(len(frame))]
        stamps = pd.DatetimeIndex(times).round("ms")  # exact through JSON and Spark alike
        phases.append(frame.assign(phase=name).assign(**{EVENT_TIME: stamps}))
    out = pd.concat(phases, ignore_index=True)
    return out[[KEY, EVENT_TIME, *FEATURES, LABEL, "phase"]]


def request_records(frame: pd.DataFrame, phase: str | None = None) -> list[dict]:
    """The request records of ``frame``, one phase or all: ``customer_id``, the event time
    (ISO 8601 text in UTC, when ``frame`` has :data:`EVENT_TIME`) and the features. The model
    uses only the features; the inference table keeps the rest."""
    rows = frame if phase is None else frame[frame["phase"] == phase]
    rows = rows[[KEY, *([EVENT_TIME] if EVENT_TIME in rows else []), *FEATURES]]
    if EVENT_TIME in rows:
        rows = rows.assign(**{EVENT_TIME: rows[EVENT_TIME].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")})
    return rows.to_dict(orient="records")


def seed_record() -> dict[str, int]:
    """The seed module's example request record, integers as it sends them."""
    return {"total_purchases": 15, "avg_session_duration": 320, "days_since_last_visit": 7}
