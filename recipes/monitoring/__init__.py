"""Monitoring: from the inference table to profile, drift and quality metrics and a verdict.

Everything heavy runs in Spark as one aggregation per metric family; only aggregates
(windows × versions × columns, or histogram bins) reach the driver, where scipy computes
the statistics. Nothing is imported at package import time beyond these small modules.

- :func:`~recipes.monitoring.unpack.unpack_inference_table`: payload rows → scored records;
- :func:`~recipes.monitoring.processed.process_inference_table`: unpack once into a processed
  table, appending only requests it has not seen;
- :func:`~recipes.monitoring.profile.profile_metrics`: per window, version and column;
- :func:`~recipes.monitoring.drift.drift_metrics`: KS, PSI, JS, Wasserstein, chi²;
  CONSECUTIVE and BASELINE;
- :func:`~recipes.monitoring.quality.quality_metrics`: late labels joined, per version;
- :func:`~recipes.monitoring.output.write_metrics`: ``<table>_profile_metrics`` and
  ``<table>_drift_metrics``;
- :func:`~recipes.monitoring.refresh.wait_for_refresh`: wait on a quality-monitor refresh
  (``w.quality_monitors.run_refresh``), on Databricks or the local endpoint;
- :func:`~recipes.monitoring.verdict.verdict` and :func:`~recipes.monitoring.act.carry_out`;
- :mod:`~recipes.monitoring.plots` and :mod:`~recipes.monitoring.summary`: drift over
  windows, quality per version, and rounded views for a notebook.
"""

from recipes.monitoring.act import Action, carry_out
from recipes.monitoring.drift import DRIFT_COLUMNS, drift_metrics
from recipes.monitoring.output import MetricTables, metric_table_names, write_metrics
from recipes.monitoring.plots import plot_drift, plot_quality
from recipes.monitoring.processed import Processed, process_inference_table
from recipes.monitoring.profile import ALL, PROFILE_COLUMNS, profile_metrics
from recipes.monitoring.quality import quality_metrics
from recipes.monitoring.refresh import drop_monitor, wait_for_refresh
from recipes.monitoring.summary import summarize_drift, summarize_profile
from recipes.monitoring.unpack import unpack_inference_table
from recipes.monitoring.verdict import DECISIONS, Thresholds, Verdict, flag_drift, verdict
from recipes.monitoring.windows import check_granularity

__all__ = [
    "ALL",
    "DECISIONS",
    "DRIFT_COLUMNS",
    "PROFILE_COLUMNS",
    "Processed",
    "Action",
    "MetricTables",
    "Thresholds",
    "Verdict",
    "carry_out",
    "check_granularity",
    "drift_metrics",
    "drop_monitor",
    "flag_drift",
    "metric_table_names",
    "plot_drift",
    "plot_quality",
    "process_inference_table",
    "profile_metrics",
    "quality_metrics",
    "summarize_drift",
    "summarize_profile",
    "unpack_inference_table",
    "verdict",
    "wait_for_refresh",
    "write_metrics",
]
