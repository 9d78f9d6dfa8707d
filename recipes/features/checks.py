"""What the real client checks in the DataFrames it is given, with its own messages.

Each check is databricks-feature-engineering 0.18.2's, read from its source (the wheel's
``databricks/ml_features/...`` modules named at each function), so a cell that fails on
Databricks fails here with the same words, and one that runs there runs here:

- ``create_training_set``: labels present and not excluded, feature output names unique and
  apart from the label and from df's columns, every lookup key in df (or produced by another
  lookup), every timestamp lookup key in df;
- ``score_batch``: no ``prediction`` column, unique column names, and every lookup key and
  every source column the model was trained with, *even when df carries the features
  themselves*; a feature df carries is used instead of the table's (:func:`scoring_columns`).

The real client raises ``ValueError``; :class:`FeatureInputError` is one too, and a
:class:`~recipes.errors.ParameterError` (one line, as every kit error).
"""

from __future__ import annotations

from collections.abc import Iterable

from recipes.errors import ParameterError

PREDICTION = "prediction"


class FeatureInputError(ParameterError, ValueError):
    """A DataFrame or lookup the real client refuses, in the real client's words.

    It is a ``ValueError``, as the real client's, so ``except ValueError`` written for
    Databricks catches it here too.
    """


def quoted(names: Iterable[str]) -> str:
    """``'a', 'b'``: how the real client lists names in its messages
    (``ml_features_common/utils/utils_common.py``, ``validate_strings_unique``)."""
    return ", ".join(f"'{n}'" for n in names)


def duplicates(names: Iterable[str]) -> list[str]:
    """The names that occur more than once, in first-seen order."""
    seen: dict[str, int] = {}
    for n in names:
        seen[n] = seen.get(n, 0) + 1
    return [n for n, k in seen.items() if k > 1]


def check_unique(names: Iterable[str], template: str) -> None:
    """``utils_common.validate_strings_unique``: ``template`` names the duplicates."""
    found = duplicates(names)
    if found:
        raise FeatureInputError(template.format(quoted(found)))


# --------------------------------------------------------------------------- training


def check_df_and_labels(df_columns: list[str], labels: list[str], excluded: list[str]) -> None:
    """``create_training_set``'s first checks, before it opens a table
    (``ml_features/utils/training_scoring_utils.py``, ``verify_df_and_labels``).

    Raises:
        FeatureInputError: with the real client's message.
    """
    check_unique(df_columns, "Found duplicate DataFrame column names {}.")
    check_unique(labels, "Found duplicate label names {}.")
    for name in labels:
        if name not in df_columns:
            raise FeatureInputError(f"Label column '{name}' was not found in DataFrame")
        if name in excluded:
            raise FeatureInputError(f"Label column '{name}' cannot be excluded")


def check_lookups(df_columns: list[str], lookups: list[dict], labels: list[str]) -> None:
    """``create_training_set``'s checks of the resolved ``lookups`` against df, in its order
    (``training_scoring_utils.validate_column_infos``, then ``_validate_join_keys`` of
    ``ml_features/utils/feature_lookup_utils.py``, run when the real ``TrainingSet`` is built).

    Raises:
        FeatureInputError: with the real client's message.
    """
    outputs = [o for lk in lookups for o in lk["output_names"]]
    # the kit's hint after the real words: the usual fix for the same feature looked up twice
    check_unique(
        outputs,
        "Found duplicate feature output names {}. Give one of the lookups "
        "rename_outputs={{feature: new_name}}.",
    )
    for name in labels:
        if name in outputs:
            raise FeatureInputError(f"Feature cannot have same output name as label '{name}'.")
    source = [c for c in df_columns if c not in labels]  # the real client's source data columns
    clash = [o for o in outputs if o in source]
    if clash:
        raise FeatureInputError(
            "DataFrame contains column names that match feature output names specified in "
            f"FeatureLookups: {quoted(clash)}. Either remove these columns from the DataFrame "
            "or FeatureLookups."
        )
    keys = {k for lk in lookups for k in lk["lookup_key"]}
    missing = sorted(keys - set(source) - set(outputs))
    if missing:
        raise FeatureInputError(
            f"Could not find lookup key columns {quoted(missing)} required by FeatureLookups."
        )
    available = [*df_columns, *outputs]
    for lk in lookups:
        check_join_keys(available, lk)


def check_join_keys(columns: list[str], lookup: dict) -> None:
    """``feature_lookup_utils._validate_join_keys``: df holds the lookup's keys and its
    timestamp lookup key, whether or not its features are overridden."""
    phrase = f"Unable to join feature table '{lookup['table_name']}'"
    missing = [k for k in lookup["lookup_key"] if k not in columns]
    if missing:
        raise FeatureInputError(
            f"{phrase} because lookup key {quoted(missing)} not found in DataFrame."
        )
    ts = lookup.get("timestamp_lookup_key")
    if ts and ts not in columns:
        raise FeatureInputError(
            f"{phrase} because timestamp lookup key '{ts}' not found in DataFrame."
        )


# --------------------------------------------------------------------------- scoring


def check_scoring_frame(df) -> None:
    """``score_batch``'s checks before it opens the model
    (``ml_features/_training_scoring_client/_training_scoring_client.py``, ``score_batch``)."""
    if df.isStreaming:
        raise FeatureInputError("Streaming DataFrames are not supported.")
    if PREDICTION in df.columns:
        raise FeatureInputError(
            "FeatureStoreClient.score_batch returns a DataFrame with a new column "
            f'"{PREDICTION}". df already has a column with name "{PREDICTION}".'
        )
    check_unique(
        df.columns,
        "The provided DataFrame for scoring must have unique column names. Found duplicates {}.",
    )


def scoring_columns(spec: dict) -> list[str]:
    """The columns ``score_batch`` requires of df for a model's feature ``spec``.

    As ``_score_batch_with_feature_spec_materialized`` computes them: every lookup key that
    no lookup produces, plus every source column the model keeps (df's training columns that
    were neither the label nor excluded). The features are *not* among them, and passing
    them does not excuse a key: the real client checks the keys before it looks at which
    features df already has.
    """
    lookups = spec.get("feature_lookups") or []
    outputs = {o for lk in lookups for o in lk["output_names"]}
    keys = [k for lk in lookups for k in lk["lookup_key"] if k not in outputs]
    return list(dict.fromkeys([*keys, *spec.get("source_columns", [])]))


def check_scoring_columns(df_columns: list[str], spec: dict) -> None:
    """Raises the real client's ``DataFrame is missing required columns ...`` when df lacks
    any of :func:`scoring_columns` (listed in the spec's order; the real client lists a set)."""
    missing = [c for c in scoring_columns(spec) if c not in df_columns]
    if missing:
        raise FeatureInputError(f"DataFrame is missing required columns {quoted(missing)}.")
