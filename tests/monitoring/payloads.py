"""Inference-table rows as the serving endpoint writes them (capture.make_row), for tests."""

from __future__ import annotations

import json

from recipes.endpoint.capture import CaptureWriter, make_row

T0 = 1_795_000_000_000  # 2026-11-18T09:46:40Z, in epoch ms


def row(body: dict, predictions: list, *, version="1", entity="champion", status=200,
        crid=None, ts=T0, rid=None) -> dict:  # fmt: skip
    """One payload row; ``body`` is the request JSON, ``predictions`` the response's."""
    rid = rid or f"req-{ts}-{crid}-{len(predictions)}"
    return make_row(request_id=rid, client_request_id=crid, status_code=status,
                    execution_time_ms=3, request=json.dumps(body),
                    response=json.dumps({"predictions": predictions} if status == 200 else
                                        {"error_code": "BAD_REQUEST", "message": "no"}),
                    endpoint_name="ep", model_name="churn-predictor",
                    model_version=version, served_entity_name=entity, timestamp_ms=ts)  # fmt: skip


def records_row(records: list[dict], predictions: list, **kw) -> dict:
    body = {"dataframe_records": records}
    if kw.get("crid"):
        body["client_request_id"] = kw["crid"]
    return row(body, predictions, **kw)


def split_row(columns: list[str], data: list[list], predictions: list, **kw) -> dict:
    return row({"dataframe_split": {"columns": columns, "data": data}}, predictions, **kw)


def write(name: str, rows: list[dict], home=None) -> str:
    """Append ``rows`` to the inference table ``name`` as the endpoint does: one Delta commit
    by the capture writer (creating the table with the change data feed on)."""
    with CaptureWriter(home=home, flush_interval=3600) as writer:
        for r in rows:
            writer.add(name, r)
    return name
