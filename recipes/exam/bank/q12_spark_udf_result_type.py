"""Q12 · Batch Inference: the column type ``spark_udf`` gives with no ``result_type``."""

from __future__ import annotations

import pandas as pd

from recipes.exam.questions import Option, Outcome, Question


def _unsigned_model():
    """The same kind of model, fitted on a bare array and logged with no signature (so
    ``spark_udf`` hands it unnamed columns, which it takes by position)."""
    from sklearn.linear_model import LogisticRegression

    from recipes import data

    df = data.make_churn(1000, seed=0)
    x = df[list(data.FEATURES)].to_numpy("float64")
    return LogisticRegression(max_iter=1000).fit(x, df[data.LABEL].to_numpy()), None


def q12_scenario(lab) -> dict:
    def run() -> dict:
        import mlflow

        from recipes.data import FEATURES, live_traffic

        m = lab.registry()
        spark = lab.spark()
        signed = f"models:/{m.name}/{m.v1}"
        unsigned = lab.run_model("unsigned", _unsigned_model)
        df = spark.createDataFrame(live_traffic(4, seed=12)[list(FEATURES)])
        out = {}
        for key, uri, kwargs in [
            ("signed, no result_type", signed, {}),
            ("no signature, no result_type", unsigned, {}),
            ('signed, result_type="double"', signed, {"result_type": "double"}),
            ('signed, result_type="string"', signed, {"result_type": "string"}),
        ]:
            udf = mlflow.pyfunc.spark_udf(spark, uri, env_manager="local", **kwargs)
            scored = df.withColumn("prediction", udf(*FEATURES)).select("prediction")
            out[key] = {
                "type": dict(scored.dtypes)["prediction"],
                "values": [r[0] for r in scored.collect()],
            }
        return out

    return lab.once("q12", run)


def _q12(lab, fits_fn) -> Outcome:
    s = q12_scenario(lab)
    table = pd.DataFrame(
        [{"call": k, "column type": v["type"], "values": v["values"]} for k, v in s.items()]
    )
    default = s["signed, no result_type"]["type"]
    bare = s["no signature, no result_type"]["type"]
    happened = (
        f"With no result_type the column came out {default} for the model whose signature "
        f"says long, and {bare} for the same model logged without a signature; "
        "result_type turned it into exactly the type asked for."
    )
    ev = {k: v["type"] for k, v in s.items()}
    return Outcome(
        happened,
        fits=fits_fn(ev),
        evidence=ev,
        table=table,
        code="mlflow.pyfunc.spark_udf(spark, model_uri)",
    )


def q12_a(lab) -> Outcome:
    return _q12(lab, lambda ev: ev["signed, no result_type"] == "double")


def q12_b(lab) -> Outcome:
    return _q12(
        lab,
        lambda ev: (
            ev["signed, no result_type"] == "bigint"
            and ev["no signature, no result_type"] == "double"
        ),
    )


def q12_c(lab) -> Outcome:
    return _q12(lab, lambda ev: ev["signed, no result_type"] == "string")


def q12_d(lab) -> Outcome:
    return _q12(lab, lambda ev: ev["signed, no result_type"].startswith("array"))


QUESTION = Question(
    order=12,
    topic="Batch Inference",
    text=(
        "A model predicts a 0/1 class and its signature declares the output as long. What "
        "column does `mlflow.pyfunc.spark_udf(spark, model_uri)` give, with no result_type?"
    ),
    options=(
        Option("A", "Always double; pass result_type to get integers.", q12_a),
        Option(
            "B",
            "The type the model's output signature declares (bigint here); a model "
            "without an output signature gets double, so pass result_type for it.",
            q12_b,
        ),
        Option("C", "A string column: UDFs return text unless told otherwise.", q12_c),
        Option("D", "An array column, one array of predictions per row.", q12_d),
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
