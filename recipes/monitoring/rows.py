"""Reading the metric tables' rows (as pandas): their model column and the rows a summary,
a chart or a verdict reads.

The model column is named after the monitor's ``model_id_col`` and comes just before
``slice_key`` (:mod:`.schema`); frames in the kit's earlier shape name it ``model_id``.
"""

from __future__ import annotations

import pandas as pd

from recipes.monitoring.schema import ALL, TABLE

_NOT_MODEL = (
    "granularity",
    "monitor_version",
    "logging_table_commit_version",
    "log_type",
    "window",
)


def model_column(frame: pd.DataFrame, model_id_col: str | None = None) -> str | None:
    """The frame's model column: ``model_id_col`` if given, else the column just before
    ``slice_key``, else ``model_id``; None when there is none (a time series, a snapshot)."""
    if model_id_col is not None:
        return model_id_col
    cols = list(frame.columns)
    if "slice_key" in cols:
        i = cols.index("slice_key")
        if i > 0 and cols[i - 1] not in _NOT_MODEL:
            return cols[i - 1]
    return "model_id" if "model_id" in cols else None


def overall(
    frame: pd.DataFrame, model: str = ALL, *, model_id_col: str | None = None, table: bool = False
) -> pd.DataFrame:
    """The rows of ``model`` (:data:`ALL`: every model) over the whole table (no slice), of
    the live data (``INPUT``): the columns' rows, or the ``':table'`` rows if ``table``."""
    keep = pd.Series(True, index=frame.index)
    col = model_column(frame, model_id_col)
    if col is not None and col in frame:
        keep &= frame[col] == model
    if "slice_key" in frame:
        keep &= frame["slice_key"].isna()
    if "log_type" in frame:
        keep &= frame["log_type"] == "INPUT"
    if "column_name" in frame:
        keep &= (frame["column_name"] == TABLE) if table else (frame["column_name"] != TABLE)
    return frame[keep]
