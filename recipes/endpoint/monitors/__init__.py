"""Lakehouse Monitoring on the local endpoint: the quality-monitors API of Unity Catalog.

``/api/2.1/unity-catalog/tables/{table_name}/monitor`` (create, get, update, delete) and
``.../monitor/refreshes`` (run, list, get, cancel), as the databricks-sdk's
``w.quality_monitors`` calls them. A monitor watches a local table (``recipes.tables``) as
an ``inference_log``; its state is JSON under ``$MDK_HOME/serving/monitors/<table>/``.

A refresh runs as a job in its own process (``recipes.monitoring.refresh``, in a classic
local Spark session; this process never imports pyspark), its output appended to
``$MDK_HOME/logs/monitor-<table>.log``. The endpoint writes a refresh's PENDING state and,
once the job is gone, any state the job could not write (CANCELED, or FAILED when it died);
the job writes RUNNING, SUCCESS and FAILED. As on Databricks, creating a monitor queues a
first refresh, and ``run_refresh`` queues one: one refresh runs at a time per table, the
next waits PENDING.
"""

from recipes.endpoint.monitors.manager import Monitors
from recipes.endpoint.monitors.routes import API, routes

__all__ = ["API", "Monitors", "routes"]
