"""Watch scale-to-zero happen and time the cold start that follows."""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass

import pandas as pd

from recipes import formats

POLL = 0.5


@dataclass(frozen=True)
class ColdStart:
    """What :func:`cold_start` saw.

    Attributes:
        scale_to_zero_enabled: the served entity's flag.
        scaled_to_zero: whether the worker was stopped while idle.
        idle_seconds: how long the endpoint was left idle.
        warm_ms: median client-side latency of 5 requests before going idle.
        cold_ms: client-side latency of the first request after going idle.
        server_cold_start_ms: the server's own measure of that cold start (None if none).
        status: HTTP status of the request after the idle time.
        note: one line saying what happened.
    """

    scale_to_zero_enabled: bool
    scaled_to_zero: bool
    idle_seconds: float
    warm_ms: float
    cold_ms: float
    server_cold_start_ms: float | None
    status: int
    note: str

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(self)]).T.rename(columns={0: "value"})


def _entity(w, endpoint: str) -> dict:
    """The first served entity of the endpoint as raw JSON (with the kit's ``mdk`` field)."""
    doc = w.api_client.do("GET", f"/api/2.0/serving-endpoints/{endpoint}")
    return doc["config"]["served_entities"][0]


def _post(session, conn, endpoint: str, record: dict) -> tuple[int, float]:
    t0 = time.perf_counter()
    r = session.post(
        conn.invocations_url(endpoint),
        headers=conn.headers,
        json=formats.encode([record], "dataframe_records"),
        timeout=300,
    )
    return r.status_code, (time.perf_counter() - t0) * 1000


def cold_start(
    w, conn, endpoint: str, record: dict, *, idle_seconds: float, timeout: float | None = None
) -> ColdStart:
    """Leave the endpoint idle past ``idle_seconds``, then time the next request.

    With scale-to-zero the worker is stopped while idle and that request waits through a
    cold start; without it the worker stays up and the request is as fast as before.

    Args:
        w: a ``WorkspaceClient`` (the local endpoint: a workspace idles ~30 minutes).
        conn: the matching :class:`~recipes.serving.client.Connection`.
        idle_seconds: the endpoint's idle time (see ``deploy.set_idle_seconds``).
        timeout: the most seconds to wait for scale-to-zero (default idle + 60).
    """
    import requests

    from recipes.target import resolve

    if not resolve().is_local:
        return ColdStart(
            True,
            False,
            0,
            0,
            0,
            None,
            0,
            "skipped: a workspace scales to zero after ~30 idle minutes",
        )
    with requests.Session() as session:
        warm = [_post(session, conn, endpoint, record)[1] for _ in range(5)]
        before = _entity(w, endpoint)
        enabled = bool(before.get("scale_to_zero_enabled"))
        t0 = time.monotonic()
        limit = t0 + (timeout if timeout is not None else idle_seconds + 60)
        wait_until = t0 + idle_seconds + 2 * POLL + 1  # past the idle time either way
        scaled = False
        while time.monotonic() < (limit if enabled else wait_until):
            time.sleep(POLL)
            if _entity(w, endpoint).get("mdk", {}).get("scaled_to_zero"):
                scaled = True
                break
        idle = time.monotonic() - t0
        status, cold_ms = _post(session, conn, endpoint, record)
    after = _entity(w, endpoint).get("mdk", {})
    server_ms = after.get("last_cold_start_ms") if scaled else None
    if scaled:
        note = f"scaled to zero after {idle:.1f} s idle; the next request took {cold_ms:.0f} ms"
    elif enabled:
        note = f"did not scale to zero within {idle:.0f} s"
    else:
        note = f"scale_to_zero_enabled=False: the worker stayed up through {idle:.1f} s idle"
    return ColdStart(
        enabled,
        scaled,
        round(idle, 1),
        round(statistics.median(warm), 1),
        round(cold_ms, 1),
        server_ms,
        status,
        note,
    )


def plot_latency(cold: ColdStart):
    """Bars: the warm median latency against the first request after idling (log scale)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3), layout="constrained")
    ax = fig.add_subplot()
    after = "cold start" if cold.scaled_to_zero else "after idling (still warm)"
    labels = ["warm (median of 5)", after]
    values = [max(cold.warm_ms, 0.1), max(cold.cold_ms, 0.1)]
    bars = ax.bar(labels, values, color=["tab:blue", "tab:orange"])
    ax.bar_label(bars, labels=[f"{v:,.0f} ms" for v in values])
    ax.set_yscale("log")
    ax.set_ylim(min(values) / 2, max(values) * 4)  # room for the labels
    ax.set_ylabel("request latency, ms (log scale)")
    ax.set_title(f"scale_to_zero_enabled={cold.scale_to_zero_enabled}\n{cold.note}", fontsize=9)
    return fig
