"""The metric tables' names, next to the watched table (their columns and types:
test_compute.py, which writes them and queries them with Databricks' demo SQL)."""

from __future__ import annotations

import pytest

from recipes.errors import ParameterError
from recipes.monitoring import metric_table_names


def test_names_follow_the_watched_table():
    names = metric_table_names("main.mdk.churn_ab_payload")
    assert names.profile == "main.mdk.churn_ab_payload_profile_metrics"
    assert names.drift == "main.mdk.churn_ab_payload_drift_metrics"
    assert names.baseline == "main.mdk.churn_ab_payload_baseline"
    with pytest.raises(ParameterError):
        metric_table_names("no dots here!")
