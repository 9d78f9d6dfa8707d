"""Q14 · Feature Store: the least the DataFrame given to ``score_batch`` must contain."""

from __future__ import annotations

from recipes.exam.common import one_line
from recipes.exam.questions import Option, Outcome, Question

FEATURE_TABLE = "main.exam.customers"


def q14_setup(lab) -> dict:
    """A feature table keyed by ``customer_id``, and a model logged with its lookups."""

    def run() -> dict:
        import mlflow

        from recipes import data, train
        from recipes.features import FeatureLookup, ensure_table, feature_client

        lab.registry()
        spark = lab.spark()
        feature_model = lab.related("features")
        fs = feature_client(lab.target.name)
        customers = data.make_churn(600, seed=14)
        ensure_table(
            fs,
            name=FEATURE_TABLE,
            primary_keys=data.KEY,
            df=spark.createDataFrame(customers.drop(columns=[data.LABEL])),
        )
        training_set = fs.create_training_set(
            df=spark.createDataFrame(customers[[data.KEY, data.LABEL]]),
            feature_lookups=[FeatureLookup(table_name=FEATURE_TABLE, lookup_key=data.KEY)],
            label=data.LABEL,
            exclude_columns=[data.KEY],
        )
        fs.log_model(
            model=train.fit(training_set.load_df().toPandas()),
            name="model",
            flavor=mlflow.sklearn,
            training_set=training_set,
            registered_model_name=feature_model,
        )
        version = max(
            int(v.version)
            for v in mlflow.MlflowClient().search_model_versions(f"name = '{feature_model}'")
        )
        return {
            "fs": fs,
            "customers": customers.head(200),
            "uri": f"models:/{feature_model}/{version}",
        }

    return lab.once("q14:setup", run)


MISSING = "DataFrame is missing required columns"  # the real client's words (Q14's source)

OVERRIDE = ("total_purchases", 0)  # a feature given beside the key, and the value it is given


def _score(lab, columns: list[str], given: dict | None = None) -> dict:
    """``score_batch`` on the first customers' ``columns`` (with ``given`` values set),
    or the refusal (once per columns and values)."""

    def run() -> dict:
        setup = q14_setup(lab)
        spark = lab.spark()
        frame = setup["customers"][columns].assign(**(given or {}))
        try:
            out = setup["fs"].score_batch(model_uri=setup["uri"], df=spark.createDataFrame(frame))
            kept = {
                c: sorted({r[0] for r in out.select(c).distinct().collect()}) for c in (given or {})
            }
            rows = out.select("prediction").count()
            return {
                "columns": columns,
                "scored": rows,
                "output": out.columns,
                "error": None,
                "kept": kept,
            }
        except Exception as exc:  # noqa: BLE001 - a refusal is evidence too
            return {
                "columns": columns,
                "scored": 0,
                "output": None,
                "error": one_line(exc),
                "kept": {},
            }

    key = ",".join(columns) + (f":{sorted((given or {}).items())}" if given else "")
    return lab.once("q14:" + key, run)


def _override(lab) -> dict:
    """The key with one feature beside it, set to a value of our own: the value scored is
    ours, not the feature table's (the real client's documented override)."""
    from recipes import data

    name, value = OVERRIDE
    out = _score(lab, [data.KEY, name], {name: value})
    return {
        **out,
        "feature": name,
        "value": value,
        "used_given": out.get("kept", {}).get(name) == [value],
    }


def _q14(lab, columns: list[str]) -> Outcome:
    from recipes import data

    mine = _score(lab, columns)
    keys_only = _score(lab, [data.KEY])
    override = _override(lab)
    minimal = mine["error"] is None and set(columns) == {data.KEY}
    if mine["error"] is None:
        first = (
            f"score_batch scored {mine['scored']} rows from {columns}; output columns "
            f"{mine['output']}. "
        )
    else:
        first = f"score_batch refused {columns}: {mine['error'].rstrip('.')}. "
    if minimal:
        rest = "The features were joined from the feature table by key."
    else:
        rest = (
            f"With only {keys_only['columns']} it scored {keys_only['scored']} rows: the "
            "features were looked up by key."
        )
    if data.KEY not in columns:
        name, value = OVERRIDE
        used = override.get("kept", {}).get(name)
        rest += (
            f" The key is what it lacks: with the key beside {name}={value}, it scored "
            f"{override['scored']} rows using {name}={used}, the given value instead of "
            "the table's."
        )
    missing_key = bool(mine["error"]) and MISSING in mine["error"] and data.KEY in mine["error"]
    return Outcome(
        first + rest,
        fits=minimal and keys_only["scored"] > 0,
        evidence={
            "mine": mine,
            "keys_only": keys_only,
            "override": override,
            "missing_key": missing_key,
        },
        code="fs.score_batch(model_uri=..., df=new_customers_df)",
        error=mine["error"],
    )


def q14_a(lab) -> Outcome:
    from recipes import data

    return _q14(lab, list(data.FEATURES))


def q14_b(lab) -> Outcome:
    from recipes import data

    return _q14(lab, [data.KEY])


def q14_c(lab) -> Outcome:
    from recipes import data

    return _q14(lab, [*data.FEATURES, data.LABEL])


def q14_d(lab) -> Outcome:
    from recipes import data

    return _q14(lab, [data.KEY, data.LABEL])


QUESTION = Question(
    order=14,
    topic="Feature Store",
    text=(
        "A model was logged with `fs.log_model(..., training_set=...)` from features looked up "
        "by customer_id. What is the least the DataFrame given to `fs.score_batch` must contain?"
    ),
    options=(
        Option("A", "Every feature column the model uses.", q14_a),
        Option(
            "B",
            "Only the lookup key, customer_id: the features are joined from the feature table.",
            q14_b,
        ),
        Option("C", "The features and the label.", q14_c),
        Option("D", "The lookup key and the label.", q14_d),
    ),
    answer="B",
    # Sources: databricks-feature-engineering 0.18.2 (the wheel's source):
    # databricks/feature_engineering/client.py, FeatureEngineeringClient.score_batch's
    # docstring (df must contain the lookup keys; "If a feature is included in df, the provided
    # feature values will be used rather than those stored in feature tables"; df "may contain
    # additional columns"); databricks/ml_features/_training_scoring_client/
    # _training_scoring_client.py, _score_batch_with_feature_spec_materialized (the keys are
    # required before anything else: "DataFrame is missing required columns ..."). The local
    # client applies the same rules (recipes.features.checks).
    explanation=(
        "`log_model` with a training set stores the feature lookups inside the MLflow model. "
        "`score_batch` reads them back, joins each feature table on its lookup key and then "
        "scores, so the key is all it needs. It always needs the key: the real client checks "
        "for every lookup key before anything else, so a frame of the features alone (A), or "
        'of the features and the label (C), fails with "DataFrame is missing required '
        "columns 'customer_id'.\" although it holds everything the model reads. Features you "
        "pass beside the key are used instead of the feature table's values, and any other "
        "column, the label included, rides along to the output without reaching the model: D "
        "scores, but its label is not needed, so it is not the least."
    ),
    needs=frozenset({"registry", "spark"}),
)
