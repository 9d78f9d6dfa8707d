"""Plots from the metrics tables (matplotlib ``Figure`` objects, no pyplot global state).

A returned figure shows itself in Jupyter (its PNG repr) and can be saved with
``fig.savefig(path)``.
"""

from __future__ import annotations

import pandas as pd

from recipes.monitoring.rows import overall
from recipes.monitoring.schema import ALL
from recipes.monitoring.windows import window_starts


def plot_drift(
    drift: pd.DataFrame,
    *,
    statistic: str = "population_stability_index",
    drift_type: str = "BASELINE",
    threshold: float | None = 0.2,
):
    """Per numeric column, ``statistic`` over the windows (all models, whole table), one line
    each."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 3.2), layout="constrained")
    ax = fig.add_subplot()
    rows = overall(drift)
    rows = rows[rows["drift_type"] == drift_type]
    rows = rows[rows[statistic].notna()] if statistic in rows else rows.iloc[0:0]
    # windows as labels, in time order: one window would otherwise span years of date axis
    starts = pd.Series(window_starts(rows), index=rows.index)
    order = {t: i for i, t in enumerate(sorted(set(starts)))}
    labels = [f"{t:%m-%d %H:%M}" for t in sorted(order)]
    columns = sorted(set(rows["column_name"]))
    width = 0.8 / max(len(columns), 1)
    for k, (column, part) in enumerate(rows.groupby("column_name", sort=True)):
        xs = [order[t] for t in starts[part.index]]
        if len(order) == 1:  # one window: a bar per column reads better than lone dots
            bars = ax.bar(
                [x - 0.4 + width * (k + 0.5) for x in xs], part[statistic], width, label=column
            )
            ax.bar_label(bars, fmt="%.3f", fontsize="small")
        else:
            ax.plot(xs, part[statistic], marker="o", label=column)
    ax.set_xticks(range(len(labels)), labels)
    if threshold is not None:
        ax.axhline(threshold, color="grey", linestyle="--", linewidth=1, label="threshold")
    ax.set_title(f"{statistic} per window ({drift_type.lower()})")
    ax.set_xlabel("window start (UTC)")
    ax.set_ylabel(statistic)
    if len(rows):
        ax.legend(fontsize="small")
    return fig


def plot_quality(
    quality: pd.DataFrame, *, metrics=("accuracy", "precision", "recall", "f1", "roc_auc")
):
    """Grouped bars: each metric for each model version (``'*'``, all models, left out), from
    :func:`~recipes.monitoring.summary.quality_by_model` or
    :func:`~recipes.monitoring.quality.quality_metrics`."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 3.2), layout="constrained")
    ax = fig.add_subplot()
    rows = quality[quality["model_id"] != ALL]
    metrics = [m for m in metrics if m in rows]
    width = 0.8 / max(len(rows), 1)
    for i, r in enumerate(rows.to_dict("records")):
        xs = [j + i * width for j in range(len(metrics))]
        ax.bar(
            xs,
            [r[m] or 0 for m in metrics],
            width,
            label=f"v{r['model_id']} ({r['labeled_rows']} rows)",
        )
    ax.set_xticks([j + width * (len(rows) - 1) / 2 for j in range(len(metrics))], metrics)
    ax.set_ylim(0, 1.18)
    ax.set_title("quality per model version, on labeled live traffic")
    if len(rows):
        ax.legend(fontsize="small", loc="upper center", ncols=max(len(rows), 1))
    return fig


# a violation: a red ring around the point, which stays visible inside it
_RING = {"facecolors": "none", "edgecolors": "tab:red", "s": 170, "linewidths": 2, "zorder": 3}


def plot_violations(
    performance: pd.DataFrame,
    drift: pd.DataFrame,
    *,
    metric: str,
    quality_threshold: float,
    loss_threshold: float,
    drift_metric: str,
    drift_threshold: float,
):
    """08's picture: per window, each metric it checks against its threshold (dashed), the
    windows that violate it in red.

    Args:
        performance: ``time``, ``performance_metric`` and ``expected_loss`` per window (08's
            ``performance_metrics_df``, as pandas).
        drift: ``time``, ``column_name`` and ``drift_metric`` per window and column (08's
            ``drift_metrics_df``); may be empty (one window: no CONSECUTIVE rows).
    """
    from matplotlib.figure import Figure

    times = sorted(set(performance["time"]) | set(drift["time"]))
    labels = [f"{pd.Timestamp(t):%m-%d %H:%M}" for t in times]
    at = {t: i for i, t in enumerate(times)}
    fig = Figure(figsize=(10, 3.2), layout="constrained")
    axes = fig.subplots(1, 3)
    panels = [
        (
            axes[0],
            performance["time"],
            performance["performance_metric"],
            quality_threshold,
            lambda v: v < quality_threshold,
            f"{metric} (violates below)",
        ),
        (
            axes[1],
            performance["time"],
            performance["expected_loss"].abs(),
            loss_threshold,
            lambda v: v > loss_threshold,
            "|expected_loss| (violates above)",
        ),
    ]
    for ax, ts, values, threshold, bad, title in panels:
        xs = [at[t] for t in ts]
        ax.plot(xs, values, color="tab:blue", marker="o")
        hit = [(x, v) for x, v in zip(xs, values, strict=True) if bad(v)]
        ax.axhline(
            threshold, color="grey", linestyle="--", linewidth=1, label=f"threshold {threshold:g}"
        )
        if hit:
            ax.scatter(*zip(*hit, strict=True), **_RING, label="violates")
        ax.legend(fontsize="small")
        ax.set_title(title, fontsize="medium")
    ax = axes[2]
    for column, part in drift.groupby("column_name", sort=True):
        ax.plot([at[t] for t in part["time"]], part["drift_metric"], marker="o", label=column)
    over = drift[drift["drift_metric"] > drift_threshold]
    ax.axhline(
        drift_threshold,
        color="grey",
        linestyle="--",
        linewidth=1,
        label=f"threshold {drift_threshold:g}",
    )
    if len(over):
        ax.scatter([at[t] for t in over["time"]], over["drift_metric"], **_RING, label="above")
    ax.set_title(f"{drift_metric}, consecutive (violates above)", fontsize="medium")
    ax.legend(fontsize="small")
    for ax in axes:
        ax.set_xticks(range(len(labels)), labels)
        ax.set_xlim(-0.5, max(len(labels), 1) - 0.5)
        ax.set_xlabel("window start (UTC)")
    return fig
