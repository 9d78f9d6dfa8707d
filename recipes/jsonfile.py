"""The kit's one atomic writer: a reader sees the old document or the new one, never half.

:func:`write_json` (and :func:`write_text`, for small text files such as Delta's jar
manifest) writes to a temporary file beside the target, named with the process id
and a random part (so two writers never share one), flushes and fsyncs it, then
``os.replace``\\s it onto the target. A crash leaves the previous document whole and, at
worst, a stray ``.<name>.*.tmp`` beside it.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any


def write_json(
    path: Path | str,
    doc: Any,
    *,
    indent: int | None = 2,
    sort_keys: bool = False,
    default: Callable[[Any], Any] | None = None,
) -> Path:
    """Write ``doc`` as JSON to ``path`` atomically (creating its folder); returns the path."""
    return write_text(path, json.dumps(doc, indent=indent, sort_keys=sort_keys, default=default))


def write_text(path: Path | str, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (creating its folder); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
