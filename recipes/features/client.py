"""The local ``FeatureEngineeringClient``: the real client's methods and keyword-only arguments.

Every method takes keywords only, as in databricks-feature-engineering 0.18.2, so a cell
written against this client runs unchanged against the real one (:func:`feature_client`
picks). ``log_model`` stores the feature spec as ``feature_spec.yaml`` inside the logged
MLflow model, and ``score_batch`` reads it back from the model URI alone.
"""

from __future__ import annotations

import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from recipes import tables
from recipes.errors import NotFoundError, ParameterError
from recipes.features import checks, lookup, store
from recipes.features.real import on_workspace, real_module
from recipes.workspace_names import CREATED_BY

SPEC_FILE = "feature_spec.yaml"


def feature_client(target: str | None = None, **kwargs):
    """The feature client for ``target``: the real one on a workspace, the local mirror else.

    The real client needs the workspace's feature-store REST API, which the local workspace
    double does not imitate, so against the double the mirror runs (over its Spark session,
    its registry and its tables).

    Args:
        target: ``"local"``, ``"databricks"`` or None for ``MDK_TARGET``.
        **kwargs: passed to the client's constructor.

    Raises:
        MissingDependency: on databricks without databricks-feature-engineering.
    """
    if on_workspace(target):
        return real_module().FeatureEngineeringClient(**kwargs)
    return FeatureEngineeringClient(**kwargs)


@dataclass(frozen=True)
class FeatureModelInfo:
    """What :meth:`FeatureEngineeringClient.log_model` logged (the real one returns None).

    Attributes:
        model_uri: ``models:/m-<id>``, the logged model.
        model_id: MLflow 3's logged-model id.
        run_id: the active run, if any.
        registered_model_name: the name it was registered under, or None.
        registered_model_version: the registered version (int), or None.
        feature_spec: the spec stored as ``feature_spec.yaml`` in the model.
    """

    model_uri: str
    model_id: str
    run_id: str | None
    registered_model_name: str | None
    registered_model_version: int | None
    feature_spec: dict[str, Any] | None


def _first_line(exc: Exception) -> str:
    text = str(getattr(exc, "message", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def load_feature_spec(model_uri: str) -> dict[str, Any]:
    """The feature spec stored in the model at ``model_uri``.

    Raises:
        NotFoundError: the model cannot be found, or it holds no feature spec.
    """
    import yaml
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    try:
        repo = get_artifact_repository(model_uri)
        names = {Path(f.path).name for f in repo.list_artifacts("")}
    except Exception as exc:
        raise NotFoundError(f"Cannot open model {model_uri!r}: {_first_line(exc)}") from None
    if SPEC_FILE not in names:
        raise NotFoundError(
            f"Model {model_uri!r} has no {SPEC_FILE}: it was not logged with its features; "
            "log it with fs.log_model(model=..., flavor=..., training_set=...) and score that."
        )
    with tempfile.TemporaryDirectory() as tmp:
        return yaml.safe_load(Path(repo.download_artifacts(SPEC_FILE, tmp)).read_text())


class FeatureEngineeringClient:
    """A local mirror of ``databricks.feature_engineering.FeatureEngineeringClient``.

    Args:
        spark: the session for methods given no DataFrame (``read_table``, ``drop_table``,
            ``create_table`` with ``schema=``); None for ``recipes.spark.get_spark()``. The
            tables are Delta tables in its catalog.
        home: the kit home holding the tables' metadata (``feature_store/``); None for
            ``$MDK_HOME``.
    """

    def __init__(self, *, spark=None, home: Path | str | None = None, **_ignored):
        self._spark_session = spark
        self._home = Path(home).expanduser() if home is not None else None

    def _spark(self):
        if self._spark_session is None:
            from recipes.spark import get_spark

            return get_spark()
        return self._spark_session

    # ------------------------------------------------------------------- tables

    def create_table(
        self,
        *,
        name: str,
        primary_keys: str | list[str],
        df=None,
        timeseries_column: str | None = None,
        partition_columns: str | list[str] | None = None,
        schema=None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        timestamp_keys: str | list[str] | None = None,
    ) -> store.FeatureTable:
        """Create a feature table from ``df`` (or an empty one from ``schema``).

        ``timestamp_keys`` is the older name of ``timeseries_column``; either must be one of
        ``primary_keys``. ``partition_columns`` is accepted and ignored locally.

        Raises:
            KitError: the table exists (use ``write_table``).
            ParameterError: key columns missing, or null or duplicate primary keys.
        """
        ts = store.as_list(timeseries_column) or store.as_list(timestamp_keys)
        spark = self._spark_session if df is not None else self._spark()
        return store.create(
            name,
            store.as_list(primary_keys),
            df,
            schema,
            ts,
            description,
            tags,
            spark,
            self._home,
        )

    def write_table(self, *, name: str, df, mode: str = "merge", **_streaming) -> None:
        """Upsert ``df`` on the primary keys (``"merge"``: Delta's ``MERGE INTO``), or replace
        the rows (``"overwrite"``).

        New columns become new features; columns ``df`` lacks keep their values for the
        keys it updates (and are null for keys it adds).

        Raises:
            KitError: (merge) two rows of ``df`` for one key of the table: Delta's
                ``DELTA_MULTIPLE_SOURCE_ROW_MATCHING_TARGET_ROW_IN_MERGE``, in one line.
            ParameterError: a key column missing, or a type that differs from the table's.
        """
        store.write(name, df, mode, self._spark_session, self._home)

    def read_table(self, *, name: str, **_kwargs):
        """The feature table as a Spark DataFrame."""
        return store.read(name, self._spark(), self._home)

    def get_table(self, *, name: str) -> store.FeatureTable:
        """The feature table's metadata (primary keys, timestamp keys, features, ...)."""
        return store.load_meta(name, self._home)

    def drop_table(self, *, name: str) -> None:
        """Delete the feature table's data (``DROP TABLE``) and metadata."""
        store.drop(name, self._spark_session, self._home)

    # ------------------------------------------------------------------- training

    def create_training_set(
        self,
        *,
        df,
        feature_lookups: list | None = None,
        label: str | list[str] | None,
        exclude_columns: list[str] | None = None,
        **kwargs,
    ) -> lookup.TrainingSet:
        """A :class:`~recipes.features.lookup.TrainingSet`; ``.load_df()`` joins the features.

        The checks on df are the real client's, with its messages (a missing or excluded
        label, a missing lookup key or timestamp lookup key, a feature df already has:
        :mod:`recipes.features.checks`).

        Raises:
            FeatureInputError: (a ``ValueError`` and a ``ParameterError``) df breaks one of
                the real client's rules.
            ParameterError: an unknown feature or excluded column.
        """
        unsupported = sorted(k for k, v in kwargs.items() if v not in (None, False))
        if unsupported:
            raise ParameterError(
                f"create_training_set: {unsupported} not supported locally; use "
                "feature_lookups=[FeatureLookup(...)]."
            )
        return lookup.training_set(df, feature_lookups, label, exclude_columns, self._home)

    def log_model(
        self,
        *,
        model: Any,
        artifact_path: str | None = None,
        flavor: ModuleType,
        training_set: lookup.TrainingSet | None = None,
        registered_model_name: str | None = None,
        await_registration_for: int = 300,
        infer_input_example: bool = False,
        name: str | None = None,
        **kwargs,
    ) -> FeatureModelInfo:
        """Log ``model`` with ``flavor.log_model`` and store the training set's feature spec in it.

        Unless ``signature=`` is given, the signature is inferred from up to 100 rows of
        ``training_set.load_df()`` (features in, label out). Registration happens after
        the spec is stored, so every version carries it.

        Args:
            name: the model's name in the run (MLflow 3); ``artifact_path`` is the real
                client's spelling of the same thing.
            **kwargs: passed to ``flavor.log_model``.
        """
        import mlflow
        import yaml

        model_name = name or artifact_path or "model"
        spec = training_set.feature_spec() if training_set is not None else None
        if training_set is not None and (
            "signature" not in kwargs or (infer_input_example and "input_example" not in kwargs)
        ):
            sample = training_set.load_df().limit(100).toPandas()
            inputs = sample[training_set.feature_columns]
            if "signature" not in kwargs:
                labels = training_set.label or []
                output = sample[labels[0]] if len(labels) == 1 else None
                with warnings.catch_warnings():  # the integer-columns hint, on every log
                    warnings.filterwarnings("ignore", "Hint: Inferred schema contains integer")
                    kwargs["signature"] = mlflow.models.infer_signature(inputs, output)
            if infer_input_example and "input_example" not in kwargs:
                kwargs["input_example"] = inputs.head(5)
        info = flavor.log_model(model, name=model_name, **kwargs)
        if spec is not None:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / SPEC_FILE
                path.write_text(yaml.safe_dump(spec, sort_keys=False))
                mlflow.MlflowClient().log_model_artifact(info.model_id, str(path))
        version = None
        if registered_model_name is not None:
            mv = mlflow.register_model(
                info.model_uri,
                registered_model_name,
                await_registration_for=await_registration_for or 0,
            )
            version = int(mv.version)
        return FeatureModelInfo(
            model_uri=info.model_uri,
            model_id=info.model_id,
            run_id=info.run_id,
            registered_model_name=registered_model_name,
            registered_model_version=version,
            feature_spec=spec,
        )

    # ------------------------------------------------------------------- scoring

    def score_batch(
        self,
        *,
        model_uri: str,
        df,
        result_type: str = "double",
        env_manager: str = "local",
        params: dict[str, Any] | None = None,
        **_kwargs,
    ):
        """Score ``df``: join the model's features by its lookup keys, add ``prediction``.

        The rules are the real client's (databricks-feature-engineering 0.18.2,
        ``_training_scoring_client.score_batch``; the checks and messages are in
        :mod:`recipes.features.checks`):

        - df must hold every lookup key and every source column the model was trained with
          (:func:`~recipes.features.checks.scoring_columns`), *even when it also holds the
          features*: else ``DataFrame is missing required columns '<key>'.``;
        - a feature df holds is used instead of the table's value (overridden); the others
          are looked up;
        - any other column (a label, an id) rides along: kept in the output, not given to the
          model;
        - df must not have a ``prediction`` column, nor two columns of one name.

        Scoring uses ``mlflow.pyfunc.spark_udf(spark, model_uri, env_manager=...,
        result_type=...)`` on the features in the order the model was trained on.

        Returns:
            A Spark DataFrame: df's columns, the looked-up features, then ``prediction``.

        Raises:
            FeatureInputError: (a ``ValueError`` and a ``ParameterError``) df breaks a rule
                above, in the real client's words.
            NotFoundError: the model is missing or holds no feature spec; a feature table is
                gone.
        """
        import mlflow

        df = store.to_spark(df, self._spark_session)
        checks.check_scoring_frame(df)  # before opening the model, as the real client
        spec = load_feature_spec(model_uri)
        checks.check_scoring_columns(df.columns, spec)
        lookups = spec.get("feature_lookups") or []
        joined = lookup.join_lookups(df, lookups, home=self._home, skip_present=True)
        udf = mlflow.pyfunc.spark_udf(
            store.spark_of(df),
            model_uri=model_uri,
            result_type=result_type,
            env_manager=env_manager,
            params=params,
        )
        return joined.withColumn("prediction", udf(*spec["input_columns"]))


def ensure_table(fs, *, name: str, primary_keys, df, description: str | None = None):
    """Create feature table ``name`` from ``df``, or overwrite its rows when it exists.

    Works with the local mirror and the real client alike (both raise when ``get_table``
    finds no table), so a notebook can be rerun. A table it creates carries
    :data:`recipes.workspace_names.CREATED_BY` as a tag and as a table property (the property is what
    ``mdk teardown`` lists; the real client's tags are Unity Catalog tags).
    """
    try:
        fs.get_table(name=name)
    except Exception:  # noqa: BLE001 - NotFoundError locally, the SDK's error on Databricks
        made = fs.create_table(
            name=name,
            primary_keys=primary_keys,
            df=df,
            description=description,
            tags=dict([CREATED_BY]),
        )
        if not tables.kit_tables():  # Unity Catalog: a table property through Spark
            tables.mark_created(name, spark=df.sparkSession)
        return made
    fs.write_table(name=name, df=df, mode="overwrite")
    return fs.get_table(name=name)
