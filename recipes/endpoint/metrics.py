"""Request counters and latency histograms, exported in Prometheus text format."""

from __future__ import annotations

import bisect
from collections import defaultdict

BUCKETS_MS = (1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)


class Metrics:
    """Per endpoint and served entity: requests by status, and a latency histogram."""

    def __init__(self):
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.hist: dict[tuple[str, str], list[int]] = {}
        self.sums: dict[tuple[str, str], float] = defaultdict(float)

    def observe(self, endpoint: str, entity: str, status: int, ms: float) -> None:
        self.requests[(endpoint, entity, status)] += 1
        key = (endpoint, entity)
        counts = self.hist.get(key)
        if counts is None:
            counts = self.hist[key] = [0] * (len(BUCKETS_MS) + 1)
        counts[bisect.bisect_left(BUCKETS_MS, ms)] += 1
        self.sums[key] += ms

    def text(self, endpoint: str, entities: dict | None = None) -> str:
        """The Prometheus exposition text for one endpoint."""
        lines = [
            "# HELP mdk_requests_total Invocations answered, by served entity and status.",
            "# TYPE mdk_requests_total counter",
        ]
        for (ep, ent, status), n in sorted(self.requests.items()):
            if ep == endpoint:
                lines.append(
                    f'mdk_requests_total{{endpoint="{ep}",served_entity="{ent}",'
                    f'status="{status}"}} {n}'
                )
        lines += [
            "# HELP mdk_request_latency_ms Server-side latency of invocations, in ms.",
            "# TYPE mdk_request_latency_ms histogram",
        ]
        for (ep, ent), counts in sorted(self.hist.items()):
            if ep != endpoint:
                continue
            labels = f'endpoint="{ep}",served_entity="{ent}"'
            total = 0
            for bound, n in zip((*BUCKETS_MS, "+Inf"), counts, strict=True):
                total += n
                lines.append(f'mdk_request_latency_ms_bucket{{{labels},le="{bound}"}} {total}')
            lines.append(f"mdk_request_latency_ms_sum{{{labels}}} {self.sums[(ep, ent)]:.3f}")
            lines.append(f"mdk_request_latency_ms_count{{{labels}}} {total}")
        gauges = (
            ("mdk_worker_up", "1 while the served entity has a running worker.",
             lambda e: int(e.running)),
            ("mdk_worker_restarts_total", "Workers restarted after a crash.",
             lambda e: e.stats.restarts),
            ("mdk_cold_starts_total", "Cold starts after scale-to-zero.",
             lambda e: e.stats.cold_starts),
            ("mdk_batches_total", "Batches sent to the worker.", lambda e: e.stats.batches),
        )  # fmt: skip
        for name, help_text, value in gauges:
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
            for ent_name, ent in sorted((entities or {}).items()):
                lines.append(
                    f'{name}{{endpoint="{endpoint}",served_entity="{ent_name}"}} {value(ent)}'
                )
        return "\n".join(lines) + "\n"
