"""What ``export_metrics`` answers: Databricks' endpoint health series, and the kit's own.

**Databricks' series**, named and typed as Databricks exports them ("Track and export
serving endpoint health metrics to Prometheus and Datadog",
https://docs.databricks.com/aws/en/machine-learning/model-serving/metrics-export-serving-endpoint;
types and units as Datadog's Databricks integration records them, ``metadata.csv``):

- ``request_count_total``, ``request_4xx_count_total``, ``request_5xx_count_total``: the
  requests of the last minute, and those answered 4xx and 5xx. Gauges despite the
  ``_total``: Databricks reports each minute's count, not a running total.
- ``request_latency_ms``: a histogram of the last minute's server-side latencies, in ms.
  Its first and last bounds (5 ms, 600 000 ms, then +Inf) are those of workspaces' exports;
  the bounds between them are the kit's.
- ``cpu_usage_percentage``, ``mem_usage_percentage``: gauges in percent. A Databricks
  replica is a VM; here it is the served entity's worker process, measured with psutil: its
  CPU time as a share of this machine's cores, since the newest reading a minute or more old
  (or since it started), and its resident memory as a share of this machine's memory. A
  stopped worker (scaled to zero) has no sample.

Each is labelled ``endpoint_name`` and ``served_model_name`` (the tags Datadog's
integration groups them by). "The last minute" is the trailing 60 s, in one-second slots.
Not exported, having no meaning here: ``provisioned_concurrent_requests_total`` (the kit
provisions no concurrency: ``workload_size`` is not enforced), the GPU series (no GPU),
``model_queue_time_ms`` and ``model_prediction_latency_ms`` (not measured apart).

**The kit's own series** keep their ``mdk_`` names and count since the server started:
``mdk_requests_total`` (a counter by status), ``mdk_request_latency_ms`` (a histogram with
sub-millisecond buckets), and the workers' gauges.
"""

from __future__ import annotations

import bisect
import time
from collections import defaultdict, deque
from collections.abc import Callable

import psutil

BUCKETS_MS = (1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
# request_latency_ms: 5 ms and 600 000 ms as on Databricks, the kit's bounds between
DBX_BUCKETS_MS = (
    5,
    10,
    25,
    50,
    100,
    250,
    500,
    1000,
    2500,
    5000,
    10000,
    30000,
    60000,
    120000,
    300000,
    600000,
)
WINDOW_S = 60

_COUNT, _4XX, _5XX, _SUM = range(4)  # a slot: these, then one count per latency bucket


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class _LastMinute:
    """One served entity's requests of the last :data:`WINDOW_S` seconds, per second."""

    __slots__ = ("stamps", "slots")

    def __init__(self):
        self.stamps = [-1] * WINDOW_S
        self.slots: list[list[float]] = [[] for _ in range(WINDOW_S)]

    def add(self, second: int, status: int, ms: float) -> None:
        i = second % WINDOW_S
        slot = self.slots[i]
        if self.stamps[i] != second:
            self.stamps[i] = second
            slot = self.slots[i] = [0] * (4 + len(DBX_BUCKETS_MS) + 1)
        slot[_COUNT] += 1
        if 400 <= status < 500:
            slot[_4XX] += 1
        elif status >= 500:
            slot[_5XX] += 1
        slot[_SUM] += ms
        slot[4 + bisect.bisect_left(DBX_BUCKETS_MS, ms)] += 1

    def total(self, second: int) -> list[float]:
        out = [0] * (4 + len(DBX_BUCKETS_MS) + 1)
        for stamp, slot in zip(self.stamps, self.slots, strict=True):
            if second - WINDOW_S < stamp <= second:
                out = [a + b for a, b in zip(out, slot, strict=True)]
        return out


class _Usage:
    """A worker process's CPU share over the last minute and its memory share now."""

    def __init__(self, pid: int):
        self.proc = psutil.Process(pid)
        # (wall time, CPU seconds); the first sample is the process's start
        self.samples = deque([(self.proc.create_time(), 0.0)])

    def read(self) -> tuple[float, float] | None:
        try:
            with self.proc.oneshot():
                times = self.proc.cpu_times()
                rss = self.proc.memory_info().rss
        except psutil.Error:
            return None
        now, cpu = time.time(), times.user + times.system
        self.samples.append((now, cpu))
        while len(self.samples) > 2 and self.samples[1][0] <= now - WINDOW_S:
            self.samples.popleft()
        t0, cpu0 = self.samples[0]
        cores = psutil.cpu_count() or 1
        share = (cpu - cpu0) / max(now - t0, 1e-3) / cores * 100
        memory = rss / psutil.virtual_memory().total * 100
        return min(max(share, 0.0), 100.0), memory


class Metrics:
    """Per endpoint and served entity: the requests by status, and their latencies.

    Args:
        clock: seconds (``time.time``); the last-minute window reads it.
    """

    def __init__(self, clock: Callable[[], float] = time.time):
        self.clock = clock
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.hist: dict[tuple[str, str], list[int]] = {}
        self.sums: dict[tuple[str, str], float] = defaultdict(float)
        self.minutes: dict[tuple[str, str], _LastMinute] = {}
        self._usage: dict[int, _Usage] = {}

    def observe(self, endpoint: str, entity: str, status: int, ms: float) -> None:
        """Count one answered invocation (``entity`` is ``""`` when none was picked)."""
        self.requests[(endpoint, entity, status)] += 1
        key = (endpoint, entity)
        counts = self.hist.get(key)
        if counts is None:
            counts = self.hist[key] = [0] * (len(BUCKETS_MS) + 1)
            self.minutes[key] = _LastMinute()
        counts[bisect.bisect_left(BUCKETS_MS, ms)] += 1
        self.sums[key] += ms
        self.minutes[key].add(int(self.clock()), status, ms)

    def text(self, endpoint: str, entities: dict | None = None) -> str:
        """The Prometheus exposition text for one endpoint.

        Args:
            endpoint: the endpoint's name.
            entities: its served entities by name (``Entity``: ``running``, ``pid``,
                ``stats``); each gets a sample of every series, zero when it had no request.
        """
        entities = entities or {}
        lines = self._databricks(endpoint, entities)
        lines += self._usage_lines(endpoint, entities)
        lines += self._own(endpoint, entities)
        return "\n".join(lines) + "\n"

    # -- Databricks' series --------------------------------------------------------------
    def _databricks(self, endpoint: str, entities: dict) -> list[str]:
        second = int(self.clock())
        totals = {name: [0] * (4 + len(DBX_BUCKETS_MS) + 1) for name in entities}
        for (ep, ent), minute in self.minutes.items():
            if ep == endpoint:
                total = minute.total(second)
                if total[_COUNT] or ent in totals:
                    totals[ent] = total
        rows = sorted(totals.items())

        def labels(ent: str) -> str:
            out = f'endpoint_name="{_label(endpoint)}"'
            return out + (f',served_model_name="{_label(ent)}"' if ent else "")

        lines = []
        for name, i, what in (
            ("request_count_total", _COUNT, "Requests"),
            ("request_4xx_count_total", _4XX, "Requests answered 4xx"),
            ("request_5xx_count_total", _5XX, "Requests answered 5xx"),
        ):
            lines += [f"# HELP {name} {what} during the last minute.", f"# TYPE {name} gauge"]
            lines += [f"{name}{{{labels(ent)}}} {int(t[i])}" for ent, t in rows]
        lines += [
            "# HELP request_latency_ms Server-side latency of the last minute's requests, in ms.",
            "# TYPE request_latency_ms histogram",
        ]
        for ent, t in rows:
            cumulative = 0
            for bound, n in zip((*DBX_BUCKETS_MS, "+Inf"), t[4:], strict=True):
                cumulative += n
                lines.append(
                    f'request_latency_ms_bucket{{{labels(ent)},le="{bound}"}} {cumulative}'
                )
            lines.append(f"request_latency_ms_sum{{{labels(ent)}}} {t[_SUM]:.3f}")
            lines.append(f"request_latency_ms_count{{{labels(ent)}}} {int(t[_COUNT])}")
        return lines

    def _usage_lines(self, endpoint: str, entities: dict) -> list[str]:
        samples = []
        for name, ent in sorted(entities.items()):
            pid = ent.pid if ent.running else None
            if pid is None:
                continue
            usage = self._usage.get(pid)
            if usage is None or not usage.proc.is_running():
                try:
                    usage = self._usage[pid] = _Usage(pid)
                except psutil.Error:
                    continue
            read = usage.read()
            if read is not None:
                samples.append((name, *read))
        for pid in [p for p, u in self._usage.items() if not u.proc.is_running()]:
            del self._usage[pid]  # an exited worker
        lines = []
        for name, i, what in (
            (
                "cpu_usage_percentage",
                1,
                "CPU time of the served entity's worker over the last minute, in % of this "
                "machine's cores.",
            ),
            (
                "mem_usage_percentage",
                2,
                "Resident memory of the served entity's worker, in % of this machine's memory.",
            ),
        ):
            lines += [f"# HELP {name} {what}", f"# TYPE {name} gauge"]
            lines += [
                f'{name}{{endpoint_name="{_label(endpoint)}",served_model_name="{_label(s[0])}"}}'
                f" {s[i]:.3f}"
                for s in samples
            ]
        return lines

    # -- the kit's own series --------------------------------------------------------------
    def _own(self, endpoint: str, entities: dict) -> list[str]:
        lines = [
            "# HELP mdk_requests_total Invocations answered, by served entity and status.",
            "# TYPE mdk_requests_total counter",
        ]
        for (ep, ent, status), n in sorted(self.requests.items()):
            if ep == endpoint:
                lines.append(
                    f'mdk_requests_total{{endpoint="{_label(ep)}",served_entity="{_label(ent)}",'
                    f'status="{status}"}} {n}'
                )
        lines += [
            "# HELP mdk_request_latency_ms Server-side latency of invocations, in ms.",
            "# TYPE mdk_request_latency_ms histogram",
        ]
        for (ep, ent), counts in sorted(self.hist.items()):
            if ep != endpoint:
                continue
            labels = f'endpoint="{_label(ep)}",served_entity="{_label(ent)}"'
            total = 0
            for bound, n in zip((*BUCKETS_MS, "+Inf"), counts, strict=True):
                total += n
                lines.append(f'mdk_request_latency_ms_bucket{{{labels},le="{bound}"}} {total}')
            lines.append(f"mdk_request_latency_ms_sum{{{labels}}} {self.sums[(ep, ent)]:.3f}")
            lines.append(f"mdk_request_latency_ms_count{{{labels}}} {total}")
        gauges = (
            (
                "mdk_worker_up",
                "1 while the served entity has a running worker.",
                lambda e: int(e.running),
            ),
            (
                "mdk_worker_restarts_total",
                "Workers restarted after a crash.",
                lambda e: e.stats.restarts,
            ),
            (
                "mdk_cold_starts_total",
                "Cold starts after scale-to-zero.",
                lambda e: e.stats.cold_starts,
            ),
            ("mdk_batches_total", "Batches sent to the worker.", lambda e: e.stats.batches),
        )
        for name, help_text, value in gauges:
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
            for ent_name, ent in sorted(entities.items()):
                lines.append(
                    f'{name}{{endpoint="{_label(endpoint)}",served_entity="{_label(ent_name)}"}} '
                    f"{value(ent)}"
                )
        return lines
