"""What every panel shows after an action: one line, in green or red."""

from __future__ import annotations

import html

from recipes.errors import KitError


def one_line(exc: BaseException) -> str:
    """The error as one line; non-kit errors (e.g. MlflowException) keep their type name."""
    text = " ".join(str(exc).split())
    return text if isinstance(exc, KitError) else f"{type(exc).__name__}: {text}"


def show(status, message: str, color: str) -> None:
    """Put ``message`` (escaped) in the ``status`` HTML widget, in ``color``."""
    status.value = f'<span style="color: {color}">{html.escape(message, quote=False)}</span>'
