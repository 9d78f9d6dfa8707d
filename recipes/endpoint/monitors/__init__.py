"""Lakehouse Monitoring on the local endpoint: the quality-monitors API of Unity Catalog.

``/api/2.1/unity-catalog/tables/{table_name}/monitor`` (create, get, update, delete) and
``.../monitor/refreshes`` (run, list, get, cancel), as the databricks-sdk's
``w.quality_monitors`` calls them. A monitor watches a local table (``recipes.tables``) as
an ``inference_log``, a ``time_series`` or a ``snapshot``; its state is JSON under
``$MDK_HOME/serving/monitors/<table>/`` (the document: :mod:`.checks`). A field of the
create/update body the local monitor does not carry out is refused with a 400 naming it
(:mod:`.fields`); ``slicing_exprs`` and ``custom_metrics`` are checked in :mod:`.metrics`.

A refresh runs as a job in its own process (``recipes.monitoring.refresh``, in a classic
local Spark session; this process never imports pyspark), its output appended to
``$MDK_HOME/logs/monitor-<table>.log``. The endpoint writes a refresh's PENDING state and,
once the job is gone, any state the job could not write (CANCELED, or FAILED when it died);
the job writes RUNNING, SUCCESS and FAILED. As on Databricks, creating a monitor queues a
first refresh, and ``run_refresh`` queues one: one refresh runs at a time per table, the
next waits PENDING. A monitor's ``schedule`` (a Quartz cron expression) queues refreshes
with trigger ``SCHEDULE`` while the endpoint runs (:mod:`.schedule`); a firing while one of
the table's refreshes is PENDING or RUNNING is skipped.
"""

from recipes.endpoint.monitors.manager import Monitors
from recipes.endpoint.monitors.routes import API, routes

__all__ = ["API", "Monitors", "routes"]
