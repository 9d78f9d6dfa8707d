"""Which fields of a monitor's create/update body the local monitor carries out, and the 400
for each one it does not.

The fields are those of the databricks-sdk's ``QualityMonitorsAPI.create`` and ``update``
(``databricks.sdk.service.catalog``). A field the local monitor does not carry out is refused
with 400 INVALID_PARAMETER_VALUE naming it, never stored and echoed back: a rehearsal that
accepts a setting and ignores it teaches that the code works.
"""

from __future__ import annotations

from recipes.errors import invalid

# carried out (checked in checks.py, metrics.py, schedule.py)
CARRIED = (
    "output_schema_name",
    "assets_dir",
    "baseline_table_name",
    "inference_log",
    "time_series",
    "snapshot",
    "slicing_exprs",
    "custom_metrics",
    "schedule",
    "skip_builtin_dashboard",
    "data_classification_config",
    "notifications",
)
# MonitorInfo's fields the service sets ([Create:ERR Update:IGN] in the SDK's docs)
READ_ONLY = (
    "table_name",
    "status",
    "profile_metrics_table_name",
    "drift_metrics_table_name",
    "monitor_version",
    "latest_monitor_failure_msg",
)
_NOT_IMITATED = "the local monitor does not imitate it"


def _present(body: dict, key: str) -> bool:
    return body.get(key) is not None


def refuse_unsupported(body: dict, *, create: bool, assets_dir: str | None = None) -> None:
    """Refuse what the local monitor does not carry out, before anything is checked or stored.

    Args:
        body: the create (``create=True``) or update body.
        assets_dir: on update, the monitor's own (an update cannot move it).

    Raises:
        ApiError: 400 INVALID_PARAMETER_VALUE naming the first such field.
    """
    for key in body:
        if not _present(body, key) or key in CARRIED:
            continue
        if key in READ_ONLY:
            raise invalid(f"{key} is set by the monitor, not by a request: leave it out.")
        if key == "warehouse_id":
            raise invalid(
                f"warehouse_id: {_NOT_IMITATED}. Databricks uses the warehouse for the "
                "monitor's dashboard; the local monitor makes no dashboard and runs its "
                "refreshes in local Spark. Leave warehouse_id out."
            )
        if key == "dashboard_id":
            raise invalid(
                f"dashboard_id: {_NOT_IMITATED}; the local monitor makes no dashboard. "
                "Leave dashboard_id out."
            )
        raise invalid(f"{key} is not a field of the monitor's create or update body.")
    if not create and _present(body, "skip_builtin_dashboard"):
        raise invalid("skip_builtin_dashboard is a create field: update does not take it.")
    if create and body.get("skip_builtin_dashboard") is False:
        raise invalid(
            f"skip_builtin_dashboard=False: {_NOT_IMITATED}; the local monitor makes no "
            "dashboard. Pass skip_builtin_dashboard=True and read the metric tables."
        )
    if _present(body, "skip_builtin_dashboard") and not isinstance(
        body["skip_builtin_dashboard"], bool
    ):
        raise invalid("skip_builtin_dashboard must be true or false.")
    if not create and _present(body, "assets_dir") and body["assets_dir"] != assets_dir:
        raise invalid(
            f"assets_dir cannot be changed by update (it is {assets_dir!r}): "
            "delete and create the monitor to move it."
        )
    notifications = body.get("notifications")
    if notifications:  # an empty MonitorNotifications() asks for nothing
        raise invalid(
            f"notifications: {_NOT_IMITATED}; it sends no e-mail. A refresh's failure is in "
            "get_refresh(...).message and get(...).latest_monitor_failure_msg. Leave "
            "notifications out."
        )
    classification = body.get("data_classification_config")
    if classification is not None:
        if not isinstance(classification, dict) or set(classification) - {"enabled"}:
            raise invalid("data_classification_config must be {'enabled': true|false}.")
        if classification.get("enabled"):
            raise invalid(
                f"data_classification_config: {_NOT_IMITATED}; it classifies no data. "
                "Leave it out (or enabled=False)."
            )


def classification(body: dict) -> dict | None:
    """The ``data_classification_config`` to store: what was given, when it is not enabled."""
    value = body.get("data_classification_config")
    return value if isinstance(value, dict) and value else None
