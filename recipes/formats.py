"""The invocation formats the local endpoint and monitoring share, which neither owns.

The four Databricks input formats → rows in the model's column
order (the endpoint parses requests with them; monitoring's unpack reads logged requests
the same way), and back: :func:`encode` writes a frame or records as one of them, for
whatever sends requests (traffic, probes, tests, benchmarks).

Exactly one of ``dataframe_records``, ``dataframe_split``, ``instances`` or ``inputs`` is
allowed, plus optional ``params`` and ``client_request_id``; :func:`parse` makes one
:class:`Invocation` of it, which the endpoint carries to the model's worker (checking
``params`` against the model's params schema on the way). Columns are checked against the
model's signature before anything reaches the worker, so a missing column or a string
where a number belongs is a 400 ``BAD_REQUEST`` that names the column and the record. A
``long`` column takes JSON integers only (in int64's range): what
``pyfunc.predict`` takes from the frame those rows make, where a float (``320.5``, and
``320.0`` too: a float64 column), a string, a boolean or a null makes a column MLflow
refuses ("Can not safely convert float64 to int64").
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from recipes.errors import ParameterError, bad_request

FORMATS = ("dataframe_records", "dataframe_split", "instances", "inputs")
OPTIONAL = ("params", "client_request_id")
MAX_BYTES = 16 * 1024 * 1024


@dataclass(slots=True)
class Invocation:
    """One parsed request, as it travels from the route to the model's worker.

    Treated as immutable: each check returns a new one (``dataclasses.replace``). Not frozen,
    and pickled as its constructor's arguments: a frozen dataclass takes 3x as long to
    pickle and load, on every request's way to the worker.

    Attributes:
        columns: the column names, in the order of each row's values.
        rows: the records' values (:data:`MISSING` where a record lacks a column, until
            :func:`conform` refuses it).
        params: the request's ``params`` (None when absent); once checked against the
            model's params schema, the params the model is called with.
        client_request_id: the request's ``client_request_id``, if any.
        format: the input format it came in (one of :data:`FORMATS`).
    """

    columns: list[str]
    rows: list[list]
    params: dict | None = None
    client_request_id: str | None = None
    format: str = "dataframe_records"

    def __reduce__(self):
        return (
            Invocation,
            (self.columns, self.rows, self.params, self.client_request_id, self.format),
        )


def too_large(size: int):
    """The 400 for a body over :data:`MAX_BYTES` (the readers check while they drain it)."""
    return bad_request(
        f"Request body is {size / 2**20:.1f} MB; the limit is 16 MB: send fewer rows."
    )


def decode(body: bytes) -> dict[str, Any]:
    """The JSON object in ``body`` (at most :data:`MAX_BYTES`, checked by the reader), or a 400."""
    try:
        obj = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise bad_request(f"Malformed JSON: {str(exc) or 'nested too deeply'}.") from None
    if not isinstance(obj, dict):
        raise bad_request(f"The body must be a JSON object with one of {', '.join(FORMATS)}.")
    return obj


def _records(records: Any, key: str) -> tuple[list[str], list[list]]:
    if not isinstance(records, list) or not records:
        raise bad_request(f"{key} must be a non-empty list of records.")
    columns: dict[str, None] = {}
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise bad_request(f"{key}[{i}] must be an object mapping column to value.")
        columns.update(dict.fromkeys(rec))
    cols = list(columns)
    return cols, [[rec.get(c, MISSING) for c in cols] for rec in records]


def _split(split: Any) -> tuple[list[str], list[list]]:
    if not isinstance(split, dict):
        raise bad_request("dataframe_split must be an object with columns and data.")
    cols, data = split.get("columns"), split.get("data")
    if not isinstance(cols, list) or not all(isinstance(c, str) for c in cols):
        raise bad_request("dataframe_split.columns must be a list of column names.")
    if not isinstance(data, list) or not data:
        raise bad_request("dataframe_split.data must be a non-empty list of rows.")
    for i, row in enumerate(data):
        if not isinstance(row, list) or len(row) != len(cols):
            raise bad_request(
                f"dataframe_split.data[{i}] must be a list of {len(cols)} values (one per column)."
            )
    return cols, data


def _columnar(inputs: dict, key: str) -> tuple[list[str], list[list]]:
    cols = list(inputs)
    values = [v if isinstance(v, list) else [v] for v in inputs.values()]
    lengths = {len(v) for v in values}
    if len(lengths) != 1 or 0 in lengths:
        raise bad_request(f"{key} columns must be non-empty lists of the same length.")
    return cols, [list(r) for r in zip(*values, strict=True)]


class _Missing:
    def __repr__(self) -> str:
        return "missing"


MISSING = _Missing()  # a record that lacks a column (records formats)


def parse(obj: dict[str, Any]) -> Invocation:
    """Pick the one input format and return its rows (not yet checked against a model)."""
    given = [k for k in FORMATS if k in obj]
    unknown = [k for k in obj if k not in FORMATS and k not in OPTIONAL]
    if unknown:
        raise bad_request(
            f"Unknown key(s) {unknown}: use one of {', '.join(FORMATS)}, plus optional {', '.join(OPTIONAL)}."
        )
    if len(given) != 1:
        raise bad_request(
            f"Give exactly one of {', '.join(FORMATS)}; got {len(given)}"
            + (f" ({', '.join(given)})." if given else ".")
        )
    key = given[0]
    value = obj[key]
    if key == "dataframe_split":
        cols, rows = _split(value)
    elif isinstance(value, dict) and key in ("inputs", "instances"):
        cols, rows = _columnar(value, key)
    else:
        cols, rows = _records(value, key)
    params = obj.get("params")
    if params is not None and not isinstance(params, dict):
        raise bad_request("params must be an object.")
    crid = obj.get("client_request_id")
    if crid is not None and not isinstance(crid, str):
        raise bad_request("client_request_id must be a string.")
    return Invocation(cols, rows, params, crid, key)


def encode(
    frame_or_records: Any,
    fmt: str,
    *,
    params: dict | None = None,
    client_request_id: str | None = None,
) -> dict[str, Any]:
    """A request body in input format ``fmt``, as Databricks documents it; :func:`parse` reads
    it back to the same columns and rows.

    - ``dataframe_records``: ``[{column: value}, ...]``, one object per row;
    - ``dataframe_split``: ``{"columns": [...], "data": [[...], ...]}`` (no ``index``);
    - ``instances``: ``[{column: value}, ...]``, tensor input in row format;
    - ``inputs``: ``{column: [value, ...]}``, tensor input in columnar format;

    plus ``params`` and ``client_request_id`` when given. Values are made JSON-safe: numpy
    scalars and arrays as Python numbers and lists; NaN, ``pd.NA`` and ``NaT`` as null (as
    ``DataFrame.to_json`` writes them); dates and times as ISO 8601 text (which monitoring's
    unpack reads as a timestamp). Other values go out as given (``320.0`` stays a float,
    ``"15"`` a string), so a test can send exactly what the endpoint must refuse.

    Args:
        frame_or_records: a pandas DataFrame (its index is not sent) or a list of dicts
            mapping column to value. The records formats keep each record's own keys.
        fmt: one of :data:`FORMATS`.
        params: the model's params (``pyfunc.predict(df, params=...)``).
        client_request_id: kept with the request in the inference table.

    Raises:
        ParameterError: an unknown ``fmt``, no rows, an infinite number, or a record that
            lacks a column in ``dataframe_split`` or ``inputs`` (which have no way to say so).
    """
    if fmt not in FORMATS:
        raise ParameterError(f"Unknown input format {fmt!r}: use one of {', '.join(FORMATS)}.")
    columns, records = _table(frame_or_records)
    if fmt in ("dataframe_records", "instances"):
        body: dict[str, Any] = {fmt: records}
    else:
        for i, rec in enumerate(records):
            if len(rec) != len(columns):
                lacks = next(c for c in columns if c not in rec)
                raise ParameterError(
                    f"Record {i} lacks column {lacks!r}: {fmt} needs a value in every column."
                )
        if fmt == "dataframe_split":
            body = {fmt: {"columns": columns, "data": [[r[c] for c in columns] for r in records]}}
        else:
            body = {fmt: {c: [r[c] for r in records] for c in columns}}
    if params is not None:
        body["params"] = _plain(params)
    if client_request_id is not None:
        body["client_request_id"] = client_request_id
    return body


def _table(frame_or_records: Any) -> tuple[list[str], list[dict[str, Any]]]:
    """The columns (first seen first) and the JSON-safe records of a frame or records."""
    if isinstance(frame_or_records, list):
        if not all(isinstance(r, dict) for r in frame_or_records):
            raise ParameterError("records must be a list of dicts mapping column to value.")
        raw = frame_or_records
    elif hasattr(frame_or_records, "columns") and hasattr(frame_or_records, "to_dict"):
        if not frame_or_records.columns.is_unique:
            raise ParameterError("The frame has duplicate column names: a request names each once.")
        raw = frame_or_records.to_dict(orient="records")
    else:
        raise ParameterError(
            f"Expected a pandas DataFrame or a list of records, got {type(frame_or_records).__name__}."
        )
    if not raw:
        raise ParameterError("No rows to send: a request needs at least one.")
    records = [{str(k): _plain(v) for k, v in rec.items()} for rec in raw]
    return list(dict.fromkeys(c for rec in records for c in rec)), records


def _plain(value: Any) -> Any:
    """``value`` as JSON takes it (see :func:`encode`)."""
    if value is None or type(value) in (bool, int, str):
        return value
    if isinstance(value, float):  # float, and numpy.float64 (a subclass)
        value = float(value)
        if math.isinf(value):
            raise ParameterError(f"{value} cannot be sent: JSON has no infinite numbers.")
        return None if math.isnan(value) else value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):  # datetime, date, pd.Timestamp (NaT is caught below)
        return None if value != value else value.isoformat()
    if hasattr(value, "tolist"):  # a numpy scalar (-> Python) or array (-> lists)
        return _plain(value.tolist())
    import pandas as pd  # only here: the endpoint's front parses requests without pandas

    return None if pd.isna(value) else value  # pd.NA


_NUMBER = (int, float)
_INT64 = (-(2**63), 2**63)


def _wrong(col: str, kind: str, i: int, v: Any):
    if v is MISSING:
        return bad_request(f"Record {i} lacks column {col!r}: give every record all columns.")
    if kind == "long":
        return bad_request(
            f"Column {col!r} expects a whole number (the signature says long); record {i} has "
            f"{v!r} ({type(v).__name__}), which MLflow's schema enforcement refuses."
        )
    want = "a string" if kind == "string" else "a number"
    return bad_request(f"Column {col!r} expects {want}; record {i} has {v!r} ({type(v).__name__}).")


def conform(inv: Invocation, columns: list[str] | None, kinds: list[str]) -> Invocation:
    """Reorder ``inv`` to the model's columns and check each value's type.

    Args:
        columns: the model's input columns (None: no signature, pass as given).
        kinds: per column ``number``/``long``/``string``/``any`` (see
            :func:`recipes.rawmodel.input_kinds`).

    Raises:
        ApiError: 400 for a missing column or a value of the wrong type.
    """
    if columns is None:
        for i, row in enumerate(inv.rows):
            if any(v is MISSING for v in row):
                raise bad_request(f"Record {i} lacks some columns: give every record all columns.")
        return inv
    index = {c: i for i, c in enumerate(inv.columns)}
    missing = [c for c in columns if c not in index]
    if missing:
        raise bad_request(f"Missing column(s) {missing}: the model expects {', '.join(columns)}.")
    order = [index[c] for c in columns]
    same = order == list(range(len(inv.columns)))
    rows = inv.rows if same else [[row[j] for j in order] for row in inv.rows]
    checks = [(j, c, k) for j, (c, k) in enumerate(zip(columns, kinds, strict=True)) if k != "any"]
    lo, hi = _INT64
    for i, row in enumerate(rows):
        for j, col, kind in checks:
            v = row[j]
            if kind == "long":  # type() is exact: a bool is no int here, as for pyfunc
                if type(v) is int and lo <= v < hi:
                    continue
            elif v is None or (type(v) is str if kind == "string" else type(v) in _NUMBER):
                continue
            raise _wrong(col, kind, i, v)
        if not checks and MISSING in row:
            raise bad_request(f"Record {i} lacks some columns: give every record all columns.")
    return Invocation(list(columns), rows, inv.params, inv.client_request_id, inv.format)
