"""recipes.batch.score_table on the session's classic local Spark, with the trained store.

Few, small jobs: the machine has 2 cores and other suites run Spark too. The session's tables
are Delta tables in its own warehouse, shared by the whole run (tests/conftest.py): they are
read back through it, and a table that must not exist has a name no other test writes.
"""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest

from recipes import batch, registry, tables
from recipes.data import FEATURES, live_traffic
from recipes.errors import KitError, NotFoundError, ParameterError

pytestmark = pytest.mark.spark

OUT = "main.predictions.churn_scores"


# ------------------------------------------------------------------ helpers


@pytest.fixture
def traffic() -> pd.DataFrame:
    """200 rows of live traffic: customer_id and the features (two int64, one float64)."""
    return live_traffic(200, seed=3)


def _expected(name: str, version: int, rows: pd.DataFrame) -> np.ndarray:
    model = mlflow.pyfunc.load_model(f"models:/{name}/{version}")
    return np.asarray(model.predict(rows[list(FEATURES)])).astype("int64")


def _read(spark, name=OUT) -> pd.DataFrame:
    return tables.read_table(name, spark=spark).toPandas().sort_values("customer_id")


# ------------------------------------------------------------------ scoring


def test_every_kind_of_uri_scores_the_version_it_resolves_to(spark, trained, traffic, monkeypatch):
    registry.set_alias(trained, "champion", 1)
    # the stage warning is shown once per process: make this test see it whatever ran before
    monkeypatch.setattr(registry.stages, "_stage_warning_shown", False)
    with pytest.warns(FutureWarning):  # stages are deprecated, but still score
        registry.transition_stage(trained, 2, "Production")
    tables.write_table("main.raw.traffic", spark.createDataFrame(traffic))
    expected = {v: _expected(trained, v, traffic) for v in (1, 2)}
    cases = {
        f"models:/{trained}@champion": 1,
        f"models:/{trained}/1": 1,
        f"models:/{trained}/Production": 2,
        f"models:/{trained}/latest": 2,
    }
    # score_table resolves the URI with resolve_model first, then scores models:/<name>/<N>:
    # every kind is resolved here, and one kind per version goes through a whole job
    for uri, version in cases.items():
        assert batch.resolve_model(uri) == (trained, version), uri
    scored = [f"models:/{trained}@champion", f"models:/{trained}/Production"]
    for i, uri in enumerate(scored):
        version, out = cases[uri], f"main.predictions.by_uri_{i}"
        result = batch.score_table(uri, "main.raw.traffic", out, spark=spark)
        assert (result.model_name, result.model_version) == (trained, version), uri
        assert (result.rows, result.output_table, result.result_type) == (200, out, "long")
        got = _read(spark, out)
        assert len(got) == 200
        assert got["prediction"].tolist() == expected[version].tolist(), uri
        assert set(got["model_version"]) == {version}
    # lineage columns: types, and one scored_at for the whole job
    df = tables.read_table("main.predictions.by_uri_1", spark=spark)
    types = dict(df.dtypes)
    assert types["prediction"] == "bigint"
    assert (types["model_name"], types["model_version"], types["scored_at"]) == (
        "string",
        "int",
        "timestamp",
    )
    lineage = df.select("model_name", "model_version", "scored_at").distinct().collect()
    assert len(lineage) == 1 and lineage[0]["model_name"] == trained
    assert list(df.columns) == [*traffic.columns, "prediction", *batch.LINEAGE_COLUMNS]


def test_integer_inputs_match_pyfunc_and_a_double_column_is_refused_before_any_job(
    spark, trained, traffic
):
    as_long = spark.createDataFrame(traffic)
    assert {dict(as_long.dtypes)[c] for c in FEATURES} == {"bigint"}
    as_int = as_long.select("customer_id", *[as_long[c].cast("int").alias(c) for c in FEATURES])
    expected = _expected(trained, 2, traffic)  # pandas int64, through pyfunc
    for df, out in ((as_long, "main.p.as_long"), (as_int, "main.p.as_int")):
        result = batch.score_table(f"models:/{trained}/2", df, out, spark=spark)
        assert result.rows == 200
        assert _read(spark, out)["prediction"].tolist() == expected.tolist()
    for kind in ("double", "string"):
        duration = as_long["avg_session_duration"].cast(kind)
        typed = as_long.withColumn("avg_session_duration", duration)
        message = _one_line_error(
            ParameterError,
            batch.score_table,
            f"models:/{trained}/2",
            typed,
            f"main.p.as_{kind}",
            spark=spark,
        )
        assert f"Column 'avg_session_duration' is {kind}" in message and "takes long" in message
        assert not tables.table_exists(f"main.p.as_{kind}", spark=spark)


def _with_a_null(traffic: pd.DataFrame) -> pd.DataFrame:
    """``traffic`` with a null duration in row 150: a bigint column with a null in Spark."""
    poison = traffic.astype({"avg_session_duration": "Int64"})
    poison.loc[150, "avg_session_duration"] = pd.NA
    return poison


def test_a_failing_job_leaves_the_previous_table_intact(spark, trained, traffic):
    uri = f"models:/{trained}/1"
    first = batch.score_table(uri, spark.createDataFrame(traffic), OUT, spark=spark)
    before = _read(spark)
    poison = spark.createDataFrame(_with_a_null(traffic))
    assert dict(poison.dtypes)["avg_session_duration"] == "bigint"
    with pytest.raises(KitError) as err:
        batch.score_table(uri, poison, OUT, spark=spark)
    message = str(err.value)  # (the probe rows failed too, so spark_udf ran the job)
    assert "\n" not in message and "left as it was" in message
    assert (
        "MlflowException: Incompatible input types for column avg_session_duration. Can not "
        "safely convert float64 to int64. Fix" in message
    )  # the reason, not the data's repr
    after = _read(spark)
    pd.testing.assert_frame_equal(after.reset_index(drop=True), before.reset_index(drop=True))
    assert set(after["scored_at"]) == {pd.Timestamp(first.scored_at).tz_localize(None)}


def test_a_null_in_a_long_column_fails_the_job_in_one_line(spark, trained, traffic):
    """pyfunc refuses floats in a long column (a null makes the column float), so the job
    fails in its task, and the message is MLflow's reason in one line."""
    poison = spark.createDataFrame(_with_a_null(traffic)).coalesce(1)
    with pytest.raises(KitError) as err:
        batch.score_table(f"models:/{trained}/2", poison, "main.p.null", spark=spark)
    message = str(err.value)
    assert "\n" not in message
    assert "Incompatible input types for column avg_session_duration" in message
    assert "Can not safely convert float64 to int64" in message


# ------------------------------------------------------------------ any flavor


HALVES = """
import mlflow


class Halves(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return (model_input["total_purchases"] > 10).astype("int64")


mlflow.models.set_model(Halves())
"""


def test_a_model_from_code_scores_as_the_sklearn_ones_do(spark, trained, traffic, tmp_path):
    from mlflow.models import infer_signature

    frame = traffic[list(FEATURES)]
    code = tmp_path / "halves.py"  # a model from code: Spark's workers need no test module
    code.write_text(HALVES)
    with mlflow.start_run():
        mlflow.pyfunc.log_model(
            name="halves",
            python_model=str(code),
            registered_model_name="halves",
            signature=infer_signature(frame, (frame["total_purchases"] > 10).astype("int64")),
        )
    df = spark.createDataFrame(traffic)
    custom = batch.score_table("models:/halves/1", df, "main.p.halves", spark=spark)
    assert (custom.model_name, custom.model_version, custom.result_type) == ("halves", 1, "long")
    got = _read(spark, "main.p.halves")["prediction"].tolist()
    assert got == (traffic.sort_values("customer_id")["total_purchases"] > 10).astype(int).tolist()


# ------------------------------------------------------------------ one-line errors


def _one_line_error(exc_type, fn, *args, **kwargs) -> str:
    with pytest.raises(exc_type) as err:
        fn(*args, **kwargs)
    message = str(err.value)
    assert "\n" not in message
    return message


def test_bad_references_and_missing_columns_fail_before_any_job(spark, trained, traffic):
    registry.set_alias(trained, "challenger", 2)
    df = spark.createDataFrame(traffic)
    missing = _one_line_error(
        NotFoundError, batch.score_table, f"models:/{trained}@champion", df, OUT, spark=spark
    )
    assert "no alias 'champion'" in missing and "aliases: challenger" in missing
    no_version = _one_line_error(
        NotFoundError, batch.score_table, f"models:/{trained}/7", df, OUT, spark=spark
    )
    assert "no version 7" in no_version and "1, 2" in no_version
    no_stage = _one_line_error(
        NotFoundError, batch.score_table, f"models:/{trained}/Staging", df, OUT, spark=spark
    )
    assert "'Staging'" in no_stage and "None: 1, 2" in no_stage
    no_model = _one_line_error(
        NotFoundError, batch.score_table, "models:/no-such-model@champion", df, OUT, spark=spark
    )
    assert "'no-such-model'" in no_model and trained in no_model
    for bad in ("churn-predictor", "models:/churn-predictor", "runs:/abc/model"):
        _one_line_error(ParameterError, batch.score_table, bad, df, OUT, spark=spark)
    cols = _one_line_error(
        ParameterError,
        batch.score_table,
        f"models:/{trained}/1",
        df.drop("avg_session_duration", "days_since_last_visit"),
        OUT,
        spark=spark,
    )
    assert "avg_session_duration, days_since_last_visit" in cols
    assert "it has customer_id, total_purchases" in cols
    never = "main.predictions.never_written"
    _one_line_error(
        ParameterError,
        batch.score_table,
        f"models:/{trained}/1",
        df.drop("total_purchases"),
        never,
        spark=spark,
    )
    assert not tables.table_exists(never, spark=spark)
    no_table = _one_line_error(
        NotFoundError,
        batch.score_table,
        f"models:/{trained}/1",
        "main.raw.no_such_table",
        never,
        spark=spark,
    )
    assert "'main.raw.no_such_table' does not exist" in no_table
    assert batch.resolve_model(trained, "@challenger") == (trained, 2)


# ------------------------------------------------------------------ the exam's seed code


def test_the_seed_batch_code_as_written(spark, trained, traffic):
    registry.set_alias(trained, "champion", 2)
    input_df = spark.createDataFrame(traffic)
    # --- the seed, verbatim
    predict_udf = mlflow.pyfunc.spark_udf(spark, model_uri="models:/churn-predictor@champion")
    predictions = input_df.withColumn(
        "prediction",
        predict_udf("total_purchases", "avg_session_duration", "days_since_last_visit"),
    )
    # --- written as the seed writes it: Delta's saveAsTable, a two-level name (catalog main)
    spark.sql("CREATE SCHEMA IF NOT EXISTS main.predictions")  # a workspace has it already
    predictions.write.format("delta").mode("overwrite").saveAsTable("predictions.churn_scores")
    got = _read(spark, "main.predictions.churn_scores")
    assert len(got) == 200
    first = [p[0] if hasattr(p, "__len__") else p for p in got["prediction"]]
    assert np.asarray(first, dtype="int64").tolist() == _expected(trained, 2, traffic).tolist()
