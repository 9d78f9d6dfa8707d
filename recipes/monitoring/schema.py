"""The metric tables' columns and types, in Databricks' order (``<table>_profile_metrics`` and
``<table>_drift_metrics``, as a Lakehouse Monitoring refresh writes them).

The model column is named after the monitor's ``model_id_col`` (``'*'`` = every model) and sits
just before ``slice_key``; time-series and snapshot monitors have none. Inference monitors add
the model-quality columns; custom metrics add a column each, named after the metric. The kit's
own additions (:data:`KIT_PROFILE`, :data:`KIT_DRIFT`) come after Databricks' columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

ALL = "*"  # the model id of the rows over every model
TABLE = ":table"  # the column_name of the table-level rows

_WINDOW = "struct<start:timestamp,end:timestamp>"
_TEST = "struct<statistic:double,pvalue:double>"
_SCORES = "struct<one_vs_all:map<string,double>,macro:double,weighted:double>"

# Databricks' profile metrics table, before the model column (then after it)
PROFILE_KEYS = (
    ("window", _WINDOW),
    ("log_type", "string"),
    ("logging_table_commit_version", "int"),
    ("monitor_version", "bigint"),
    ("granularity", "string"),
)
PROFILE_STATS = (
    ("slice_key", "string"),
    ("slice_value", "string"),
    ("column_name", "string"),
    ("count", "bigint"),
    ("data_type", "string"),
    ("num_nulls", "bigint"),
    ("avg", "double"),
    ("quantiles", "array<double>"),
    ("min", "double"),
    ("max", "double"),
    ("stddev", "double"),
    ("num_zeros", "bigint"),
    ("num_nan", "bigint"),
    ("min_length", "double"),
    ("max_length", "double"),
    ("avg_length", "double"),
    ("non_null_columns", "array<string>"),
    ("frequent_items", "array<struct<item:string,count:bigint>>"),
    ("median", "double"),
    ("distinct_count", "bigint"),
    ("percent_nan", "double"),
    ("percent_null", "double"),
    ("percent_zeros", "double"),
    ("percent_distinct", "double"),
)
CLASSIFICATION = (
    ("accuracy_score", "double"),
    ("confusion_matrix", "array<struct<prediction:string,label:string,count:bigint>>"),
    ("precision", _SCORES),
    ("recall", _SCORES),
    ("f1_score", _SCORES),
)
REGRESSION = (
    ("mean_squared_error", "double"),
    ("root_mean_squared_error", "double"),
    ("mean_average_error", "double"),
    ("mean_absolute_percentage_error", "double"),
    ("r2_score", "double"),
)
KIT_PROFILE = (("mean_absolute_error", "double"),)  # = mean_average_error, sklearn's name

DRIFT_KEYS = (("window", _WINDOW), ("granularity", "string"), ("monitor_version", "bigint"))
DRIFT_STATS = (
    ("slice_key", "string"),
    ("slice_value", "string"),
    ("column_name", "string"),
    ("data_type", "string"),
    ("window_cmp", _WINDOW),
    ("drift_type", "string"),
    ("count_delta", "bigint"),
    ("avg_delta", "double"),
    ("percent_null_delta", "double"),
    ("percent_zeros_delta", "double"),
    ("percent_distinct_delta", "double"),
    ("non_null_columns_delta", "struct<added:int,missing:int>"),
    ("js_distance", "double"),
    ("ks_test", _TEST),
    ("wasserstein_distance", "double"),
    ("population_stability_index", "double"),
    ("chi_squared_test", _TEST),
    ("tv_distance", "double"),
    ("l_infinity_distance", "double"),
)
KIT_DRIFT = (("count", "bigint"), ("count_cmp", "bigint"))  # the two sides' counts

PROFILE_COLUMNS = tuple(c for c, _ in (*PROFILE_KEYS, *PROFILE_STATS))
DRIFT_COLUMNS = tuple(c for c, _ in (*DRIFT_KEYS, *DRIFT_STATS, *KIT_DRIFT))


def profile_fields(
    model_id_col: str | None = None,
    problem_type: str | None = None,
    custom: Iterable[tuple[str, str]] = (),
) -> list[tuple[str, str]]:
    """``(column, Spark DDL type)`` of a profile metrics table, in order: Databricks' keys,
    the model column, the statistics, the quality of ``problem_type`` (``classification`` or
    ``regression``; None: none), the kit's columns, then the ``custom`` metrics."""
    fields = [*PROFILE_KEYS, *([(model_id_col, "string")] if model_id_col else []), *PROFILE_STATS]
    if problem_type == "classification":
        fields += CLASSIFICATION
    elif problem_type == "regression":
        fields += [*REGRESSION, *KIT_PROFILE]
    return [*fields, *custom]


def drift_fields(
    model_id_col: str | None = None, custom: Iterable[tuple[str, str]] = ()
) -> list[tuple[str, str]]:
    """``(column, Spark DDL type)`` of a drift metrics table, in order."""
    model = [(model_id_col, "string")] if model_id_col else []
    return [*DRIFT_KEYS, *model, *DRIFT_STATS, *KIT_DRIFT, *custom]


def struct_type(fields: Sequence[tuple[str, str]]):
    """A Spark ``StructType`` of ``(name, DDL type)`` fields (needs an active session, which
    parses the DDL: ``DataType.fromDDL``)."""
    from pyspark.sql.types import DataType, StructField, StructType

    return StructType([StructField(name, DataType.fromDDL(ddl), True) for name, ddl in fields])
