"""recipes.features under Spark Connect: create_table → training set → log_model → score_batch.

The client runs in a subprocess (this process may hold the classic session) against the session's
local Spark Connect server (tests/conftest.py), on a free port (never 15002). That server's
warehouse is shared by every test of the run, so the feature table has a name of this test's own.
"""

from __future__ import annotations

import textwrap
import uuid

import pytest

from tests.spark_connect import run_client

CLIENT = textwrap.dedent(
    """
    import json, os, sys
    import mlflow
    import numpy as np
    from recipes.data import FEATURES, KEY, LABEL, make_churn
    from recipes.features import FeatureLookup, feature_client
    from recipes.spark import describe_session, get_spark, stop_spark
    from recipes.target import use_target
    from recipes.train import fit

    use_target("local")
    table = os.environ["TEST_FEATURE_TABLE"]
    spark = get_spark()
    fs = feature_client()
    churn = make_churn(300, seed=2)
    fs.create_table(name=table, primary_keys=KEY,
                    df=spark.createDataFrame(churn.drop(columns=[LABEL])))
    fs.write_table(name=table, df=spark.createDataFrame(churn.drop(columns=[LABEL]).iloc[:30]))
    merged = spark.sql(f"DESCRIBE HISTORY {table} LIMIT 1").first()["operation"]
    try:  # a key given twice: Delta's error, in one line
        fs.write_table(name=table, df=spark.createDataFrame(churn.drop(columns=[LABEL]).iloc[[0, 0]]))
        twice = None
    except Exception as exc:
        twice = f"{type(exc).__name__}: {exc}"
    ts = fs.create_training_set(
        df=spark.createDataFrame(churn[[KEY, LABEL]]),
        feature_lookups=[FeatureLookup(table, KEY)],
        label=LABEL, exclude_columns=[KEY])
    info = fs.log_model(model=fit(ts.load_df().toPandas()), name="model", flavor=mlflow.sklearn,
                        training_set=ts, registered_model_name="churn-features")
    mlflow.MlflowClient().set_registered_model_alias("churn-features", "champion", "1")
    new_customers_df = spark.createDataFrame(churn[[KEY]].iloc[::5])
    predictions = fs.score_batch(model_uri="models:/churn-features@champion", df=new_customers_df)
    got = predictions.toPandas().sort_values(KEY)
    rows = churn.set_index(KEY).loc[got[KEY]]
    want = mlflow.pyfunc.load_model("models:/churn-features@champion").predict(rows[list(FEATURES)])
    print(json.dumps({
        "kind": describe_session(spark)["kind"],
        "merged": merged,
        "twice": twice,
        "table_rows": fs.read_table(name=table).count(),
        "columns": list(got.columns),
        "rows": len(got),
        "same": bool(np.array_equal(got["prediction"].to_numpy(), np.asarray(want, "float64"))),
        "features_equal": bool(np.array_equal(got[list(FEATURES)].to_numpy(),
                                              rows[list(FEATURES)].to_numpy())),
    }))
    stop_spark()
    """
)


@pytest.mark.spark
def test_score_batch_under_spark_connect(spark_connect, mdk_home):
    result = run_client(
        CLIENT,
        env={
            "MDK_SPARK_REMOTE": spark_connect.url,
            "MDK_HOME": str(mdk_home),
            "MLFLOW_TRACKING_URI": f"sqlite:///{mdk_home / 'mlflow.db'}",
            "TEST_FEATURE_TABLE": f"main.features.churn_{uuid.uuid4().hex[:10]}",
        },
        timeout=400,
    )
    twice = result.pop("twice")
    assert twice.startswith("KitError: write_table('main.features.churn_") and "\n" not in twice
    assert "[DELTA_MULTIPLE_SOURCE_ROW_MATCHING_TARGET_ROW_IN_MERGE]" in twice
    assert result == {
        "kind": "connect",
        "merged": "MERGE",  # write_table's merge: Delta's MERGE INTO over Spark Connect too
        "table_rows": 300,
        "columns": [
            "customer_id",
            "total_purchases",
            "avg_session_duration",
            "days_since_last_visit",
            "prediction",
        ],
        "rows": 60,
        "same": True,
        "features_equal": True,
    }
