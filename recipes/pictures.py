"""Show a matplotlib ``Figure`` in a notebook as a PNG picture.

A ``Figure`` made without pyplot (as :mod:`recipes.monitoring.plots` makes them) has no PNG
formatter registered in a papermill-run kernel, so leaving it as a cell's last value shows
``<Figure size 700x320 with 1 Axes>`` as text. :func:`show` renders it to PNG bytes and
displays those, which also puts the picture in the executed ``.ipynb`` (and ``mdk run`` saves
every such picture as a ``.png`` file beside it). Nothing happens at import time.
"""

from __future__ import annotations

import base64
import io
from typing import Any

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_bytes(fig: Any, dpi: int | None = 100) -> bytes:
    """``fig`` rendered as PNG bytes (the figure itself is left as it was)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def bundle(fig: Any, name: str | None = None) -> tuple[dict[str, str], dict[str, Any]]:
    """The display data and metadata :func:`show` publishes: base64 PNG under ``image/png``,
    with the figure's pixel size (and ``name``, if given) as its metadata."""
    png = png_bytes(fig)
    width, height = png_size(png)
    meta: dict[str, Any] = {"width": width, "height": height}
    if name:
        meta["name"] = name
    return {"image/png": base64.b64encode(png).decode("ascii")}, {"image/png": meta}


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height of PNG bytes, read from the IHDR chunk.

    Raises:
        ValueError: the bytes are not a PNG.
    """
    if png[:8] != PNG_MAGIC or png[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def show(fig: Any, name: str | None = None) -> None:
    """Display ``fig`` (a matplotlib ``Figure``) as an ``image/png`` output.

    Args:
        fig: the figure; it is neither closed nor changed.
        name: an optional label kept in the output's metadata (``mdk run`` puts it in the
            saved file's name).

    Returns None, so a cell ending in ``show(fig)`` prints nothing else. Outside IPython
    (a script, a test) it does nothing.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    if get_ipython() is None:
        return None
    from IPython.display import display

    data, meta = bundle(fig, name)
    display(data, raw=True, metadata=meta)
    return None
