"""The local feature client's lookup-key rules, case by case, against the real client's.

The rules and messages come from databricks-feature-engineering 0.18.2's own source (cited in
:mod:`recipes.features.checks`): ``score_batch`` requires every lookup key even when the
features are given, uses a given feature instead of the table's, and lets any other column
(a label, an id) ride along; ``create_training_set`` requires the label and the keys and
refuses a feature df already has. One model, logged once for this module with its feature
spec, is scored by path in every test.
"""

from __future__ import annotations

import shutil
import uuid
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from recipes.data import FEATURES, KEY, LABEL, make_churn
from recipes.errors import ParameterError
from recipes.features import FeatureEngineeringClient, FeatureInputError, FeatureLookup
from recipes.features.checks import scoring_columns
from recipes.features.lookup import join_lookups, resolve_lookup
from tests.homes import local_env

ROWS = 40  # customers scored per test


def _message(exc_info) -> str:
    text = str(exc_info.value)
    assert "\n" not in text
    return text


# --------------------------------------------------------------------------- no Spark


def _spec(lookups: list[dict], source: list[str]) -> dict:
    return {"feature_lookups": lookups, "source_columns": source}


def _lookup(keys: list[str], outputs: list[str]) -> dict:
    return {
        "table_name": "main.f.t",
        "lookup_key": keys,
        "output_names": outputs,
        "timestamp_lookup_key": None,
    }


def test_the_keys_are_required_whatever_else_the_model_needs():
    # the exam's model: features by customer_id, customer_id excluded from the inputs
    assert scoring_columns(_spec([_lookup([KEY], list(FEATURES))], [])) == [KEY]
    # a source column the model kept is required too (the real client's source data names)
    assert scoring_columns(_spec([_lookup([KEY], ["a"])], ["region"])) == [KEY, "region"]
    # a key another lookup produces is not (the real client subtracts every output name)
    chained = [_lookup([KEY], ["store_id"]), _lookup(["store_id"], ["store_size"])]
    assert scoring_columns(_spec(chained, [])) == [KEY]


def test_the_error_is_a_value_error_as_the_real_clients_and_a_kit_error():
    err = FeatureInputError("DataFrame is missing required columns 'customer_id'.")
    assert isinstance(err, ValueError) and isinstance(err, ParameterError)


# --------------------------------------------------------------------------- scoring


@pytest.fixture(scope="module")
def fitted(spark, tmp_path_factory, empty_store):
    """A feature table keyed by customer_id, and a model logged from it with its lookups (the
    key excluded, as in the exam's Q14), in a store of this module's own; ``uri`` is the
    logged model's directory, which scores whatever the test's tracking store."""
    import mlflow

    from recipes.target import scoped_env, use_target
    from recipes.train import fit

    home = tmp_path_factory.mktemp("feature-keys") / "mdk"
    home.mkdir()
    shutil.copy(empty_store, home / "mlflow.db")
    table = f"main.features.keys_{uuid.uuid4().hex[:10]}"
    churn = make_churn(300, seed=3)
    with scoped_env(**local_env(home)):
        use_target("local")
        fs = FeatureEngineeringClient(home=home)
        fs.create_table(
            name=table, primary_keys=KEY, df=spark.createDataFrame(churn.drop(columns=[LABEL]))
        )
        training_set = fs.create_training_set(
            df=spark.createDataFrame(churn[[KEY, LABEL]]),
            feature_lookups=[FeatureLookup(table_name=table, lookup_key=KEY)],
            label=LABEL,
            exclude_columns=[KEY],
        )
        model = fit(training_set.load_df().toPandas())
        info = fs.log_model(
            model=model, name="model", flavor=mlflow.sklearn, training_set=training_set
        )
        uri = mlflow.MlflowClient().get_logged_model(info.model_id).artifact_location
    return SimpleNamespace(uri=uri, table=table, churn=churn.head(ROWS), model=model, home=home)


def _score(spark, fitted, frame: pd.DataFrame):
    fs = FeatureEngineeringClient(home=fitted.home)
    out = fs.score_batch(model_uri=fitted.uri, df=spark.createDataFrame(frame))
    return out.toPandas().sort_values(KEY, ignore_index=True) if KEY in out.columns else out


def _predict(fitted, frame: pd.DataFrame) -> np.ndarray:
    return np.asarray(fitted.model.predict(frame[list(FEATURES)]), dtype="float64")


@pytest.mark.spark
@pytest.mark.parametrize(
    "columns",
    [list(FEATURES), [*FEATURES, LABEL], [LABEL]],
    ids=["features only", "features and label", "label only"],
)
def test_a_frame_without_the_key_is_refused_in_the_real_clients_words(spark, fitted, columns):
    with pytest.raises(FeatureInputError) as exc:
        _score(spark, fitted, fitted.churn[columns])
    assert _message(exc) == f"DataFrame is missing required columns '{KEY}'."


@pytest.mark.spark
def test_the_key_alone_scores_with_the_looked_up_features(spark, fitted):
    got = _score(spark, fitted, fitted.churn[[KEY]])
    assert list(got.columns) == [KEY, *FEATURES, "prediction"]
    want = fitted.churn.sort_values(KEY, ignore_index=True)
    pd.testing.assert_frame_equal(got[[KEY, *FEATURES]], want[[KEY, *FEATURES]])
    np.testing.assert_array_equal(got["prediction"], _predict(fitted, want))


@pytest.mark.spark
def test_extra_columns_and_the_label_ride_along_and_do_not_reach_the_model(spark, fitted):
    frame = fitted.churn[[KEY, LABEL]].assign(note="batch-7")
    got = _score(spark, fitted, frame)
    # df's columns first, in its order, then the looked-up features, then prediction
    assert list(got.columns) == [KEY, LABEL, "note", *FEATURES, "prediction"]
    want = fitted.churn.sort_values(KEY, ignore_index=True)
    assert got[LABEL].tolist() == want[LABEL].tolist() and set(got["note"]) == {"batch-7"}
    np.testing.assert_array_equal(got["prediction"], _predict(fitted, want))


@pytest.mark.spark
def test_a_feature_given_beside_the_key_overrides_the_tables_value(spark, fitted):
    given = fitted.churn[[KEY, "total_purchases"]].assign(total_purchases=0)
    got = _score(spark, fitted, given)
    assert list(got.columns) == [
        KEY,
        "total_purchases",
        "avg_session_duration",
        "days_since_last_visit",
        "prediction",
    ]
    assert set(got["total_purchases"]) == {0}  # df's value, not the table's
    table = fitted.churn.sort_values(KEY, ignore_index=True)
    others = ["avg_session_duration", "days_since_last_visit"]
    pd.testing.assert_frame_equal(got[others], table[others])  # the rest looked up
    np.testing.assert_array_equal(
        got["prediction"], _predict(fitted, table.assign(total_purchases=0))
    )
    assert not np.array_equal(got["prediction"], _predict(fitted, table))  # it mattered


@pytest.mark.spark
def test_a_prediction_column_is_refused_before_the_model_is_opened(spark, fitted):
    fs = FeatureEngineeringClient(home=fitted.home)
    df = spark.createDataFrame(fitted.churn[[KEY]].assign(prediction=1))
    with pytest.raises(FeatureInputError) as exc:
        fs.score_batch(model_uri="models:/no-such-model/1", df=df)
    assert _message(exc) == (
        'FeatureStoreClient.score_batch returns a DataFrame with a new column "prediction". '
        'df already has a column with name "prediction".'
    )


@pytest.mark.spark
def test_a_null_in_a_given_feature_gets_the_lookups_default(spark, fitted):
    lookup = resolve_lookup(
        FeatureLookup(
            fitted.table,
            KEY,
            feature_names="total_purchases",
            default_values={"total_purchases": -1},
        ),
        fitted.home,
    )
    df = spark.createDataFrame(
        pd.DataFrame({KEY: fitted.churn[KEY].head(2), "total_purchases": [None, 5.0]})
    )
    got = join_lookups(df, [lookup], home=fitted.home, skip_present=True).toPandas()
    assert got["total_purchases"].tolist() == [-1.0, 5.0]  # the real client's fillna


# --------------------------------------------------------------------------- training


@pytest.mark.spark
def test_create_training_set_checks_as_the_real_client(spark, fitted):
    fs = FeatureEngineeringClient(home=fitted.home)
    lookups = [FeatureLookup(table_name=fitted.table, lookup_key=KEY)]
    labels = spark.createDataFrame(fitted.churn[[KEY, LABEL]])

    def refused(df, label=LABEL, exclude=None) -> str:
        with pytest.raises(FeatureInputError) as exc:
            fs.create_training_set(
                df=df, feature_lookups=lookups, label=label, exclude_columns=exclude
            )
        return _message(exc)

    assert refused(labels.drop(KEY)) == (
        f"Could not find lookup key columns '{KEY}' required by FeatureLookups."
    )
    assert refused(labels.drop(LABEL)) == f"Label column '{LABEL}' was not found in DataFrame"
    assert refused(labels, exclude=[LABEL]) == f"Label column '{LABEL}' cannot be excluded"
    with_feature = spark.createDataFrame(fitted.churn[[KEY, "total_purchases", LABEL]])
    assert refused(with_feature) == (
        "DataFrame contains column names that match feature output names specified in "
        "FeatureLookups: 'total_purchases'. Either remove these columns from the DataFrame "
        "or FeatureLookups."
    )
    as_label = spark.createDataFrame(fitted.churn[[KEY, "total_purchases"]])
    assert refused(as_label, label="total_purchases") == (
        "Feature cannot have same output name as label 'total_purchases'."
    )
