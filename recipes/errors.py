"""The kit's errors.

- :class:`KitError` and its kinds: a single line that says what is wrong and how to fix it.
- :class:`ApiError`: a Databricks-style REST error ``{"error_code", "message"}`` with the
  SDK's status mapping, answered by the local endpoint (:mod:`recipes.endpoint`) and raised
  by the request parser both it and monitoring use (:mod:`recipes.formats`).
"""

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


# --------------------------------------------------------------------------- REST errors


class ApiError(Exception):
    """An error answered as JSON ``{"error_code": ..., "message": ...}`` with ``status``."""

    def __init__(self, status: int, error_code: str, message: str):
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message

    def body(self) -> dict[str, str]:
        return {"error_code": self.error_code, "message": self.message}


def invalid(message: str) -> ApiError:
    """400 INVALID_PARAMETER_VALUE: a bad control-plane field."""
    return ApiError(400, "INVALID_PARAMETER_VALUE", message)


def bad_request(message: str) -> ApiError:
    """400 BAD_REQUEST: a bad invocation payload."""
    return ApiError(400, "BAD_REQUEST", message)


def not_found(message: str) -> ApiError:
    """404 RESOURCE_DOES_NOT_EXIST."""
    return ApiError(404, "RESOURCE_DOES_NOT_EXIST", message)


def already_exists(message: str) -> ApiError:
    """409 RESOURCE_ALREADY_EXISTS."""
    return ApiError(409, "RESOURCE_ALREADY_EXISTS", message)


def conflict(message: str) -> ApiError:
    """409 RESOURCE_CONFLICT: e.g. an update while another is in progress."""
    return ApiError(409, "RESOURCE_CONFLICT", message)


def unavailable(message: str) -> ApiError:
    """503 TEMPORARILY_UNAVAILABLE: the served entity is not ready."""
    return ApiError(503, "TEMPORARILY_UNAVAILABLE", message)
