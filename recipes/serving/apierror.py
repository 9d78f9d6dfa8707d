"""Databricks-style API errors: ``{"error_code", "message"}`` with the SDK's status mapping."""

from __future__ import annotations


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
