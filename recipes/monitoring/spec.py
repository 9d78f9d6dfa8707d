"""What a monitor computes, read from its document (the SDK's ``MonitorInfo`` JSON shapes).

Exactly one profile type: ``inference_log`` (``timestamp_col``, ``granularities``,
``model_id_col``, ``prediction_col``, ``problem_type``, ``label_col``), ``time_series``
(``timestamp_col``, ``granularities``) or ``snapshot`` (the whole table as one window, no
granularity); then ``slicing_exprs`` and ``custom_metrics``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from recipes.errors import ParameterError
from recipes.monitoring.custom import CustomMetric, parse_metrics
from recipes.monitoring.windows import granularity_parts

PROBLEM_TYPES = {
    "PROBLEM_TYPE_CLASSIFICATION": "classification",
    "PROBLEM_TYPE_REGRESSION": "regression",
}
# id-like bookkeeping columns of inference tables: never profiled
BOOKKEEPING = (
    "databricks_request_id",
    "client_request_id",
    "served_entity_name",
    "endpoint_name",
    "model_name",
    "row_index",
    "served_entity_id",
    "requester",
)
_COMPLEX = ("map", "array", "struct", "binary")


@dataclass(frozen=True)
class Spec:
    """A monitor's computation.

    Attributes:
        granularities: the window lengths; ``(None,)`` for a snapshot (one window).
        timestamp_col: None for a snapshot.
        model_id_col: the model column of an inference log (its name is the metric tables'
            model column); None otherwise.
        problem_type: ``classification`` or ``regression`` (inference logs), else None.
        label_col: scored against ``prediction_col`` when set; rows with a NULL label are
            counted, not scored.
    """

    granularities: tuple[str | None, ...] = (None,)
    timestamp_col: str | None = None
    model_id_col: str | None = None
    prediction_col: str | None = None
    label_col: str | None = None
    problem_type: str | None = None
    slicing_exprs: tuple[str, ...] = ()
    custom_metrics: tuple[CustomMetric, ...] = field(default=())
    monitor_version: int = 0

    def __post_init__(self):
        for g in self.granularities:
            if g is not None:
                granularity_parts(g)
        if (None in self.granularities) != (self.timestamp_col is None):
            raise ParameterError(
                "A snapshot has no timestamp_col and no granularity; a time "
                "series or an inference log has both."
            )
        if self.problem_type not in (None, "classification", "regression"):
            raise ParameterError(
                f"problem_type must be 'classification' or 'regression', got {self.problem_type!r}."
            )

    @property
    def kind(self) -> str:
        if self.model_id_col is not None:
            return "inference_log"
        return "snapshot" if self.timestamp_col is None else "time_series"

    @property
    def keys(self) -> tuple[str, ...]:
        """The columns that are not profiled: timestamp and model id."""
        return tuple(c for c in (self.timestamp_col, self.model_id_col) if c)

    @classmethod
    def from_monitor(cls, monitor: Mapping[str, Any]) -> Spec:
        """The spec of a monitor document (``MonitorInfo.as_dict()`` shapes).

        Raises:
            ParameterError: not exactly one profile type, or a bad field.
        """
        kinds = [
            k for k in ("inference_log", "time_series", "snapshot") if monitor.get(k) is not None
        ]
        if len(kinds) != 1:
            raise ParameterError(
                "A monitor has exactly one of inference_log, time_series and "
                f"snapshot; this one has {kinds or 'none'}."
            )
        common = {
            "slicing_exprs": tuple(monitor.get("slicing_exprs") or ()),
            "custom_metrics": parse_metrics(monitor.get("custom_metrics")),
            "monitor_version": int(monitor.get("monitor_version") or 0),
        }
        profile = monitor[kinds[0]]
        if kinds[0] == "snapshot":
            return cls(**common)
        granularities = tuple(profile.get("granularities") or ())
        if not granularities:
            raise ParameterError(f"{kinds[0]}.granularities is empty: give e.g. ['1 day'].")
        if kinds[0] == "time_series":
            return cls(granularities, profile["timestamp_col"], **common)
        problem = getattr(profile.get("problem_type"), "value", profile.get("problem_type"))
        if problem not in PROBLEM_TYPES:
            raise ParameterError(
                f"inference_log.problem_type must be one of "
                f"{', '.join(PROBLEM_TYPES)}, got {problem!r}."
            )
        return cls(
            granularities,
            profile["timestamp_col"],
            profile["model_id_col"],
            profile["prediction_col"],
            profile.get("label_col"),
            PROBLEM_TYPES[problem],
            **common,
        )


def profiled_columns(
    dtypes: Sequence[tuple[str, str]], spec: Spec, columns: Sequence[str] | None = None
) -> dict[str, str]:
    """``{column: Spark type}`` to profile: ``columns``, or every column but the timestamp,
    the model id, the inference table's bookkeeping and nested ones (the prediction and the
    label are profiled: their drift is the model's).

    Raises:
        ParameterError: a named column, or a key column of ``spec``, is missing.
    """
    types = dict(dtypes)
    absent = [c for c in (*spec.keys, spec.prediction_col, spec.label_col) if c and c not in types]
    if absent:
        raise ParameterError(
            f"The data lacks {absent}: pass rows from unpack_inference_table, or name the "
            f"columns with timestamp_col= / model_id_col= (it has {', '.join(types)})."
        )
    if columns is None:
        skip = {*spec.keys, *BOOKKEEPING}
        return {c: t for c, t in types.items() if c not in skip and not t.startswith(_COMPLEX)}
    missing = [c for c in columns if c not in types]
    if missing:
        raise ParameterError(f"Column(s) {missing} are not in the data: it has {', '.join(types)}.")
    return {c: types[c] for c in columns}
