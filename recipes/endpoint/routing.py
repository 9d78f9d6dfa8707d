"""The data plane: pick a served entity by the routes, run the request, capture it.

:func:`invoke` is the whole path of one invocation: endpoint lookup, weighted routing (or
the per-entity route), payload parsing and column checks, the entity's batched predict,
metrics, and the inference-table row.
"""

from __future__ import annotations

import bisect
import json
import random
import time
import uuid

from recipes import formats
from recipes.errors import ApiError, not_found, unavailable


class Router:
    """Weighted random choice of a served entity by ``traffic_percentage``."""

    def __init__(self, routes: tuple[tuple[str, int], ...], rng: random.Random):
        live = [(n, p) for n, p in routes if p > 0]
        self.names = [n for n, _ in live]
        self.bounds, total = [], 0
        for _, p in live:
            total += p
            self.bounds.append(total)
        self.rng = rng

    def pick(self) -> str:
        if len(self.names) == 1:
            return self.names[0]
        return self.names[bisect.bisect_right(self.bounds, self.rng.random() * 100)]


async def invoke(manager, name: str, body: bytes, served: str | None = None):
    """Answer one invocation: ``(status, json_bytes, served_entity_name | None)``."""
    t0 = time.perf_counter()
    ep = manager.endpoints.get(name)
    if ep is None:
        err = not_found(f"Endpoint {name!r} does not exist.")
        return err.status, json.dumps(err.body()).encode(), None
    ent, cfg, status, out, crid = None, ep.active, 200, b"", None
    try:
        if cfg is None:
            raise unavailable(f"Endpoint {name!r} is not ready yet ({ep.message})")
        pick = served if served is not None else ep.router.pick()
        ent = ep.entities.get(pick)
        if ent is None:
            raise not_found(f"Served entity {pick!r} does not exist in endpoint {name!r}.")
        inv = formats.parse(formats.decode(body))
        crid = inv.client_request_id
        await ent.ready(manager.request_timeout)
        inv = formats.conform(inv, ent.columns, ent.kinds)
        preds = await ent.predict(inv.columns, inv.rows, manager.request_timeout)
        out = json.dumps({"predictions": preds}).encode()
    except ApiError as exc:
        status, out = exc.status, json.dumps(exc.body()).encode()
    ms = (time.perf_counter() - t0) * 1000
    label = ent.spec.name if ent is not None else ""
    manager.metrics.observe(name, label, status, ms)
    if cfg is not None and cfg.capture is not None and cfg.capture.enabled and manager.capture:
        _capture(manager, ep, cfg, ent, body, out, status, ms, crid)
    return status, out, label or None


def _capture(manager, ep, cfg, ent, body, out, status, ms, crid) -> None:
    from recipes.endpoint.capture import make_row

    spec = ent.spec if ent is not None else None
    row = make_row(
        request_id=str(uuid.uuid4()), client_request_id=crid, status_code=status,
        execution_time_ms=int(round(ms)), request=body.decode(errors="replace"),
        response=out.decode(), endpoint_name=ep.name,
        model_name=spec.entity_name if spec else None,
        model_version=spec.entity_version if spec else None,
        served_entity_name=spec.name if spec else None,
    )  # fmt: skip
    manager.capture.add(cfg.capture.payload_table, row)
