"""The data plane: pick a served entity by the routes, run the request, capture it.

:func:`invoke` is the whole path of one invocation: endpoint lookup, weighted routing (or
the per-entity route), payload parsing into one :class:`~recipes.formats.Invocation`, its
checks against the served model (columns, types, params: :meth:`Entity.conform`), the
entity's batched predict (the same object reaches the worker), metrics, and the
inference-table row.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import random
import time
import uuid

from recipes import formats
from recipes.endpoint.gateway import check_rate_limit
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
    arrived, t0 = time.time(), time.perf_counter()
    ep = manager.endpoints.get(name)
    if ep is None:
        err = not_found(f"Endpoint {name!r} does not exist.")
        return err.status, json.dumps(err.body()).encode(), None
    ent, cfg, status, out, inv = None, ep.active, 200, b"", None
    try:
        check_rate_limit(ep)
        if cfg is None:
            raise unavailable(f"Endpoint {name!r} is not ready yet ({ep.message})")
        pick = served if served is not None else ep.router.pick()
        ent = ep.entities.get(pick)
        if ent is None:
            raise not_found(f"Served entity {pick!r} does not exist in endpoint {name!r}.")
        inv = formats.parse(formats.decode(body))
        await ent.ready(manager.request_timeout)
        inv = ent.conform(inv)
        preds = await ent.predict(inv, manager.request_timeout)
        out = json.dumps({"predictions": preds}).encode()
    except ApiError as exc:
        status, out = exc.status, json.dumps(exc.body()).encode()
    ms = (time.perf_counter() - t0) * 1000
    label = ent.spec.name if ent is not None else ""
    manager.metrics.observe(name, label, status, ms)
    table = ep.gateway.inference_table
    if table is not None and table.enabled and manager.capture:
        _capture(manager, ep, ent, inv, status, out, ms, body, arrived)
    return status, out, label or None


def _capture(manager, ep, ent, inv, status, out, ms, body, arrived, requester=None) -> None:
    """Append the request's AI Gateway inference-table row (and, the first time a served
    entity answers, its ``system.serving.served_entities`` row) to the capture writer.

    ``inv`` is the parsed :class:`~recipes.formats.Invocation` (None when the answer came
    before the body was parsed, or the body did not parse), ``arrived`` the request's arrival (epoch seconds), ``requester`` the caller's
    name (None: the local endpoint's one user, ``capture.REQUESTER``).
    """
    from recipes.endpoint import capture

    writer, entity_id = manager.capture, None
    if ent is not None:
        entity_id = capture.served_entity_id(ep.id, ent.spec)
        if not writer.has_served_entity(entity_id):
            writer.add_served_entity(
                capture.served_entity_row(
                    endpoint_name=ep.name,
                    endpoint_id=ep.id,
                    spec=ent.spec,
                    config_version=ep.active.version if ep.active is not None else None,
                    change_time=ent.created_ms / 1000,
                )
            )
    if inv is None:  # answered before the body was parsed (404, 429, 503): parse it now
        with contextlib.suppress(ApiError):  # the body itself was bad
            inv = formats.parse(formats.decode(body))
    row = capture.make_row(
        request_id=str(uuid.uuid4()),
        client_request_id=inv.client_request_id if inv is not None else None,
        status_code=status,
        execution_duration_ms=int(round(ms)),
        request=body.decode(errors="replace"),
        response=out.decode(),
        served_entity_id=entity_id,
        requester=requester or capture.REQUESTER,
        request_time=arrived,
    )
    writer.add(ep.gateway.inference_table.payload_table, row)
