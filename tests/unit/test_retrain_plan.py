"""08's plumbing (recipes.monitoring.retrain): the decision to retrain, its checks, and the
violations picture. The counting itself is typed in 08's cells and runs in its tests
(tests/notebooks/test_story.py, tests/notebooks/test_retrain.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pandas as pd
import pytest

from recipes.errors import NotFoundError, ParameterError
from recipes.monitoring import plot_violations, retrain
from recipes.pictures import png_size


def _decide(violations=0, quality=False, *, force=False, local=True, ask=False):
    return retrain.decide(violations, quality, force=force, local=local, register_on_workspace=ask)


def test_violations_or_force_retrain_locally_and_nothing_else_does():
    assert _decide(2, True).train and "2 violation(s), quality below" in _decide(2, True).reason
    assert _decide(0, True).train and _decide(1).train
    assert _decide(force=True).train and _decide(force=True).reason.startswith("force=True")
    calm = _decide()
    assert not calm.train and calm.reason.startswith("no violations: nothing to retrain")


def test_on_a_workspace_only_the_parameter_lets_it_train():
    due = _decide(2, local=False)
    assert not due.train
    assert "only with register_on_workspace=True; nothing was created" in due.reason
    assert _decide(2, local=False, ask=True).train
    assert not _decide(local=False, ask=True).train  # asked, but nothing to retrain


def test_checks_say_what_to_do_in_one_line():
    assert retrain.parse_columns(" churned, prediction ,") == ("churned", "prediction")
    with pytest.raises(ParameterError, match="give comma-separated column names"):
        retrain.parse_columns(" , ")
    with pytest.raises(
        ParameterError, match=r"Only 12 labelled rows in W: 08 trains on at least 100"
    ):
        retrain.check_training_rows(12, "W")
    retrain.check_training_rows(100, "W")
    start, end = datetime(2026, 12, 6, 11), datetime(2026, 12, 6, 12)
    assert retrain.window_text(start, end) == "2026-12-06T11:00:00Z/2026-12-06T12:00:00Z"


def _refresh(rid, state, start):
    return SimpleNamespace(refresh_id=rid, state=SimpleNamespace(value=state), start_time_ms=start)


def test_the_latest_successful_refresh_is_the_lineage():
    found = retrain.latest_refresh(
        [_refresh(1, "SUCCESS", 10), _refresh(3, "FAILED", 30), _refresh(2, "SUCCESS", 20)], "t"
    )
    assert found.refresh_id == 2
    with pytest.raises(NotFoundError, match="The monitor on t has no successful refresh"):
        retrain.latest_refresh([_refresh(1, "RUNNING", 10)], "t")


def test_the_picture_marks_what_breaks_each_threshold():
    times = [datetime(2026, 12, 6, 10, tzinfo=UTC), datetime(2026, 12, 6, 11, tzinfo=UTC)]
    performance = pd.DataFrame(
        {"time": times, "performance_metric": [0.85, 0.74], "expected_loss": [-1.1, -3.0]}
    )
    drift = pd.DataFrame(
        {
            "time": times[1:] * 2,
            "column_name": ["churned", "prediction"],
            "drift_metric": [0.25, 0.18],
        }
    )
    fig = plot_violations(
        performance,
        drift,
        metric="accuracy_score",
        quality_threshold=0.8,
        loss_threshold=2.0,
        drift_metric="js_distance",
        drift_threshold=0.15,
    )
    quality, loss, js = fig.axes
    # the red points: the second window in each panel, both drift columns above 0.15
    assert [list(c.get_offsets()[:, 0]) for c in quality.collections] == [[1.0]]
    assert [list(c.get_offsets()[:, 0]) for c in loss.collections] == [[1.0]]
    assert [sorted(c.get_offsets()[:, 1]) for c in js.collections] == [[0.18, 0.25]]
    assert [ln.get_ydata()[0] for ln in quality.lines[1:]] == [0.8]  # the threshold
    from io import BytesIO

    buf = BytesIO()
    fig.savefig(buf, format="png")
    assert min(png_size(buf.getvalue())) > 100
    empty = plot_violations(
        performance,
        drift.iloc[0:0],
        metric="accuracy_score",
        quality_threshold=0.8,
        loss_threshold=2.0,
        drift_metric="js_distance",
        drift_threshold=0.15,
    )
    assert not empty.axes[2].collections
