"""Q11 · Inference Tables: the AI Gateway's inference table and what it records, and the
legacy call Databricks refuses.
"""

from __future__ import annotations

import uuid

import pandas as pd

from recipes.exam.endpoints import (
    AB,
    CAPTURE_SCHEMA,
    endpoint,
    entity,
    live_records,
    payload_table,
    post,
    warm,
)
from recipes.exam.questions import Option, Outcome, Question
from recipes.formats import encode

LEGACY = "exam-legacy"  # the endpoint option A asks for with the legacy auto_capture_config

# the legacy inference table's columns that the AI Gateway's has not (Databricks, "Inference
# tables for monitoring and debugging models", the legacy page's schema)
LEGACY_COLUMNS = ("timestamp_ms", "execution_time_ms", "date", "request_metadata")


def _served_entities(ids) -> pd.DataFrame:
    """``system.serving.served_entities`` rows (latest per id) for the served entity ids, as
    Databricks users join them to an inference table: names and versions by id."""
    from recipes import tables
    from recipes.serving import traffic

    wanted = sorted(set(ids))
    traffic.served_entity_names(wanted, timeout=20)  # waits until the endpoint wrote them
    if not wanted or not tables.table_exists("system.serving.served_entities"):
        return pd.DataFrame(columns=["served_entity_id", "served_entity_name", "entity_version"])
    rows = tables.read_rows("system.serving.served_entities", "served_entity_id", wanted)
    rows = rows.sort_values("change_time").drop_duplicates("served_entity_id", keep="last")
    return rows[["served_entity_id", "served_entity_name", "entity_name", "entity_version"]]


def q11_scenario(lab) -> dict:
    """Four requests (one bad) to ``exam-ab``, created with an AI Gateway inference table, and
    the table's rows for them joined to ``system.serving.served_entities`` (once)."""

    def run() -> dict:
        import requests

        from recipes.serving import traffic

        w, conn = lab.serving()
        name = endpoint(lab, "ab")
        gateway = w.serving_endpoints.get(name).ai_gateway
        tag = f"q11-{uuid.uuid4().hex[:6]}"
        ids = []
        with requests.Session() as s:
            for i, rec in enumerate([*live_records(3, seed=11), {"total_purchases": "fifteen"}]):
                crid = f"{tag}-{i}"
                ids.append(crid)
                post(s, conn, name, encode([rec], "dataframe_records", client_request_id=crid))
        rows = traffic.captured_rows(payload_table(name), ids, timeout=20)
        rows = rows.sort_values("client_request_id").reset_index(drop=True)
        columns = list(rows.columns)
        if len(rows):
            entities = _served_entities(rows["served_entity_id"].dropna())
            rows = rows.merge(entities, on="served_entity_id", how="left")
        answered = rows[rows["status_code"] == 200] if len(rows) else rows
        who = answered.reindex(columns=["served_entity_name", "entity_version"]).dropna()
        return {
            "sent": len(ids),
            "rows": len(rows),
            "columns": columns,
            "status_codes": rows["status_code"].tolist() if len(rows) else [],
            "gateway": gateway.as_dict() if gateway is not None else {},
            "answered": sorted({f"{n} v{v}" for n, v in who.itertuples(index=False)}),
            "served": sorted(set(who["served_entity_name"])),
            "versions": sorted(set(who["entity_version"])),
            "table": payload_table(name),
            "frame": rows[
                [
                    "client_request_id",
                    "status_code",
                    "execution_duration_ms",
                    "served_entity_name",
                    "entity_version",
                    "request",
                    "response",
                ]
            ]
            if len(rows)
            else rows,
        }

    return lab.once("q11", run)


def _q11(lab, fits_fn) -> Outcome:
    s = q11_scenario(lab)
    ev = {k: v for k, v in s.items() if k != "frame"}
    ev["legacy_columns"] = [c for c in LEGACY_COLUMNS if c in s["columns"]]
    ev["version_column"] = [c for c in s["columns"] if "version" in c]
    happened = (
        f"{s['sent']} requests (one of them bad) gave {s['rows']} rows in {s['table']}, "
        f"status codes {s['status_codes']}. Columns: {', '.join(s['columns'])}: none holds "
        "the model's version. Joined on served_entity_id, system.serving.served_entities "
        f"names who answered: {', '.join(s['answered']) or 'nobody'}."
    )
    frame = s["frame"].copy()
    for c in ("request", "response"):
        if c in frame:
            frame[c] = frame[c].astype(str).str.slice(0, 60)
    code = (
        f'w.serving_endpoints.create(name="{AB}", config=..., ai_gateway=AiGatewayConfig('
        "inference_table_config=AiGatewayInferenceTableConfig(catalog_name="
        f'"{CAPTURE_SCHEMA[0]}", schema_name="{CAPTURE_SCHEMA[1]}", '
        f'table_name_prefix="{AB.replace("-", "_")}", enabled=True)))'
    )
    return Outcome(
        happened,
        fits=fits_fn(s),
        evidence=ev,
        table=frame,
        table_title=f"{s['table']} ⋈ system.serving.served_entities",
        code=code,
    )


def q11_a(lab) -> Outcome:
    """The legacy call, as the pre-2026 documentation wrote it: Databricks refuses it now."""
    from databricks.sdk.errors import DatabricksError, NotFound
    from databricks.sdk.service.serving import AutoCaptureConfigInput, EndpointCoreConfigInput

    from recipes import tables

    m = lab.registry()
    w, _ = lab.serving()
    config = EndpointCoreConfigInput(
        name=LEGACY,
        served_entities=[entity(f"v{m.v1}", m.name, m.v1)],
        auto_capture_config=AutoCaptureConfigInput(
            catalog_name=CAPTURE_SCHEMA[0],
            schema_name=CAPTURE_SCHEMA[1],
            table_name_prefix=LEGACY.replace("-", "_"),
            enabled=True,
        ),
    )
    refusal = error_code = None
    try:
        w.serving_endpoints.create(name=LEGACY, config=config)
        lab._endpoints.append(LEGACY)  # accepted after all: the lab deletes it
    except DatabricksError as exc:
        refusal, error_code = " ".join(str(exc).split()), exc.error_code
    try:
        w.serving_endpoints.get(LEGACY)
        created = True
    except NotFound:
        created = False
    table = payload_table(LEGACY)
    made_table = tables.table_exists(table)
    if refusal is None:
        happened = f"Accepted: {LEGACY} was created with a legacy inference table."
    else:
        happened = (
            f"Refused with {error_code}: {refusal} No endpoint was created "
            f"({LEGACY} {'exists' if created else 'does not exist'}) and no table "
            f"{table} {'appeared' if made_table else 'was made'}."
        )
    code = (
        f'w.serving_endpoints.create(name="{LEGACY}", config=EndpointCoreConfigInput(..., '
        f'auto_capture_config=AutoCaptureConfigInput(catalog_name="{CAPTURE_SCHEMA[0]}", '
        f'schema_name="{CAPTURE_SCHEMA[1]}", enabled=True)))'
    )
    # databricks-sdk marks the class itself deprecated (databricks.sdk.service.serving)
    deprecated = (AutoCaptureConfigInput.__doc__ or "").strip().startswith("Deprecated")
    return Outcome(
        happened,
        fits=refusal is None and created,
        evidence={
            "refused": refusal is not None,
            "error_code": error_code,
            "refusal": refusal,
            "names_gateway": bool(refusal and "ai_gateway.inference_table_config" in refusal),
            "created": created,
            "table_made": made_table,
            "sdk_deprecated": deprecated,
        },
        code=code,
        error=refusal,
    )


def q11_b(lab) -> Outcome:
    need = {
        "request",
        "response",
        "status_code",
        "execution_duration_ms",
        "request_time",
        "served_entity_id",
    }
    return _q11(
        lab,
        lambda s: (
            need <= set(s["columns"])
            and s["rows"] == s["sent"]
            and bool(s["gateway"].get("inference_table_config", {}).get("enabled"))
            and bool(s["versions"])
        ),
    )


def q11_c(lab) -> Outcome:
    return _q11(lab, lambda s: s["rows"] > 0 and all(c != 200 for c in s["status_codes"]))


def q11_d(lab) -> Outcome:
    return _q11(lab, lambda s: s["rows"] < s["sent"] and "request" not in s["columns"])


QUESTION = Question(
    order=11,
    topic="Inference Tables",
    text=(
        "A custom model serving endpoint must log its traffic to an inference table in Unity "
        "Catalog. How is that turned on today, and what does the table record?"
    ),
    options=(
        Option(
            "A",
            "Add `auto_capture_config=AutoCaptureConfigInput(catalog_name=..., schema_name=..., "
            "enabled=True)` to the endpoint's config; the table records each request and its "
            "response.",
            q11_a,
        ),
        Option(
            "B",
            "Turn on the endpoint's AI Gateway inference table "
            "(`ai_gateway=AiGatewayConfig(inference_table_config=AiGatewayInferenceTableConfig(...))` "
            "on create, `put_ai_gateway` later); it records each request and its response as "
            "JSON, with the status code, execution time, request time and the id of the served "
            "entity that answered.",
            q11_b,
        ),
        Option(
            "C",
            "Turn on the AI Gateway inference table; it records only the requests that failed.",
            q11_c,
        ),
        Option(
            "D",
            "Turn on the AI Gateway inference table; it records daily totals of requests "
            "and errors per endpoint.",
            q11_d,
        ),
    ),
    answer="B",
    # Sources: databricks-sdk 0.167, databricks.sdk.service.serving.AutoCaptureConfigInput
    # ("Deprecated: legacy inference table configuration. Please use AI Gateway inference
    # tables instead"); Databricks "Inference tables for monitoring and debugging models"
    # (docs.databricks.com/aws/en/machine-learning/model-serving/inference-tables, the legacy
    # page): legacy tables can not be enabled on new or existing endpoints from 2026-02-20
    # and are no longer supported from 2026-03-20; "Monitor served models using AI
    # Gateway-enabled inference tables" (docs.databricks.com/aws/en/ai-gateway/inference-tables):
    # the table's schema and the join on served_entity_id to system.serving.served_entities.
    # The run's rows hold exactly those columns (recipes.endpoint.capture.PAYLOAD_SCHEMA).
    explanation=(
        "Since February 20, 2026 Databricks refuses the legacy `auto_capture_config` on new and "
        "existing endpoints, with a 400 that points to `ai_gateway.inference_table_config` "
        "(option A's run gets that refusal), and since March 20, 2026 it no longer supports "
        "the legacy tables at all; the databricks-sdk marks `AutoCaptureConfigInput` "
        "deprecated. The inference table is now part of the endpoint's AI Gateway: "
        "`ai_gateway=AiGatewayConfig(inference_table_config=AiGatewayInferenceTableConfig("
        "catalog_name, schema_name, table_name_prefix, enabled=True))` on create, or "
        "`w.serving_endpoints.put_ai_gateway(name, inference_table_config=...)` later, and a "
        "config update keeps it. The table `<catalog>.<schema>.<prefix>_payload` is a raw log, "
        "one row per request, failed ones too: `request_date`, `request_time`, "
        "`databricks_request_id`, your `client_request_id`, `status_code`, "
        "`sampling_fraction`, `execution_duration_ms`, `request` and `response` as JSON text, "
        "`served_entity_id`, `logging_error_codes` and `requester`. No column holds the model "
        "or its version: join `served_entity_id` to `system.serving.served_entities` for the "
        "served entity's name, model and version. The legacy table's `timestamp_ms`, "
        "`execution_time_ms`, `date` and `request_metadata` (which carried the version) are "
        "gone. Features, predictions and aggregates come later, when you unpack the JSON and "
        "monitor it."
    ),
    needs=frozenset({"registry", "serving"}),
    prepare=warm("ab"),
)
