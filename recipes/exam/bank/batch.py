"""Batch questions: 100M rows (Q3), ``spark_udf``'s result type (Q12) and ``env_manager``
(Q13), what ``score_batch`` needs (Q14), streaming inference (Q15)."""

from __future__ import annotations

from recipes.exam.questions import Option, Question
from recipes.exam.runners import batch as b
from recipes.exam.runners import streaming as st
from recipes.exam.runners.serving import warm

Q3 = Question(
    id="Q3",
    topic="Batch Inference",
    source="module",
    text=(
        "A data engineer needs to score 100 million rows using a registered MLflow model. "
        "Which approach is most efficient on Databricks?"
    ),
    options=(
        Option(
            "A",
            "Load the model with mlflow.pyfunc.load_model() and iterate through rows on the driver",
            b.q3_a,
        ),
        Option("B", "Send all rows to the Model Serving endpoint using the REST API", b.q3_b),
        Option("C", "Use mlflow.pyfunc.spark_udf() and apply it to a Spark DataFrame", b.q3_c),
        Option("D", "Export the data to CSV and score it locally", b.q3_d),
    ),
    answer="C",
    explanation=(
        "What matters at 100M rows is how an approach grows. `spark_udf` runs the model in "
        "every task of a Spark job, so adding cores adds throughput, each task holds one batch "
        "at a time, and the rows never leave the platform. A driver loop uses one core and one "
        "`predict` per row. An endpoint is built for low-latency requests: every row crosses "
        "HTTP as JSON and the endpoint's concurrency caps the rate. A CSV export moves the data "
        "off the platform, and a local pandas pass needs memory in proportion to the rows. On "
        "a laptop the pandas pass can be the fastest; it just cannot grow."
    ),
    needs=frozenset({"registry", "serving", "spark"}),
    prepare=warm("champion"),
)

Q12 = Question(
    id="Q12",
    topic="Batch Inference",
    text=(
        "A model predicts a 0/1 class and its signature declares the output as long. What "
        "column does `mlflow.pyfunc.spark_udf(spark, model_uri)` give, with no result_type?"
    ),
    options=(
        Option("A", "Always double; pass result_type to get integers.", b.q12_a),
        Option(
            "B",
            "The type the model's output signature declares (bigint here); a model "
            "without an output signature gets double, so pass result_type for it.",
            b.q12_b,
        ),
        Option("C", "A string column: UDFs return text unless told otherwise.", b.q12_c),
        Option("D", "An array column, one array of predictions per row.", b.q12_d),
    ),
    answer="B",
    explanation=(
        "With no `result_type`, MLflow 3 reads the model's output schema: one long column "
        "becomes `bigint`. Only when the model has no output signature does it fall back to "
        "`double`, the old default, which is why older examples always pass one. Passing a "
        'scalar `result_type` (`"long"`, `"double"`, `"string"`) gives exactly that type; '
        "the kit's `score_table` takes it from the signature and passes it explicitly."
    ),
    needs=frozenset({"registry", "spark"}),
)

Q13 = Question(
    id="Q13",
    topic="Batch Inference",
    text=(
        "On a laptop with no conda, which `env_manager` lets `spark_udf` score with the "
        "packages already installed where the Spark session runs?"
    ),
    options=(
        Option("A", 'env_manager="conda"', b.q13_a),
        Option("B", 'env_manager="virtualenv"', b.q13_b),
        Option("C", 'env_manager="local"', b.q13_c),
        Option("D", 'env_manager="uv"', b.q13_d),
    ),
    answer="C",
    # Sources: MLflow 3.17, mlflow/pyfunc/__init__.py (spark_udf): env_manager defaults to
    # local unless prebuilt_env_uri is given; virtualenv/conda/uv are refused only "in Spark
    # Connect client environment if it connects to non-Databricks Spark cluster"; Databricks
    # Connect from your own machine requires prebuilt_env_uri; in Databricks Connect and
    # serverless notebooks conda is refused and virtualenv/uv are shipped to the UDF sandbox;
    # prebuilt_env_uri (an archive from mlflow.pyfunc.build_model_env) works in serverless and
    # standard (shared) cluster notebooks and Databricks Connect.
    explanation=(
        "`local` (the default when no prebuilt environment is given) runs the model with the "
        "Python packages of the session's own environment: nothing is built, so it is fast, "
        "and it is right when that environment matches the model's requirements. `conda`, "
        "`virtualenv` and `uv` rebuild the environment the model was logged with, on the "
        "driver and the workers, which needs that tool and network access to the package "
        "index, and takes minutes. Here they fail quickly for want of their tools or network; "
        "each says why. Where they may run depends on the session, in MLflow's `spark_udf`: "
        "over Spark Connect to a non-Databricks cluster MLflow refuses all three, so only "
        "`local` works there. On Databricks, serverless and standard-access notebooks run "
        "`virtualenv` or `uv` (`conda` is refused on serverless and over Databricks Connect), "
        "or take a prebuilt environment, `prebuilt_env_uri=` an archive made once with "
        "`mlflow.pyfunc.build_model_env`; and Databricks Connect from your own machine requires "
        "`prebuilt_env_uri` whatever the `env_manager`, `local` included."
    ),
    needs=frozenset({"registry", "spark"}),
)

Q14 = Question(
    id="Q14",
    topic="Feature Store",
    text=(
        "A model was logged with `fs.log_model(..., training_set=...)` from features looked up "
        "by customer_id. What is the least the DataFrame given to `fs.score_batch` must contain?"
    ),
    options=(
        Option("A", "Every feature column the model uses.", b.q14_a),
        Option(
            "B",
            "Only the lookup key, customer_id: the features are joined from the feature table.",
            b.q14_b,
        ),
        Option("C", "The features and the label.", b.q14_c),
        Option("D", "The lookup key and the label.", b.q14_d),
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

Q15 = Question(
    id="Q15",
    topic="Streaming Inference",
    text=(
        "Files of new customers land in a folder all day. Which job scores every row exactly "
        "once, even when the job restarts?"
    ),
    options=(
        Option(
            "A",
            "A batch job that reads the whole folder each run and appends its predictions.",
            st.q15_a,
        ),
        Option(
            "B",
            "readStream + spark_udf + writeStream with a checkpointLocation, restarted "
            "on the same checkpoint.",
            st.q15_b,
        ),
        Option("C", "The same stream, with a new checkpoint location for each run.", st.q15_c),
        Option("D", "The same stream, without a checkpoint location.", st.q15_d),
    ),
    answer="B",
    explanation=(
        "Structured Streaming remembers which files it has processed, and which output it has "
        "committed, in the checkpoint. Restarted on the same checkpoint, a query picks up only "
        "the new files. A batch job rescans everything each run, so appending duplicates the "
        "earlier rows. A new checkpoint forgets the progress while the file sink's own log in "
        "the output folder remembers its committed batch numbers: the new query's first batch "
        "is taken as already written, and the new file's rows are silently lost. Without any "
        "checkpoint a file sink refuses to start. `trigger(availableNow=True)` runs the stream "
        "as a scheduled job: everything new, then stop."
    ),
    needs=frozenset({"registry", "spark"}),
)
