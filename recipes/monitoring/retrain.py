"""The plumbing around 08's retraining loop: checks, the decision, and the lineage's words.

08 types the queries that count violations (MLOps Stacks' ``metric_violation_check_query``
and dbdemos' ``08_drift_detection``), the training, the registration and the gate. What is
here: the choices its parameters may take, one-line errors for a missing monitor or too
few labelled rows, and :func:`decide`, which says whether 08 trains, and why in one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from recipes.errors import NotFoundError, ParameterError

#: The profile table's quality columns 08 can watch (dbdemos' ``perf_metric`` choices).
QUALITY_METRICS = ("accuracy_score", "f1_score.macro", "precision.weighted", "recall.weighted")
#: The drift table's statistics 08 can watch (dbdemos' ``drift_metric`` choices).
DRIFT_METRICS = ("js_distance", "tv_distance", "l_infinity_distance", "chi_squared_test.statistic")
#: At least this many labelled rows in the training window, or 08 does not train.
MIN_TRAINING_ROWS = 100


def parse_columns(text: str) -> tuple[str, ...]:
    """Comma-separated column names (a notebook parameter), at least one."""
    names = tuple(n.strip() for n in str(text).split(",") if n.strip())
    if not names:
        raise ParameterError(
            f"drift_columns {text!r}: give comma-separated column names, e.g. 'churned,prediction'."
        )
    return names


@dataclass(frozen=True)
class Monitored:
    """What 06 left for 08: the A/B endpoint, the model it serves, and the monitor
    (``MonitorInfo``) on its processed inference table ``<payload table>_unpacked``."""

    endpoint: Any
    model_name: str
    table_name: str
    monitor: Any


def require_monitor(w: Any, endpoint_name: str) -> Monitored:
    """06's endpoint and the monitor on its processed table (``w.serving_endpoints.get``,
    ``w.quality_monitors.get``), or one line naming what is missing and 06, which makes both.
    08 creates neither, on any target."""
    from databricks.sdk.errors import NotFound

    from recipes.serving.deploy import payload_table
    from recipes.target import resolve

    def missing(what: str) -> NotFoundError:
        return NotFoundError(
            f"{what} is missing on target {resolve().name!r}: run "
            "notebooks/06_monitor.ipynb first (it makes the monitor 08 reads)."
        )

    try:
        endpoint = w.serving_endpoints.get(endpoint_name)
    except NotFound:
        raise missing(f"Serving endpoint {endpoint_name!r}") from None
    table = f"{payload_table(endpoint)}_unpacked"
    try:
        monitor = w.quality_monitors.get(table_name=table)
    except NotFound:
        raise missing(f"The monitor on {table}") from None
    return Monitored(endpoint, endpoint.config.served_entities[0].entity_name, table, monitor)


def latest_refresh(refreshes: list[Any] | None, table_name: str) -> Any:
    """The newest successful refresh among ``w.quality_monitors.list_refreshes``' answer."""
    done = [r for r in refreshes or [] if getattr(r.state, "value", r.state) == "SUCCESS"]
    if not done:
        raise NotFoundError(
            f"The monitor on {table_name} has no successful refresh: run "
            "w.quality_monitors.run_refresh(table_name=...) and wait for it."
        )
    return max(done, key=lambda r: (r.start_time_ms or 0, r.refresh_id))


def window_text(start: datetime, end: datetime) -> str:
    """A window as one ISO 8601 interval in UTC, ``2026-12-06T11:00:00Z/2026-12-06T12:00:00Z``
    (Spark's session time zone is UTC in every session the kit makes)."""
    return f"{start:%Y-%m-%dT%H:%M:%S}Z/{end:%Y-%m-%dT%H:%M:%S}Z"


def check_training_rows(rows: int, window: str, minimum: int = MIN_TRAINING_ROWS) -> None:
    """A one-line error when the training window has fewer than ``minimum`` labelled rows."""
    if rows < minimum:
        raise ParameterError(
            f"Only {rows} labelled rows in {window}: 08 trains on at least "
            f"{minimum}. Merge the labels (06) or send more traffic."
        )


@dataclass(frozen=True)
class Plan:
    """Whether 08 trains and registers a version, and why, in one line."""

    train: bool
    reason: str


def decide(
    violations: int,
    quality_violated: bool,
    *,
    force: bool,
    local: bool,
    register_on_workspace: bool,
) -> Plan:
    """Retrain when the monitor found violations or ``force`` asks; on a workspace only when
    ``register_on_workspace`` asks too (nothing is created there unasked)."""
    found = violations > 0 or quality_violated
    if not found and not force:
        return Plan(False, "no violations: nothing to retrain, the registry is unchanged")
    why = (
        "force=True"
        if not found
        else f"{violations} violation(s)"
        + (", quality below its threshold" if quality_violated else "")
    )
    if not local and not register_on_workspace:
        return Plan(
            False,
            f"{why}: a retrain is due, but on a workspace 08 trains and "
            "registers only with register_on_workspace=True; nothing was created",
        )
    return Plan(True, f"{why}: retrain on the latest window's labelled traffic")
