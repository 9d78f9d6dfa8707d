"""Monitoring: from the inference table to profile, drift and quality metrics and a verdict.

Everything heavy runs in Spark as one aggregation per metric family; only aggregates
(windows × versions × columns, or histogram bins) reach the driver, where scipy computes
the statistics. Nothing is imported at package import time beyond these small modules.

- :func:`~recipes.monitoring.unpack.unpack_inference_table`: payload rows → scored records;
- :func:`~recipes.monitoring.processed.process_inference_table`: unpack once into a processed
  table, then append only what the payload table's change data feed adds;
- :func:`~recipes.monitoring.compute.compute_metrics`: a monitor's profile and drift tables in
  Databricks' shape (:mod:`.schema`): per granularity, window, model (``'*'`` = all), slice
  and column, ``':table'`` rows with quality from the label and custom metrics, for an
  inference log, a time series or a snapshot (:class:`~recipes.monitoring.spec.Spec`);
  :func:`~recipes.monitoring.compute.profile_metrics` and
  :func:`~recipes.monitoring.compute.drift_metrics` one table each (KS, PSI, JS,
  Wasserstein, chi²; CONSECUTIVE and BASELINE);
- :func:`~recipes.monitoring.quality.quality_metrics`: late labels joined, per version;
- :func:`~recipes.monitoring.output.write_metrics`: ``<table>_profile_metrics`` and
  ``<table>_drift_metrics``;
- :func:`~recipes.monitoring.refresh.wait_for_refresh`: wait on a quality-monitor refresh
  (``w.quality_monitors.run_refresh``), on Databricks or the local endpoint;
- :func:`~recipes.monitoring.verdict.verdict` and :func:`~recipes.monitoring.act.carry_out`;
- :mod:`~recipes.monitoring.retrain`: 08's checks and its decision to retrain;
- :mod:`~recipes.monitoring.plots` and :mod:`~recipes.monitoring.summary`: drift over
  windows, quality per version (:func:`~recipes.monitoring.summary.quality_by_model`, from
  the ``':table'`` rows), and rounded views for a notebook.
"""

from recipes.monitoring.act import Action, carry_out
from recipes.monitoring.compute import Metrics, compute_metrics, drift_metrics, profile_metrics
from recipes.monitoring.output import MetricTables, metric_table_names, write_metrics
from recipes.monitoring.plots import plot_drift, plot_quality, plot_violations
from recipes.monitoring.processed import Processed, next_version, process_inference_table
from recipes.monitoring.quality import quality_metrics
from recipes.monitoring.refresh import drop_monitor, wait_for_refresh
from recipes.monitoring.schema import ALL, DRIFT_COLUMNS, PROFILE_COLUMNS, TABLE
from recipes.monitoring.spec import Spec
from recipes.monitoring.summary import quality_by_model, summarize_drift, summarize_profile
from recipes.monitoring.unpack import unpack_inference_table
from recipes.monitoring.verdict import DECISIONS, Thresholds, Verdict, flag_drift, verdict
from recipes.monitoring.windows import check_granularity

__all__ = [
    "ALL",
    "DECISIONS",
    "DRIFT_COLUMNS",
    "PROFILE_COLUMNS",
    "TABLE",
    "Action",
    "MetricTables",
    "Metrics",
    "Processed",
    "Spec",
    "Thresholds",
    "Verdict",
    "carry_out",
    "check_granularity",
    "compute_metrics",
    "drift_metrics",
    "drop_monitor",
    "flag_drift",
    "metric_table_names",
    "next_version",
    "plot_drift",
    "plot_quality",
    "plot_violations",
    "process_inference_table",
    "profile_metrics",
    "quality_by_model",
    "quality_metrics",
    "summarize_drift",
    "summarize_profile",
    "unpack_inference_table",
    "verdict",
    "wait_for_refresh",
    "write_metrics",
]
