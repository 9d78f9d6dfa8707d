"""``FeatureLookup``, ``TrainingSet`` and the joins behind them (exact and point-in-time).

A lookup is *resolved* against its table's metadata once, into a plain dict that is also
what the feature spec stores with a model, so training (``load_df``) and scoring
(``score_batch``) run the very same join.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recipes.errors import ParameterError
from recipes.features import checks, store
from recipes.features.real import on_workspace, real_module

_RID, _FT_TS = "__mdk_rid", "__mdk_feature_ts"


class FeatureLookup:
    """Which features to join from which table, by which key (the real class's arguments).

    On the ``databricks`` target, constructing one returns the real
    ``databricks.feature_engineering.FeatureLookup`` (it needs no workspace), so notebook
    cells never branch; locally it is this class. The local client accepts both.

    Args:
        table_name: the feature table, ``catalog.schema.table``.
        lookup_key: column(s) of the training/scoring DataFrame matched, in order, to the
            table's primary keys (without its timestamp key).
        feature_names: a name, a list, or None for every non-key column of the table.
        rename_outputs: ``{feature: output column}``.
        timestamp_lookup_key: a time column of the DataFrame; when given, each row gets the
            latest feature row whose timestamp is <= it (a point-in-time join).
        lookback_window: with ``timestamp_lookup_key``, ignore feature rows older than this.
        default_values: ``{output column: value}`` used when no feature row matches.
    """

    def __new__(cls, *args, **kwargs):
        if on_workspace():
            return real_module().FeatureLookup(*args, **kwargs)
        return super().__new__(cls)

    def __init__(
        self,
        table_name: str,
        lookup_key: str | list[str],
        *,
        feature_names: str | list[str] | None = None,
        rename_outputs: dict[str, str] | None = None,
        timestamp_lookup_key: str | None = None,
        lookback_window: dt.timedelta | None = None,
        default_values: dict[str, Any] | None = None,
    ):
        if isinstance(timestamp_lookup_key, list):
            if len(timestamp_lookup_key) > 1:
                raise ParameterError("FeatureLookup: one timestamp_lookup_key at most.")
            timestamp_lookup_key = timestamp_lookup_key[0] if timestamp_lookup_key else None
        if lookback_window is not None and not timestamp_lookup_key:
            raise ParameterError("FeatureLookup: lookback_window needs timestamp_lookup_key.")
        self.table_name = table_name
        self.lookup_key = lookup_key
        self.feature_names = store.as_list(feature_names)
        self.rename_outputs = dict(rename_outputs or {})
        self.timestamp_lookup_key = timestamp_lookup_key
        self.lookback_window = lookback_window
        self.default_values = dict(default_values or {})

    def __repr__(self) -> str:
        return (
            f"FeatureLookup(table_name={self.table_name!r}, lookup_key={self.lookup_key!r}, "
            f"feature_names={self.feature_names!r}, "
            f"timestamp_lookup_key={self.timestamp_lookup_key!r})"
        )


def resolve_lookup(lookup, home: Path | None) -> dict[str, Any]:
    """The lookup checked against its table, as a plain (YAML-able) dict."""
    renames = getattr(lookup, "rename_outputs", None) or getattr(lookup, "_rename_outputs", {})
    meta = store.load_meta(lookup.table_name, home)
    keys = store.as_list(lookup.lookup_key)
    if len(keys) != len(meta.lookup_keys):
        raise ParameterError(
            f"FeatureLookup on {meta.name!r}: lookup_key {keys} must match its primary keys "
            f"{meta.lookup_keys} one to one, in order."
        )
    ts = lookup.timestamp_lookup_key
    if ts and not meta.timestamp_keys:
        raise ParameterError(
            f"FeatureLookup on {meta.name!r}: timestamp_lookup_key={ts!r} but the table has no "
            "timestamp key; drop it or recreate the table with timestamp_keys=[...]."
        )
    names = list(lookup.feature_names or meta.features)
    unknown = [f for f in names if f not in meta.features]
    if unknown:
        raise ParameterError(
            f"FeatureLookup on {meta.name!r}: no feature(s) {unknown}; it has {meta.features}."
        )
    window = lookup.lookback_window
    return {
        "table_name": meta.name,
        "lookup_key": keys,
        "primary_keys": meta.lookup_keys,
        "timestamp_lookup_key": ts,
        "timestamp_key": meta.timeseries_column if ts else None,
        "lookback_window_seconds": window.total_seconds() if window is not None else None,
        "feature_names": names,
        "output_names": [renames.get(f, f) for f in names],
        "default_values": dict(getattr(lookup, "default_values", None) or {}),
    }


def required_columns(lookups: list[dict]) -> list[str]:
    """The DataFrame columns the lookups join on (keys, then timestamp keys), no repeats."""
    cols = [k for lk in lookups for k in lk["lookup_key"]]
    cols += [lk["timestamp_lookup_key"] for lk in lookups if lk["timestamp_lookup_key"]]
    return list(dict.fromkeys(cols))


def join_lookups(df, lookups: list[dict], *, home: Path | None, skip_present: bool = False):
    """``df`` with each lookup's features joined in: df's columns first, in order.

    Rows of ``df`` are kept one for one (left joins); a key with no feature row gets nulls
    (or the lookup's default values). Every lookup's keys must be in ``df`` (or made by an
    earlier lookup), even one whose features are all overridden, as the real client's
    ``join_feature_data_if_not_overridden`` checks them all. With ``skip_present``, a feature
    ``df`` already has is not looked up: ``score_batch`` uses df's value, as the real client
    documents ("If a feature is included in ``df``, the provided feature values will be used
    rather than those stored in feature tables", ``FeatureEngineeringClient.score_batch``),
    and a null there gets the lookup's default, as the real client's final ``fillna`` gives it
    (``ml_features/entities/training_set.py``, ``_augment_df``).

    Raises:
        FeatureInputError: a lookup key or timestamp lookup key missing, in the real words.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    spark = store.spark_of(df)
    out = df
    columns = list(df.columns)
    for lk in lookups:
        checks.check_join_keys(columns, lk)
        columns += [o for o in lk["output_names"] if o not in columns]
    for lk in lookups:
        pairs = [
            (f, o)
            for f, o in zip(lk["feature_names"], lk["output_names"], strict=True)
            if not (skip_present and o in df.columns)
        ]
        if not pairs:
            continue
        table = store.read(lk["table_name"], spark, home)
        tmp_keys = [f"__mdk_k{i}" for i in range(len(lk["primary_keys"]))]
        cols = [F.col(p).alias(t) for p, t in zip(lk["primary_keys"], tmp_keys, strict=True)]
        cols += [F.col(f).alias(o) for f, o in pairs]
        ts = lk["timestamp_lookup_key"]
        if ts:
            cols.append(F.col(lk["timestamp_key"]).alias(_FT_TS))
        right = table.select(*cols)
        left = out.withColumn(_RID, F.monotonically_increasing_id()) if ts else out
        cond = [left[k] == right[t] for k, t in zip(lk["lookup_key"], tmp_keys, strict=True)]
        if ts:
            cond.append(right[_FT_TS] <= left[ts])
            if lk["lookback_window_seconds"] is not None:
                window = F.make_dt_interval(secs=F.lit(lk["lookback_window_seconds"]))
                cond.append(right[_FT_TS] >= left[ts] - window)
        joined = left.join(right, on=cond, how="left")
        if ts:  # keep, per lookup row, the latest feature row at or before its timestamp
            latest = Window.partitionBy(_RID).orderBy(F.col(_FT_TS).desc_nulls_last())
            joined = joined.withColumn("__mdk_rn", F.row_number().over(latest))
            joined = joined.where(F.col("__mdk_rn") == 1)
        outputs = [o for _, o in pairs]
        defaults = lk.get("default_values") or {}
        select = [F.col(c) for c in out.columns]
        select += [
            F.coalesce(F.col(o), F.lit(defaults[o])).alias(o) if o in defaults else F.col(o)
            for o in outputs
        ]
        out = joined.select(*select)
    given = {
        o: v
        for lk in lookups
        for o, v in (lk.get("default_values") or {}).items()
        if skip_present and o in df.columns
    }
    if given:
        out = out.select(
            *[
                F.coalesce(F.col(c), F.lit(given[c])).alias(c) if c in given else F.col(c)
                for c in out.columns
            ]
        )
    return out


@dataclass
class TrainingSet:
    """What ``create_training_set`` returns: call :meth:`load_df` for the joined frame.

    Attributes:
        df: the DataFrame the features are joined into.
        lookups: the resolved lookups.
        label: the label column(s), or None.
        exclude_columns: columns dropped from :meth:`load_df`.
    """

    df: Any
    lookups: list[dict]
    label: list[str] | None
    exclude_columns: list[str] = field(default_factory=list)
    home: Path | None = None

    def load_df(self):
        """A Spark DataFrame: df's columns, then the looked-up features, minus the excluded."""
        joined = join_lookups(self.df, self.lookups, home=self.home)
        return joined.select(*[c for c in joined.columns if c not in self.exclude_columns])

    @property
    def feature_columns(self) -> list[str]:
        """The model's inputs, in order: the :meth:`load_df` columns except the label."""
        outputs = [o for lk in self.lookups for o in lk["output_names"]]
        cols = [*self.df.columns, *outputs]
        return [c for c in cols if c not in self.exclude_columns and c not in (self.label or [])]

    def feature_spec(self) -> dict[str, Any]:
        """What ``log_model`` stores with the model so ``score_batch`` can rebuild the inputs."""
        produced = {o for lk in self.lookups for o in lk["output_names"]}
        return {
            "format": "mdk-feature-spec/1",
            "input_columns": self.feature_columns,
            "source_columns": [c for c in self.feature_columns if c not in produced],
            "lookup_columns": required_columns(self.lookups),
            "label": self.label,
            "exclude_columns": self.exclude_columns,
            "feature_lookups": self.lookups,
        }


def training_set(df, lookups, label, exclude_columns, home: Path | None) -> TrainingSet:
    """Resolve and check everything ``create_training_set`` is given (no Spark job).

    The checks on df are the real client's, with its messages (:mod:`.checks`): a missing or
    excluded label, a missing lookup key, a feature df already has.
    """
    df = store.to_spark(df)
    labels = store.as_list(label)
    excluded = store.as_list(exclude_columns)
    checks.check_df_and_labels(df.columns, labels, excluded)  # before opening any table
    resolved = [resolve_lookup(lk, home) for lk in lookups or []]
    checks.check_lookups(df.columns, resolved, labels)
    outputs = [o for lk in resolved for o in lk["output_names"]]
    unknown = [c for c in excluded if c not in [*df.columns, *outputs]]
    if unknown:
        raise ParameterError(f"create_training_set: exclude_columns {unknown} are not columns.")
    return TrainingSet(df, resolved, labels or None, excluded, home)
