"""AI Gateway inference-table rows as the serving endpoint writes them (capture.make_row), and
the ``system.serving.served_entities`` rows that name their served entities, for tests."""

from __future__ import annotations

import json

from recipes import formats
from recipes.endpoint.capture import (
    CaptureWriter,
    make_row,
    served_entity_id,
    served_entity_row,
)
from recipes.endpoint.config import EntitySpec

T0 = 1_795_000_000_000  # 2026-11-18T09:46:40Z, in epoch ms
ENDPOINT, ENDPOINT_ID = "ep", "0f5e1d2c3b4a59687766554433221100"  # the fake endpoint
MODEL = "churn-predictor"


_SPECS: dict[str, EntitySpec] = {}  # the served entities named so far, by id (a cache)


def entity_id(entity: str = "champion", version: str = "1") -> str:
    """The served entity id of ``entity`` serving ``MODEL`` ``version`` on the fake endpoint
    (the same in every run and process)."""
    spec = EntitySpec(name=entity, entity_name=MODEL, entity_version=str(version))
    sid = served_entity_id(ENDPOINT_ID, spec)
    _SPECS.setdefault(sid, spec)
    return sid


def row(
    body: dict,
    predictions: list,
    *,
    version="1",
    entity="champion",
    status=200,
    crid=None,
    ts=T0,
    rid=None,
) -> dict:
    """One payload row; ``body`` is the request JSON, ``predictions`` the response's."""
    rid = rid or f"req-{ts}-{crid}-{len(predictions)}"
    return make_row(
        request_id=rid,
        client_request_id=crid,
        status_code=status,
        execution_duration_ms=3,
        request=json.dumps(body),
        response=json.dumps(
            {"predictions": predictions}
            if status == 200
            else {"error_code": "BAD_REQUEST", "message": "no"}
        ),
        served_entity_id=entity_id(entity, version),
        request_time=ts / 1000,
    )


def request_row(records, predictions: list, fmt: str = "dataframe_records", **kw) -> dict:
    """One payload row whose request is ``records`` (a frame or a list of dicts) in input
    format ``fmt`` (``formats.encode``), carrying ``crid`` in the body as a client sends it."""
    body = formats.encode(records, fmt, client_request_id=kw.get("crid"))
    return row(body, predictions, **kw)


def records_row(records: list[dict], predictions: list, **kw) -> dict:
    return request_row(records, predictions, "dataframe_records", **kw)


def split_row(columns: list[str], data: list[list], predictions: list, **kw) -> dict:
    """A ``dataframe_split`` request of ``data``'s rows, in the order of ``columns``."""
    records = [dict(zip(columns, values, strict=True)) for values in data]
    return request_row(records, predictions, "dataframe_split", **kw)


def write(name: str, rows: list[dict], home=None) -> str:
    """Append ``rows`` to the inference table ``name`` as the endpoint does: one Delta commit
    by the capture writer (creating the table with the change data feed on), and the
    ``system.serving.served_entities`` rows of their served entities that the table lacks."""
    with CaptureWriter(home=home, flush_interval=3600) as writer:
        for r in rows:
            spec = _SPECS.get(r["served_entity_id"])
            if spec is not None:
                writer.add_served_entity(
                    served_entity_row(
                        endpoint_name=ENDPOINT,
                        endpoint_id=ENDPOINT_ID,
                        spec=spec,
                        config_version=1,
                        change_time=T0 / 1000,
                    )
                )
            writer.add(name, r)
    return name
