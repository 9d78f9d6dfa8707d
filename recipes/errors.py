"""The kit's one error type: a single line that says what is wrong and how to fix it."""

from __future__ import annotations


class KitError(Exception):
    """A user-facing error whose message names the fix.

    In a notebook, IPython renders it as one line (no 40-frame traceback), because it
    defines ``_render_traceback_``. In the CLI it is printed as ``error: <message>``.
    """

    def __init__(self, message: str):
        super().__init__(" ".join(message.split()))

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[31m{type(self).__name__}\x1b[0m: {self}"]


class ParameterError(KitError, TypeError):
    """A notebook or recipe parameter has the wrong type or value."""


class NotFoundError(KitError, LookupError):
    """A model, version, alias or stage the call needs does not exist."""


class UnsupportedOnTarget(KitError):
    """The current target lacks the feature; the message names the alternative."""


class MissingDependency(KitError, ImportError):
    """An optional package or tool is not installed; the message names the install command."""
