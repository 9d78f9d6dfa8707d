"""Batch scoring's fast path: the model's raw sklearn estimator over Arrow batches.

``mlflow.pyfunc.spark_udf`` runs pyfunc's ``predict`` in each Python worker, which checks
the input against the signature first and builds a frame for the model (for ``Any``
columns, value by value: ~6.7 µs per row, the job's largest cost before the demo models'
signature became ``long``). For a model whose raw estimator gives what ``predict``
gives (:mod:`recipes.rawmodel`), :func:`plan` loads the model once on the driver and checks
the estimator against ``predict`` on probe rows of the source; :func:`score` then ships
the estimator in a pandas UDF, so each Python worker unpickles it once per task and calls
``predict`` on one float64 array per Arrow batch of the input columns. The plan says why when it
falls back to ``spark_udf`` (another flavor, a string column, a mismatch on the probe rows,
or a workspace, whose cluster loads the model with its own MLflow).

The function shipped to the workers refers to numpy alone, never to the kit, so it runs on
a cluster where the kit is not installed. It refuses what pyfunc refuses for a ``long``
input: a column Arrow hands over as floats (a bigint column with nulls), with MLflow's words.
"""

from __future__ import annotations

from dataclasses import dataclass

PROBE_ROWS = 512

_NUMPY_TYPES = {"long": "int64", "int": "int32", "double": "float64", "float": "float32",
                "boolean": "bool"}  # fmt: skip


@dataclass(frozen=True)
class Plan:
    """How a batch job will score: ``path`` is ``"raw"`` or ``"spark_udf"``; ``why`` says
    why (a fallback's reason, or what was checked); ``estimator`` is set for ``"raw"``."""

    path: str
    why: str
    estimator: object = None
    whole: tuple[str, ...] = ()  # the ``long`` inputs: integer values only, as for pyfunc


def plan(uri: str, df, names: list[str], result_type: str, *, on_workspace: bool) -> Plan:
    """Choose the path for scoring ``df``'s columns ``names`` with the model at ``uri``."""
    import mlflow

    from recipes.rawmodel import input_kinds, raw_estimator, same_predictions

    if on_workspace:
        return Plan("spark_udf", "on a workspace the cluster loads the model itself")
    if result_type not in _NUMPY_TYPES:
        return Plan("spark_udf", f"a {result_type} prediction is not a plain array")
    model = mlflow.pyfunc.load_model(uri)
    signature_names, kinds = input_kinds(model)
    if signature_names != names:
        return Plan("spark_udf", "the input columns are not the signature's, in order")
    estimator = raw_estimator(model, kinds)
    if estimator is None:
        return Plan("spark_udf", "not an sklearn model with a plain predict on numeric columns")
    probe = df.select(*names).limit(PROBE_ROWS).toPandas()
    try:
        same = not len(probe) or same_predictions(model, estimator, probe)
    except Exception as exc:  # noqa: BLE001 - the job reports the row that fails, as before
        return Plan("spark_udf", f"predict failed on the probe rows ({type(exc).__name__})")
    if not same:
        return Plan("spark_udf", f"the raw estimator differs from predict on {len(probe)} rows")
    whole = tuple(n for n, k in zip(names, kinds, strict=True) if k == "long")
    why = f"raw estimator, equal to predict on {len(probe)} probe rows"
    return Plan("raw", why, estimator, whole)


def score(df, estimator, names: list[str], column: str, result_type: str,
          whole: tuple[str, ...] = ()):  # fmt: skip
    """``df`` with ``column`` = ``estimator.predict`` of ``names``.

    A scalar-iterator pandas UDF over one struct of the input columns: only those columns
    travel to Python and one column comes back (``mapInPandas`` would ship every column
    both ways), and the native-thread limit is set once per task, not once per batch.
    A batch where a column of ``whole`` is not integers (nulls make Arrow send floats)
    fails as ``spark_udf`` would, with MLflow's message naming the column."""
    from collections.abc import Iterator

    import pandas as pd
    from pyspark.sql import functions as F

    from recipes.rawmodel import NO_NAMES as no_names  # a str: the UDF ships it by value

    dtype = _NUMPY_TYPES[result_type]

    def predict_batches(batches):
        import warnings

        import numpy as np

        warnings.filterwarnings("ignore", message=no_names)
        try:  # one native thread per worker: Spark already runs one worker per core
            from threadpoolctl import threadpool_limits

            limit = threadpool_limits(1)
        except ImportError:
            limit = None
        try:
            for frame in batches:
                for name in whole:
                    kind = frame[name].dtype
                    if kind.kind != "i":
                        raise ValueError(f"Incompatible input types for column {name}. "
                                         f"Can not safely convert {kind} to int64.")  # fmt: skip
                yield pd.Series(estimator.predict(frame.to_numpy(np.float64)).astype(dtype))
        finally:
            if limit is not None:
                limit.restore_original_limits()

    # the scalar-iterator kind, told by real type objects (this module's are strings)
    predict_batches.__annotations__ = {"batches": Iterator[pd.DataFrame],
                                       "return": Iterator[pd.Series]}  # fmt: skip
    udf = F.pandas_udf(predict_batches, result_type)
    return df.withColumn(column, udf(F.struct(*[F.col(n) for n in names])))
