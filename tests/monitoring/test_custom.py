"""Definitions Spark refuses fail the computation with Spark's own message, naming the metric
(a refresh then ends FAILED with it), and so does a slicing expression."""

from __future__ import annotations

import pandas as pd
import pytest

from recipes.errors import ParameterError
from recipes.monitoring import TABLE, Spec, compute_metrics
from recipes.monitoring.custom import parse_metrics

pytestmark = pytest.mark.spark


def _frame(spark):
    times = pd.date_range("2026-11-26 08:00", periods=40, freq="5min")
    return spark.createDataFrame(
        pd.DataFrame({"ts": times, "x": range(40), "plan": ["a", "b"] * 20})
    )


def _spec(kind, definition, columns=(TABLE,), slices=()):
    metric = {
        "type": f"CUSTOM_METRIC_TYPE_{kind}",
        "name": "m",
        "input_columns": list(columns),
        "definition": definition,
        "output_data_type": "double",
    }
    return Spec(("1 hour",), "ts", slicing_exprs=slices, custom_metrics=parse_metrics([metric]))


@pytest.mark.parametrize(
    ("kind", "definition", "spark_says"),
    [
        ("AGGREGATE", "avg(no_such_column)", "UNRESOLVED_COLUMN"),
        ("AGGREGATE", "avg(x", "PARSE_SYNTAX_ERROR"),
        ("AGGREGATE", "x + 1", "MISSING_GROUP_BY"),  # not an aggregate
        ("DERIVED", "sqrt(no_such_metric)", "UNRESOLVED_COLUMN"),
        ("DRIFT", "{{current_df}}.nope - {{base_df}}.avg", "FIELD_NOT_FOUND"),
    ],
)
def test_a_definition_spark_refuses_fails_with_its_message(spark, kind, definition, spark_says):
    with pytest.raises(ParameterError) as exc:
        compute_metrics(_frame(spark), None, _spec(kind, definition, ["x"]))
    text = str(exc.value)
    assert text.startswith("Custom metric 'm'") and spark_says in text and "\n" not in text
    assert "SQLSTATE" in text and text.endswith(text.split("SQLSTATE: ")[1])  # no plan after


def test_a_slicing_expression_spark_refuses_fails_with_its_message(spark):
    with pytest.raises(ParameterError, match=r"slicing_exprs: 'plan >' does not compile: .*PARSE"):
        compute_metrics(_frame(spark), None, Spec(("1 hour",), "ts", slicing_exprs=("plan >",)))
    with pytest.raises(ParameterError, match="input column 'ts' is not profiled"):
        compute_metrics(_frame(spark), None, _spec("AGGREGATE", "count(1)", ["ts"]))
