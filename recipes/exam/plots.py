"""Pictures for the exam questions a person would rather look at than read: question 3's
rates, per-core slope, memory and 100M-row estimate; the in-flight requests of a config
update; the drift statistics. Figures are returned, never shown (see
:func:`recipes.pictures.show`).
"""

from __future__ import annotations

import pandas as pd

COLORS = {"A": "tab:red", "B": "tab:orange", "C": "tab:green", "D": "tab:blue"}


def q3_scaling(measured: dict, extrapolation: pd.DataFrame, seconds_100m: dict[str, float]):
    """Three panels: rows/s on this machine (C with one task and with two), peak memory
    against rows, and the time each would take at 100M rows under the stated assumptions."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 3.6), layout="constrained")
    ax1, ax2, ax3 = fig.subplots(1, 3)
    c = measured["C"].extra
    labels = ["A loop", "B REST", "C 1 task", "C 2 tasks", "D pandas"]
    rates = [
        measured["A"].rows_per_s,
        measured["B"].rows_per_s,
        c["rate_1_task"],
        c["rate_2_tasks"],
        measured["D"].rows_per_s,
    ]
    colors = [COLORS["A"], COLORS["B"], "tab:olive", COLORS["C"], COLORS["D"]]
    bars = ax1.barh(labels, rates, color=colors)
    ax1.bar_label(bars, labels=[f"{r:,.0f}" for r in rates], padding=2, fontsize=8)
    ax1.set_xscale("log")
    ax1.set_xlim(min(rates) / 2, max(rates) * 30)
    ax1.invert_yaxis()
    ax1.set_xlabel("rows per second on this machine (log)")
    ax1.set_title(
        f"rates; C per task slot: {c['per_core_1']:,.0f} → {c['per_core_2']:,.0f} rows/s",
        fontsize=9,
    )
    for k in "ABCD":
        m = measured[k]
        pts = sorted(m.memory_mb.items())[:2]
        ax2.plot(
            [p[0] for p in pts],
            [p[1] for p in pts],
            "o-",
            color=COLORS[k],
            label=f"{k}: {m.memory_measure} ({m.memory_slope():,.0f} B/row)",
        )
    ax2.set_xlabel("rows")
    ax2.set_yscale("log")
    ax2.set_ylabel("peak memory, MB (log)")
    ax2.set_title("memory against rows: what grows with the data", fontsize=9)
    ax2.legend(fontsize=7)
    keys = list(seconds_100m)
    hours = [seconds_100m[k] / 3600 for k in keys]
    bars = ax3.barh(keys, hours, color=[COLORS[k] for k in keys])
    ax3.bar_label(
        bars,
        labels=extrapolation.set_index("option").loc[keys, "time"].tolist(),
        padding=2,
        fontsize=8,
    )
    ax3.set_xscale("log")
    ax3.set_xlim(min(hours) / 2, max(hours) * 30)
    ax3.invert_yaxis()
    ax3.set_xlabel("hours for 100M rows (log; see assumptions)")
    ax3.set_title("extrapolated from the measured slopes", fontsize=9)
    return fig


def update_phases(s: dict):
    """Answers per served entity before, during and after a config update, and the
    latency of each request (ms) by phase."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3.2), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    phases = [p for p in ("before", "during", "after") if p in s["by_phase"].index]
    table = s["by_phase"].reindex(phases).fillna(0)
    bottom = None
    for name in table.columns:
        ax1.bar(phases, table[name], bottom=bottom, label=f"answered by {name}")
        bottom = table[name] if bottom is None else bottom + table[name]
    ax1.set_ylabel("requests")
    ax1.set_title(
        f"{s['sent']} requests, {s['failed']} failed, update took {s['update_seconds']} s",
        fontsize=9,
    )
    ax1.legend(fontsize=8)
    frame = s["frame"]
    for i, p in enumerate(phases):
        ms = frame[frame["phase"] == p]["ms"]
        ax2.scatter([i] * len(ms), ms, s=6, alpha=0.5)
    ax2.set_xticks(range(len(phases)), phases)
    ax2.set_yscale("log")
    ax2.set_ylabel("latency, ms (log)")
    ax2.set_title("no request waited for the update", fontsize=9)
    return fig


def drift_tests(rows: pd.DataFrame):
    """Bars of each statistic's value in the drift question's runs."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 3), layout="constrained")
    ax = fig.add_subplot()
    bars = ax.barh(rows["test"], rows["value"], color="tab:purple")
    ax.bar_label(bars, labels=[f"{v:.3f}" for v in rows["value"]], padding=2, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, rows["value"].max() * 1.3)
    ax.set_title("drift statistics on the same samples", fontsize=9)
    return fig
