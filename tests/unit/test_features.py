"""recipes.features: the local FeatureEngineeringClient (tables, lookups, log_model, score_batch)."""

from __future__ import annotations

import datetime as dt
import json
import sys
import types
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from recipes import tables
from recipes.data import FEATURES, KEY, LABEL, make_churn
from recipes.errors import KitError, MissingDependency, NotFoundError, ParameterError
from recipes.features import (
    SPEC_FILE,
    FeatureEngineeringClient,
    FeatureLookup,
    feature_client,
    load_feature_spec,
)
from tests.homes import spark_defaults_codegen

TABLE = "main.features.churn"


def _one_line(exc_info) -> str:
    text = str(exc_info.value)
    assert "\n" not in text
    return text


@pytest.fixture
def own():
    """``own(name)``: ``name`` with a suffix of this test's own. The session's classic Spark
    keeps its tables in one warehouse for the whole run (tests/conftest.py), so each test
    names its feature tables apart (their metadata is under the test's own MDK_HOME)."""
    tag = uuid.uuid4().hex[:10]
    return lambda name: f"{name}_{tag}"


# --------------------------------------------------------------------------- no Spark


def test_feature_client_picks_by_target(monkeypatch):
    assert isinstance(feature_client("local"), FeatureEngineeringClient)
    monkeypatch.setitem(sys.modules, "databricks.feature_engineering", None)
    with pytest.raises(MissingDependency) as exc:
        feature_client("databricks")
    assert "pip install databricks-feature-engineering" in _one_line(exc)


def test_feature_lookup_follows_the_target(monkeypatch):
    local = FeatureLookup(TABLE, "customer_id", feature_names="total_purchases")
    assert isinstance(local, FeatureLookup)
    assert local.feature_names == ["total_purchases"]

    class RealLookup:
        def __init__(self, table_name, lookup_key, **kwargs):
            self.args = (table_name, lookup_key, kwargs)

    fake = types.SimpleNamespace(FeatureLookup=RealLookup, FeatureEngineeringClient=dict)
    monkeypatch.setitem(sys.modules, "databricks.feature_engineering", fake)
    monkeypatch.setenv("MDK_TARGET", "databricks")
    real = FeatureLookup(TABLE, "customer_id", feature_names=["a"])
    assert isinstance(real, RealLookup)
    assert real.args == (TABLE, "customer_id", {"feature_names": ["a"]})
    assert feature_client(foo=1) == {"foo": 1}


def test_feature_lookup_checks_its_arguments():
    with pytest.raises(ParameterError):
        FeatureLookup(TABLE, "k", lookback_window=dt.timedelta(days=1))
    with pytest.raises(TypeError):
        FeatureLookup(TABLE, "k", "positional_feature_names")  # keyword-only, as the real one


def test_unknown_table_is_one_line_naming_create_table():
    fs = FeatureEngineeringClient()
    with pytest.raises(NotFoundError) as exc:
        fs.get_table(name="main.features.nope")
    assert "create_table" in _one_line(exc)
    with pytest.raises(ParameterError):
        fs.get_table(name="nope")
    tables.append("main.plain.t", pa.table({"k": [1]}))  # delta-rs: no JVM
    with pytest.raises(NotFoundError):  # not a feature table: left alone, before any Spark
        fs.drop_table(name="main.plain.t")
    assert tables.exists("main.plain.t")


# --------------------------------------------------------------------------- tables


@pytest.mark.spark
def test_create_table_stores_data_and_metadata(spark, mdk_home, own):
    fs = FeatureEngineeringClient()
    churn = make_churn(50, seed=3)
    table = own("main.features.churn")
    meta = fs.create_table(
        name=table.replace("main.features", "Main.Features"),
        primary_keys=KEY,
        df=spark.createDataFrame(churn.drop(columns=[LABEL])),
        description="churn features",
    )
    assert meta.name == table
    assert meta.primary_keys == [KEY] and meta.timestamp_keys == []
    assert meta.features == list(FEATURES)
    assert fs.get_table(name=table) == meta
    stored = json.loads((mdk_home / "feature_store" / f"{table}.json").read_text())
    assert stored["primary_keys"] == [KEY] and stored["description"] == "churn features"
    back = fs.read_table(name=table).toPandas().sort_values(KEY, ignore_index=True)
    pd.testing.assert_frame_equal(back, churn.drop(columns=[LABEL]))

    with pytest.raises(KitError) as exc:
        fs.create_table(name=table, primary_keys=KEY, df=churn)
    assert "write_table" in _one_line(exc)


@pytest.mark.spark
def test_create_table_refuses_bad_keys(spark, own):
    fs = FeatureEngineeringClient(spark=spark)
    df = pd.DataFrame({"k": [1, 2, 2], "ts": [1, 1, 2], "v": [1.0, 2.0, 3.0]})
    with pytest.raises(ParameterError) as exc:
        fs.create_table(name=own("main.f.missing"), primary_keys=["k", "region"], df=df)
    assert "['region']" in _one_line(exc)
    with pytest.raises(ParameterError) as exc:
        fs.create_table(name=own("main.f.dups"), primary_keys="k", df=df)
    assert "duplicate" in _one_line(exc) and "(2,)" in str(exc.value)
    with pytest.raises(ParameterError) as exc:
        fs.create_table(name=own("main.f.ts"), primary_keys="k", df=df, timeseries_column="ts")
    assert "primary_keys=['k', 'ts']" in _one_line(exc)
    assert not tables.table_exists(own("main.f.dups"), spark=spark)


def _last_operation(spark, table: str) -> tuple[int, str]:
    last = spark.sql(f"DESCRIBE HISTORY {table} LIMIT 1").first()
    return last["version"], last["operation"]


@pytest.mark.spark
def test_write_table_merge_upserts_on_the_keys(spark, own):
    fs = FeatureEngineeringClient()
    t = own("main.f.t")
    old = pd.DataFrame({"k": [1, 2, 3], "a": [10, 20, 30], "b": [0.1, 0.2, 0.3]})
    fs.create_table(name=t, primary_keys=["k"], df=spark.createDataFrame(old))
    # key 2 updated (only column a given: b keeps its value), key 4 inserted, new column c.
    upd = pd.DataFrame({"k": [2, 4], "a": [21, 40], "c": ["x", "y"]})
    fs.write_table(name=t, df=spark.createDataFrame(upd))
    assert _last_operation(spark, t) == (1, "MERGE")  # Delta's own MERGE INTO, one commit
    got = fs.read_table(name=t).toPandas().sort_values("k", ignore_index=True)
    want = pd.DataFrame(
        {
            "k": [1, 2, 3, 4],
            "a": [10, 21, 30, 40],
            "b": [0.1, 0.2, 0.3, np.nan],
            "c": [None, "x", None, "y"],
        }
    )
    pd.testing.assert_frame_equal(got, want)
    assert fs.get_table(name=t).features == ["a", "b", "c"]
    with spark_defaults_codegen(spark):  # no temporary view of the merge's source is left
        views = [v.name for v in spark.catalog.listTables()]
    assert not [v for v in views if v.startswith("mdk_merge_source")]

    with pytest.raises(ParameterError) as exc:  # a type that differs from the table's
        fs.write_table(name=t, df=spark.createDataFrame(pd.DataFrame({"k": [1], "a": ["s"]})))
    assert "a (bigint vs string)" in _one_line(exc)

    fs.write_table(name=t, df=spark.createDataFrame(old), mode="overwrite")
    assert fs.read_table(name=t).count() == 3
    fs.drop_table(name=t)
    assert not tables.table_exists(t, spark=spark)
    with pytest.raises(NotFoundError):
        fs.get_table(name=t)


@pytest.mark.spark
def test_merge_with_a_key_given_twice_fails_as_delta_fails_it(spark, own):
    fs = FeatureEngineeringClient()
    t = own("main.f.dup")
    old = pd.DataFrame({"k": [1, 2], "a": [10, 20]})
    fs.create_table(name=t, primary_keys="k", df=spark.createDataFrame(old))
    twice = spark.createDataFrame(pd.DataFrame({"k": [2, 2, 3], "a": [21, 22, 30]}))
    with pytest.raises(KitError) as exc:
        fs.write_table(name=t, df=twice)
    message = _one_line(exc)
    assert "[DELTA_MULTIPLE_SOURCE_ROW_MATCHING_TARGET_ROW_IN_MERGE]" in message
    assert f"write_table({t!r}, mode='merge')" in message and "left the table as it was" in message
    assert "df.dropDuplicates(['k'])" in message
    assert _last_operation(spark, t)[0] == 0  # no commit
    got = fs.read_table(name=t).toPandas().sort_values("k", ignore_index=True)
    pd.testing.assert_frame_equal(got, old)
    with pytest.raises(ParameterError) as exc:  # a missing key column: before any job
        fs.write_table(name=t, df=spark.createDataFrame(pd.DataFrame({"a": [1]})))
    assert "lacks key column(s) ['k']" in _one_line(exc)


@pytest.mark.spark
def test_point_in_time_lookup_takes_the_latest_row_at_or_before(spark, own):
    fs = FeatureEngineeringClient()
    pit = own("main.f.pit")
    t = pd.Timestamp
    feats = pd.DataFrame(
        {
            "k": [1, 1, 1, 2],
            "ts": [t("2026-01-01"), t("2026-01-05"), t("2026-01-10"), t("2026-01-03")],
            "v": [1.0, 5.0, 10.0, 3.0],
        }
    )
    fs.create_table(
        name=pit,
        primary_keys=["k", "ts"],
        timestamp_keys="ts",
        df=spark.createDataFrame(feats),
    )
    rows = pd.DataFrame(
        {
            "cust": [1, 1, 1, 1, 2, 2, 3],
            "at": [
                t("2025-12-31"),
                t("2026-01-01"),
                t("2026-01-07"),
                t("2026-02-01"),
                t("2026-01-02"),
                t("2026-01-03"),
                t("2026-01-09"),
            ],
            "y": [0, 1, 0, 1, 0, 1, 0],
        }
    )
    lookups = [FeatureLookup(pit, "cust", timestamp_lookup_key="at", rename_outputs={"v": "value"})]
    ts = fs.create_training_set(df=spark.createDataFrame(rows), feature_lookups=lookups, label="y")
    got = ts.load_df().toPandas().sort_values(["cust", "at"], ignore_index=True)
    assert list(got.columns) == ["cust", "at", "y", "value"]
    np.testing.assert_array_equal(got["value"], [np.nan, 1.0, 5.0, 10.0, np.nan, 3.0, np.nan])


@pytest.mark.spark
def test_training_set_columns_and_errors(spark, own):
    fs = FeatureEngineeringClient()
    table = own("main.features.churn")
    churn = make_churn(20, seed=1)
    fs.create_table(
        name=table, primary_keys=KEY, df=spark.createDataFrame(churn.drop(columns=[LABEL]))
    )
    labels = spark.createDataFrame(churn[[KEY, LABEL]])
    lookups = [
        FeatureLookup(table, KEY, feature_names=["days_since_last_visit", "total_purchases"]),
        FeatureLookup(table, KEY, feature_names="avg_session_duration"),
    ]
    ts = fs.create_training_set(
        df=labels, feature_lookups=lookups, label=LABEL, exclude_columns=[KEY]
    )
    df = ts.load_df()
    order = ["days_since_last_visit", "total_purchases", "avg_session_duration"]
    assert df.columns == [LABEL, *order]
    assert ts.feature_columns == order
    got = df.toPandas().sort_values(order, ignore_index=True)
    want = churn[[LABEL, *order]].sort_values(order, ignore_index=True)
    pd.testing.assert_frame_equal(got, want)

    with pytest.raises(ParameterError) as exc:
        fs.create_training_set(df=labels.drop(KEY), feature_lookups=lookups, label=LABEL)
    assert _one_line(exc) == (
        "Could not find lookup key columns 'customer_id' required by FeatureLookups."
    )
    with pytest.raises(ParameterError) as exc:
        fs.create_training_set(df=labels, feature_lookups=lookups * 2, label=LABEL)
    assert "rename_outputs" in _one_line(exc)
    with pytest.raises(ParameterError) as exc:
        fs.create_training_set(
            df=labels,
            feature_lookups=[FeatureLookup(table, KEY, feature_names="nope")],
            label=LABEL,
        )
    assert "['nope']" in _one_line(exc)


# --------------------------------------------------------------------------- log_model, score_batch


def _feature_model(spark, fs, name: str, table: str):
    """A churn feature table, a training set on it, and a model logged with its features."""
    import mlflow

    from recipes.train import fit

    churn = make_churn(400, seed=0)
    fs.create_table(
        name=table, primary_keys=[KEY], df=spark.createDataFrame(churn.drop(columns=[LABEL]))
    )
    training_set = fs.create_training_set(
        df=spark.createDataFrame(churn[[KEY, LABEL]]),
        feature_lookups=[FeatureLookup(table_name=table, lookup_key=KEY)],
        label=LABEL,
        exclude_columns=[KEY],
    )
    model = fit(training_set.load_df().toPandas())
    info = fs.log_model(
        model=model,
        artifact_path="model",
        flavor=mlflow.sklearn,
        training_set=training_set,
        registered_model_name=name,
    )
    return churn, info


@pytest.mark.spark
def test_log_model_stores_the_spec_and_score_batch_needs_only_keys(
    spark, mlflow_local, tmp_path, own
):
    import mlflow

    from recipes.registry import set_alias
    from recipes.train import fit

    fs = FeatureEngineeringClient()
    table = own("main.features.churn")
    churn, info = _feature_model(spark, fs, "churn-features", table)
    assert info.registered_model_version == 1
    spec_file = mlflow.artifacts.download_artifacts(
        f"models:/churn-features/1/{SPEC_FILE}", dst_path=str(tmp_path)
    )
    spec = load_feature_spec("models:/churn-features/1")
    assert spec == info.feature_spec
    assert spec["input_columns"] == list(FEATURES) and spec["label"] == [LABEL]
    assert spec["lookup_columns"] == [KEY] and spec["source_columns"] == []
    assert spec["feature_lookups"][0]["table_name"] == table
    assert "input_columns" in Path(spec_file).read_text()

    # The exam's seed code, as written.
    set_alias("churn-features", "champion", 1)
    new_customers_df = spark.createDataFrame(churn[[KEY]].iloc[::7])
    fs = FeatureEngineeringClient()
    predictions = fs.score_batch(model_uri="models:/churn-features@champion", df=new_customers_df)

    got = predictions.toPandas().sort_values(KEY, ignore_index=True)
    assert list(got.columns) == [KEY, *FEATURES, "prediction"]
    expected_rows = churn.iloc[::7].sort_values(KEY, ignore_index=True)
    pd.testing.assert_frame_equal(got[[KEY, *FEATURES]], expected_rows[[KEY, *FEATURES]])
    want = mlflow.pyfunc.load_model("models:/churn-features@champion").predict(
        expected_rows[list(FEATURES)]
    )
    np.testing.assert_array_equal(got["prediction"].to_numpy(), np.asarray(want, dtype="float64"))
    assert got["prediction"].nunique() == 2

    # Errors: one line each, naming what is missing.
    with pytest.raises(ParameterError) as exc:
        fs.score_batch(
            model_uri="models:/churn-features@champion",
            df=new_customers_df.withColumnRenamed(KEY, "id"),
        )
    assert _one_line(exc) == "DataFrame is missing required columns 'customer_id'."
    with pytest.raises(NotFoundError) as exc:
        fs.score_batch(model_uri="models:/churn-features@nobody", df=new_customers_df)
    assert "churn-features@nobody" in _one_line(exc)
    bare = mlflow.sklearn.log_model(fit(churn), name="bare")  # logged without its features
    with pytest.raises(NotFoundError) as exc:
        fs.score_batch(model_uri=bare.model_uri, df=new_customers_df)
    assert "log_model(model=..., flavor=..., training_set=...)" in _one_line(exc)
