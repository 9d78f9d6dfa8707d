"""Send bounded traffic to an endpoint and compare the split it saw with the routes.

Used by the A/B notebook: :func:`send` fires ``n`` single-record requests from a few
keep-alive clients; :func:`background` keeps traffic flowing while a config changes; the
split is read twice, from each response's ``served-model-name`` header and from the
inference table (matched by ``client_request_id``), and :func:`compare_split` checks it
against the configured percentages within a stated binomial tolerance.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from recipes import formats
from recipes.errors import ParameterError

TIMEOUT = 30.0
SIGMAS = 4.5  # tolerance in standard errors: a false alarm about once in 150,000 checks
MAX_REQUESTS = 100_000


def records(n_rows: int, seed: int = 1) -> list[dict]:
    """``n_rows`` feature records of live traffic (JSON integers, as the seed sends them)."""
    from recipes.data import FEATURES, live_traffic

    return live_traffic(n_rows, seed=seed)[list(FEATURES)].to_dict(orient="records")


@dataclass
class TrafficResult:
    """What the clients saw: one row per request.

    Attributes:
        frame: ``client_request_id``, ``status`` (-1 for a transport error),
            ``served_model_name``, ``ms``, ``phase`` and ``error``.
        seconds: wall time of the whole run.
    """

    frame: pd.DataFrame
    seconds: float

    @property
    def sent(self) -> int:
        return len(self.frame)

    @property
    def failed(self) -> int:
        return int((self.frame["status"] != 200).sum()) if self.sent else 0

    def split(self, phase: str | None = None) -> pd.Series:
        """Successful requests per served entity (from the response header)."""
        f = self.frame if phase is None else self.frame[self.frame["phase"] == phase]
        return f[f["status"] == 200]["served_model_name"].value_counts().sort_index()


class _Clients:
    """``concurrency`` threads, each with a keep-alive session, sending until told to stop."""

    def __init__(
        self,
        conn,
        endpoint: str,
        *,
        concurrency: int,
        limit: int,
        tag: str,
        seed: int,
        timeout: float,
        pool: list[dict] | None = None,
    ):
        if concurrency < 1 or limit < 1:
            raise ParameterError("concurrency and the request count must be >= 1.")
        if pool is not None and not (pool and all(isinstance(r, dict) for r in pool)):
            raise ParameterError("records must be a non-empty list of dicts (one per request).")
        self.url = conn.invocations_url(endpoint)
        self.headers = conn.headers
        self.pool = pool if pool is not None else records(min(limit, 1000), seed)
        self.limit, self.tag, self.timeout = limit, tag, timeout
        self.counter = itertools.count()
        self.rows: list[tuple] = []
        self.phase = "during"
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(concurrency)]

    def _run(self) -> None:
        import requests

        with requests.Session() as session:
            while not self.stop.is_set():
                i = next(self.counter)
                if i >= self.limit:
                    return
                crid, phase = f"{self.tag}-{i}", self.phase
                record = self.pool[i % len(self.pool)]
                body = formats.encode([record], "dataframe_records", client_request_id=crid)
                t0 = time.perf_counter()
                try:
                    r = session.post(
                        self.url, json=body, headers=self.headers, timeout=self.timeout
                    )
                    row = (
                        crid,
                        r.status_code,
                        r.headers.get("served-model-name"),
                        phase,
                        None if r.status_code == 200 else r.text[:300],
                    )
                except Exception as exc:  # noqa: BLE001 - counted as a failed request
                    row = (crid, -1, None, phase, f"{type(exc).__name__}: {exc}"[:300])
                ms = (time.perf_counter() - t0) * 1000
                self.rows.append((*row[:3], round(ms, 2), *row[3:]))

    def start(self) -> _Clients:
        self.t0 = time.perf_counter()
        for t in self.threads:
            t.start()
        return self

    def join(self) -> TrafficResult:
        for t in self.threads:
            t.join()
        cols = ["client_request_id", "status", "served_model_name", "ms", "phase", "error"]
        frame = pd.DataFrame(self.rows, columns=cols)
        return TrafficResult(frame, round(time.perf_counter() - self.t0, 3))


def _tag(tag: str | None, kind: str) -> str:
    return tag or f"{kind}-{uuid.uuid4().hex[:8]}"


def send(
    conn,
    endpoint: str,
    n_requests: int,
    *,
    concurrency: int = 4,
    seed: int = 1,
    tag: str | None = None,
    timeout: float = TIMEOUT,
    records: list[dict] | None = None,
) -> TrafficResult:
    """Send ``n_requests`` single-record requests from ``concurrency`` keep-alive clients.

    Args:
        conn: a :class:`recipes.serving.client.Connection` (host and token).
        endpoint: the serving endpoint's name.
        tag: prefix of each ``client_request_id`` (``<tag>-<i>``); ``split-<random>`` when
            None (:func:`background` uses ``change-<random>``).
        records: the records to send, request ``i`` carrying ``records[i % len(records)]``;
            default live traffic from ``seed``. Extra keys (an id such as ``customer_id``)
            reach the inference table, and the model ignores them.
    """
    if not 1 <= n_requests <= MAX_REQUESTS:
        raise ParameterError(f"n_requests must be 1..{MAX_REQUESTS}, got {n_requests}.")
    clients = _Clients(
        conn,
        endpoint,
        concurrency=concurrency,
        limit=n_requests,
        tag=_tag(tag, "split"),
        seed=seed,
        timeout=timeout,
        pool=records,
    )
    clients.phase = "all"
    return clients.start().join()


@dataclass
class Background:
    """Traffic that flows while the ``with`` block runs; ``result`` is set on exit."""

    clients: _Clients
    min_seconds: float
    result: TrafficResult | None = field(default=None)

    def __enter__(self) -> Background:
        self.clients.phase = "before"
        self.clients.start()
        time.sleep(self.min_seconds / 2)  # traffic is flowing before the change
        self.clients.phase = "during"
        return self

    def __exit__(self, *exc) -> None:
        time.sleep(self.min_seconds / 2)  # and keeps flowing after it
        self.clients.phase = "after"
        time.sleep(self.min_seconds / 4)
        self.clients.stop.set()
        self.result = self.clients.join()


def background(
    conn,
    endpoint: str,
    *,
    concurrency: int = 4,
    seconds: float = 4.0,
    tag: str | None = None,
    timeout: float = TIMEOUT,
) -> Background:
    """Keep traffic flowing around a ``with`` block (``seconds`` split before/after it)."""
    clients = _Clients(
        conn,
        endpoint,
        concurrency=concurrency,
        limit=MAX_REQUESTS,
        tag=_tag(tag, "change"),
        seed=2,
        timeout=timeout,
    )
    return Background(clients, seconds)


def routes(endpoint) -> dict[str, int]:
    """``{served entity: traffic %}`` of a ``ServingEndpointDetailed``'s live config."""
    cfg = endpoint.config
    return {
        (r.served_model_name or r.served_entity_name): r.traffic_percentage
        for r in cfg.traffic_config.routes
    }


def compare_split(
    observed: pd.Series, expected: dict[str, int], *, sigmas: float = SIGMAS
) -> pd.DataFrame:
    """Observed vs configured shares, each with a tolerance of ``sigmas`` standard errors.

    The tolerance for a share ``p`` over ``n`` requests is ``sigmas * sqrt(p(1-p)/n)``
    (binomial), at least 1 percentage point.
    """
    n = int(observed.sum())
    rows = []
    for name, pct in expected.items():
        p = pct / 100
        got = int(observed.get(name, 0))
        share = 100 * got / n if n else 0.0
        tol = max(1.0, 100 * sigmas * math.sqrt(p * (1 - p) / n)) if n else 100.0
        rows.append(
            {
                "served_entity": name,
                "expected_%": pct,
                "observed_%": round(share, 1),
                "requests": got,
                "tolerance_pp": round(tol, 1),
                "within": abs(share - pct) <= tol,
            }
        )
    return pd.DataFrame(rows)


def plot_split(configured: dict[str, int], **observed: pd.DataFrame):
    """Grouped bars per served entity: the configured share, then each observed share with its
    tolerance as an error bar. ``observed`` maps a label (e.g. ``by_header``) to a
    :func:`compare_split` frame."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 3.2), layout="constrained")
    ax = fig.add_subplot()
    names = list(configured)
    width = 0.8 / (1 + len(observed))
    xs = range(len(names))
    ax.bar(
        [x - 0.4 + width / 2 for x in xs],
        [configured[n] for n in names],
        width,
        label="configured",
        color="lightgrey",
        edgecolor="grey",
    )
    for i, (label, frame) in enumerate(observed.items(), start=1):
        rows = frame.set_index("served_entity").reindex(names)
        ax.bar(
            [x - 0.4 + width / 2 + i * width for x in xs],
            rows["observed_%"],
            width,
            yerr=rows["tolerance_pp"],
            capsize=3,
            label=f"observed ({label.replace('_', ' ')})",
        )
    ax.set_xticks(list(xs), names)
    ax.set_ylabel("% of requests")
    ax.set_ylim(0, 105)
    ax.set_title("traffic split: configured routes vs who answered")
    ax.legend(fontsize="small")
    return fig


def captured_rows(
    table: str, client_request_ids: Iterable[str], *, timeout: float = 15.0, home=None
) -> pd.DataFrame:
    """The inference-table rows of the given request ids, once all are there.

    Waits up to ``timeout`` seconds for the writer's flush (at most every second locally;
    a workspace lands rows within minutes), then returns what it found (maybe fewer rows).
    The table is read where the target keeps it: locally the Delta table in the warehouse,
    with delta-rs (no JVM; the request ids filter its scan), or Spark by name on Databricks
    (``tables.read_rows``), never the laptop's files for a workspace's table.
    """
    from recipes import tables

    wanted = sorted(set(client_request_ids))
    deadline = time.monotonic() + timeout
    while True:
        if tables.table_exists(table, home=home):
            df = tables.read_rows(table, "client_request_id", wanted, home=home)
        else:
            df = pd.DataFrame(columns=["client_request_id", "served_entity_id"])
        if len(df) >= len(wanted) or time.monotonic() > deadline:
            return df
        time.sleep(0.25)


def captured_split(
    table: str, client_request_ids: Iterable[str], *, timeout: float = 15.0, home=None
) -> pd.Series:
    """Requests per served entity in the inference table, for the given request ids
    (``attrs["rows"]``: how many of them were found; see :func:`captured_rows`). The table
    names entities by ``served_entity_id``; their names come from
    ``system.serving.served_entities``, as on Databricks (:func:`served_entity_names`)."""
    df = captured_rows(table, client_request_ids, timeout=timeout, home=home)
    names = served_entity_names(df["served_entity_id"].dropna(), timeout=timeout, home=home)
    entity = df["served_entity_id"].map(names)
    counts = entity.value_counts().sort_index()
    counts.attrs["rows"] = len(df)
    return counts


def served_entity_names(ids: Iterable[str], *, timeout: float = 15.0, home=None) -> dict:
    """``{served_entity_id: served_entity_name}`` from ``system.serving.served_entities``
    (its latest row per id), waiting up to ``timeout`` seconds for ids it does not name yet
    (the endpoint writes an entity's row with its first captured request)."""
    from recipes import tables

    wanted = sorted(set(ids))
    deadline = time.monotonic() + timeout
    while True:
        found = {}
        if wanted and tables.table_exists("system.serving.served_entities", home=home):
            rows = tables.read_rows(
                "system.serving.served_entities", "served_entity_id", wanted, home=home
            ).sort_values("change_time")
            found = dict(zip(rows["served_entity_id"], rows["served_entity_name"], strict=True))
        if len(found) >= len(wanted) or time.monotonic() > deadline:
            return found
        time.sleep(0.25)
