"""The AI Gateway of an endpoint: its inference table and rate limits, as Databricks serves them.

``ai_gateway`` on create and ``PUT /api/2.0/serving-endpoints/{name}/ai-gateway``
(``w.serving_endpoints.put_ai_gateway``) are parsed by :func:`parse_gateway` into a
:class:`Gateway`, which is endpoint state (a config update keeps it) and renders back with
:meth:`Gateway.to_json` in the shape ``AiGatewayConfig.from_dict`` reads.

- ``inference_table_config`` becomes an :class:`InferenceTableSpec`; the table is
  ``<catalog>.<schema>.<table_name_prefix>_payload`` and the prefix defaults to the endpoint's
  name (dashes as underscores). :mod:`.capture` writes it.
- ``rate_limits`` with ``key: endpoint`` are enforced by :func:`check_rate_limit` over a
  sliding 60 s window (Databricks documents a sliding window for its serving rate limits):
  call N+1 within any 60 s is a 429 ``REQUEST_LIMIT_EXCEEDED``. The local endpoint has one
  bearer token and no users, so ``key: user`` (and groups, service principals, ``principal``)
  and token-based limits (``tokens``) are refused with a 400 naming the field.
- ``usage_tracking_config``, ``guardrails`` and ``fallback_config`` are refused with a 400,
  except ``{"enabled": false}`` for usage tracking and fallbacks, which is what the local
  endpoint does anyway.
- The legacy ``auto_capture_config`` is refused as Databricks refuses it since 2026-02-20
  (:func:`refuse_auto_capture`); configs persisted by older kits migrate on restore
  (:func:`from_legacy_capture`).
"""

from __future__ import annotations

import re
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from recipes.errors import ApiError, invalid

TABLE_PART = re.compile(r"^[A-Za-z0-9_]+$")
WINDOW_SECONDS = 60.0
GATEWAY_KEYS = frozenset(
    {
        "inference_table_config",
        "rate_limits",
        "usage_tracking_config",
        "guardrails",
        "fallback_config",
    }
)
TABLE_KEYS = frozenset({"catalog_name", "schema_name", "table_name_prefix", "enabled"})
LIMIT_KEYS = frozenset({"calls", "key", "renewal_period", "principal", "tokens"})
PER_CALLER_KEYS = ("user", "user_group", "service_principal")
LEGACY_REFUSAL = (
    "auto_capture_config: legacy inference tables can not be enabled on new or existing model "
    "serving endpoints (since February 20, 2026). Use AI Gateway-enabled inference tables "
    "instead: ai_gateway.inference_table_config (on create, or "
    "w.serving_endpoints.put_ai_gateway(name, inference_table_config=...)); see "
    "https://docs.databricks.com/aws/en/ai-gateway/inference-tables."
)


@dataclass(frozen=True)
class InferenceTableSpec:
    """``ai_gateway.inference_table_config``: where the AI Gateway inference table goes.

    The names may be None only while ``enabled`` is false and none was ever given.
    """

    catalog_name: str | None
    schema_name: str | None
    table_name_prefix: str
    enabled: bool = True

    @property
    def payload_table(self) -> str:
        return f"{self.catalog_name}.{self.schema_name}.{self.table_name_prefix}_payload"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "catalog_name": self.catalog_name,
            "schema_name": self.schema_name,
            "table_name_prefix": self.table_name_prefix,
            "enabled": self.enabled,
        }
        return {k: v for k, v in out.items() if v is not None}


@dataclass(frozen=True)
class RateLimit:
    """One ``ai_gateway.rate_limits`` entry the local endpoint enforces (``key: endpoint``)."""

    calls: int
    key: str = "endpoint"
    renewal_period: str = "minute"

    def to_json(self) -> dict[str, Any]:
        return {"calls": self.calls, "key": self.key, "renewal_period": self.renewal_period}


@dataclass(frozen=True)
class Gateway:
    """An endpoint's AI Gateway (empty when it has none)."""

    inference_table: InferenceTableSpec | None = None
    rate_limits: tuple[RateLimit, ...] = ()
    usage_tracking_enabled: bool | None = None  # only ever False: sent as {"enabled": false}
    fallback_enabled: bool | None = None  # likewise
    endpoint_calls: int | None = field(init=False, compare=False, repr=False, default=None)

    def __post_init__(self) -> None:
        calls = [r.calls for r in self.rate_limits if r.key == "endpoint"]
        object.__setattr__(self, "endpoint_calls", min(calls) if calls else None)

    def __bool__(self) -> bool:
        return bool(self.to_json())

    def to_json(self) -> dict[str, Any]:
        """The ``ai_gateway`` of ``get``/``list`` and the ``put_ai_gateway`` answer."""
        out: dict[str, Any] = {}
        if self.inference_table is not None:
            out["inference_table_config"] = self.inference_table.to_json()
        if self.rate_limits:
            out["rate_limits"] = [r.to_json() for r in self.rate_limits]
        if self.usage_tracking_enabled is not None:
            out["usage_tracking_config"] = {"enabled": self.usage_tracking_enabled}
        if self.fallback_enabled is not None:
            out["fallback_config"] = {"enabled": self.fallback_enabled}
        return out


class CallWindow:
    """The times of the calls admitted in the last 60 s, for ``key: endpoint`` limits."""

    __slots__ = ("times",)

    def __init__(self) -> None:
        self.times: deque[float] = deque()

    def admit(self, limit: int, now: float) -> float | None:
        """Record a call and return None, or the seconds until one is allowed again."""
        times, cutoff = self.times, now - WINDOW_SECONDS
        while times and times[0] <= cutoff:
            times.popleft()
        if len(times) >= limit:
            return times[len(times) - limit] + WINDOW_SECONDS - now if limit else WINDOW_SECONDS
        times.append(now)
        return None


def check_rate_limit(ep, now: float | None = None) -> None:
    """Admit one invocation of ``ep`` or raise the 429 Databricks answers.

    Raises:
        ApiError: 429 ``REQUEST_LIMIT_EXCEEDED`` when the endpoint's ``key: endpoint`` limit
            has been reached within the last 60 s.
    """
    limit = ep.gateway.endpoint_calls
    if limit is None:
        return
    wait = ep.calls.admit(limit, time.monotonic() if now is None else now)
    if wait is not None:
        raise ApiError(
            429,
            "REQUEST_LIMIT_EXCEEDED",
            f"REQUEST_LIMIT_EXCEEDED: Exceeded endpoint rate limit for {ep.name}: {limit} calls "
            f"per minute (ai_gateway.rate_limits, key endpoint). Retry in {max(1, round(wait))} s.",
        )


# -- parsing -------------------------------------------------------------------------------
def refuse_unknown(raw: dict, allowed: frozenset, where: str) -> None:
    """A 400 naming the keys of ``raw`` outside ``allowed`` (nothing is accepted and ignored)."""
    extra = sorted(k for k in raw if k not in allowed)
    if extra:
        raise invalid(
            f"{where} has unknown field(s) {', '.join(map(repr, extra))}: the fields are "
            f"{', '.join(sorted(allowed))}."
        )


def _name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not TABLE_PART.match(value):
        raise invalid(f"{where} {value!r}: use letters, digits and underscores.")
    return value.lower()


def parse_inference_table(
    raw: Any,
    *,
    endpoint: str,
    where: str = "ai_gateway.inference_table_config",
    current: InferenceTableSpec | None = None,
) -> InferenceTableSpec | None:
    """Validate an ``inference_table_config`` (None stays None).

    ``current`` is the endpoint's table on an update: its names cannot change while it is
    enabled (Databricks: "you have to disable inference table first"), and a bare
    ``{"enabled": false}`` keeps them.
    """
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise invalid(f"{where} must be an object with catalog_name, schema_name and enabled.")
    refuse_unknown(raw, TABLE_KEYS, where)
    enabled = raw.get("enabled", False)
    if not isinstance(enabled, bool):
        raise invalid(f"{where}.enabled must be true or false, got {enabled!r}.")
    given = {k: raw.get(k) for k in ("catalog_name", "schema_name", "table_name_prefix")}
    if current is not None:  # omitted names keep the endpoint's
        given = {k: getattr(current, k) if v is None else v for k, v in given.items()}
    if given["table_name_prefix"] is None:
        given["table_name_prefix"] = endpoint.replace("-", "_")
    for key in ("catalog_name", "schema_name"):
        if given[key] is None and enabled:
            raise invalid(f"{where}.{key} is required when enabling inference tables.")
    parts = {k: None if v is None else _name(v, f"{where}.{k}") for k, v in given.items()}
    spec = InferenceTableSpec(**parts, enabled=enabled)
    if current is not None and current.enabled and enabled:
        for key in ("catalog_name", "schema_name", "table_name_prefix"):
            if getattr(spec, key) != getattr(current, key):
                raise invalid(
                    f"{where}.{key} cannot change while the inference table is enabled: "
                    "disable it first (enabled: false), then enable it with the new name."
                )
    return spec


def _rate_limit(raw: Any, i: int, where: str) -> RateLimit:
    where = f"{where}[{i}]"
    if not isinstance(raw, dict):
        raise invalid(f"{where} must be an object with calls, key and renewal_period.")
    refuse_unknown(raw, LIMIT_KEYS, where)
    key = raw.get("key") or "endpoint"
    if key in PER_CALLER_KEYS:
        raise invalid(
            f"{where}.key {key!r} is not enforced locally: the local endpoint has one bearer "
            "token and no users, groups or service principals. Use key 'endpoint'."
        )
    if key != "endpoint":
        raise invalid(f"{where}.key {key!r}: use 'endpoint' (the local endpoint has no users).")
    if raw.get("principal") is not None:
        raise invalid(f"{where}.principal is for per-user limits, which are not enforced locally.")
    if raw.get("tokens") is not None:
        raise invalid(
            f"{where}.tokens: token-based limits are for LLM endpoints; the local endpoint "
            "serves MLflow models and enforces calls per minute."
        )
    period = raw.get("renewal_period")
    if period != "minute":
        raise invalid(f"{where}.renewal_period must be 'minute', got {period!r}.")
    calls = raw.get("calls")
    if isinstance(calls, bool) or not isinstance(calls, int) or calls < 0:
        raise invalid(f"{where}.calls must be a whole number of calls per minute, got {calls!r}.")
    return RateLimit(calls=calls, key=key, renewal_period=period)


def _disabled_only(raw: Any, where: str, what: str) -> bool | None:
    """``{"enabled": false}`` (what the local endpoint does) or None; anything else a 400."""
    if raw is None or raw == {}:
        return None
    if isinstance(raw, dict) and set(raw) <= {"enabled"} and raw.get("enabled") is False:
        return False
    raise invalid(
        f'{where} is not imitated locally ({what}): omit it or send {{"enabled": false}}.'
    )


def parse_gateway(
    raw: Any, *, endpoint: str, where: str = "ai_gateway", current: Gateway | None = None
) -> Gateway:
    """Validate an ``ai_gateway`` object (create) or a ``put_ai_gateway`` body (``current``).

    Raises:
        ApiError: 400 INVALID_PARAMETER_VALUE naming the first field not carried out.
    """
    if raw is None:
        return Gateway()
    if not isinstance(raw, dict):
        raise invalid(f"{where} must be an object (AiGatewayConfig).")
    refuse_unknown(raw, GATEWAY_KEYS, where)
    if raw.get("guardrails"):
        raise invalid(
            f"{where}.guardrails is not imitated locally (safety, PII and keyword filters are for "
            "LLM endpoints): omit it."
        )
    limits = raw.get("rate_limits") or []
    if not isinstance(limits, list):
        raise invalid(f"{where}.rate_limits must be a list of rate limits.")
    parsed = tuple(_rate_limit(r, i, f"{where}.rate_limits") for i, r in enumerate(limits))
    if sum(r.key == "endpoint" for r in parsed) > 1:
        raise invalid(f"{where}.rate_limits has more than one limit with key 'endpoint'.")
    table = parse_inference_table(
        raw.get("inference_table_config"),
        endpoint=endpoint,
        where=f"{where}.inference_table_config",
        current=current.inference_table if current is not None else None,
    )
    return Gateway(
        inference_table=table,
        rate_limits=parsed,
        usage_tracking_enabled=_disabled_only(
            raw.get("usage_tracking_config"),
            f"{where}.usage_tracking_config",
            "usage tracking writes Databricks system tables",
        ),
        fallback_enabled=_disabled_only(
            raw.get("fallback_config"),
            f"{where}.fallback_config",
            "fallbacks retry a failed request on the endpoint's other served entities",
        ),
    )


def refuse_auto_capture(raw: Any, where: str = "config") -> None:
    """A 400 for a legacy ``auto_capture_config`` (``{"enabled": false}`` alone is the state)."""
    if raw is None:
        return
    if isinstance(raw, dict) and raw.get("enabled") is False:
        return  # disabling legacy tables is allowed, and there are none locally
    raise invalid(LEGACY_REFUSAL.replace("auto_capture_config", f"{where}.auto_capture_config", 1))


def from_legacy_capture(raw: Any, *, endpoint: str) -> InferenceTableSpec | None:
    """A persisted legacy ``auto_capture_config`` as the AI Gateway table (restore only)."""
    if not isinstance(raw, dict):
        return None
    return parse_inference_table(
        {"enabled": True, **{k: v for k, v in raw.items() if k in TABLE_KEYS}},
        endpoint=endpoint,
        where="auto_capture_config",
    )
