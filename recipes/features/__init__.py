"""A local mirror of ``databricks.feature_engineering.FeatureEngineeringClient``.

databricks-feature-engineering needs a workspace for everything but ``FeatureLookup``
(its client calls the workspace's feature-store API), so locally the same API runs on the kit's tables (:mod:`recipes.tables`) and
Spark, with the metadata in ``$MDK_HOME/feature_store/``. On the databricks target,
:func:`feature_client` returns the real client and :class:`FeatureLookup` builds the real
lookup, so notebook cells never branch::

    fs = feature_client()
    fs.create_table(name="main.features.churn", primary_keys=["customer_id"], df=features)
    training = fs.create_training_set(
        df=labels,  # customer_id, churned
        feature_lookups=[FeatureLookup("main.features.churn", "customer_id")],
        label="churned",
        exclude_columns=["customer_id"],
    )
    model = fit(training.load_df().toPandas())
    fs.log_model(model=model, name="model", flavor=mlflow.sklearn, training_set=training,
                 registered_model_name="churn-features")
    predictions = fs.score_batch(model_uri="models:/churn-features@champion", df=ids)

- :mod:`~recipes.features.store`: feature tables (create, merge, read, metadata, drop);
- :mod:`~recipes.features.lookup`: ``FeatureLookup``, ``TrainingSet``, exact and
  point-in-time joins;
- :mod:`~recipes.features.client`: the client, ``log_model`` and ``score_batch``;
- :mod:`~recipes.features.checks`: the real client's checks of the DataFrames it is given
  (lookup keys, labels, overridden features), with its messages;
- :mod:`~recipes.features.real`: the real ``databricks.feature_engineering``, on demand.
"""

from recipes.features.checks import FeatureInputError
from recipes.features.client import (
    SPEC_FILE,
    FeatureEngineeringClient,
    FeatureModelInfo,
    ensure_table,
    feature_client,
    load_feature_spec,
)
from recipes.features.lookup import FeatureLookup, TrainingSet
from recipes.features.store import FeatureTable

__all__ = [
    "SPEC_FILE",
    "FeatureEngineeringClient",
    "FeatureInputError",
    "FeatureLookup",
    "FeatureModelInfo",
    "FeatureTable",
    "TrainingSet",
    "ensure_table",
    "feature_client",
    "load_feature_spec",
]
