"""Errors the emulator answers with, as ``application/problem+json`` documents.

Route code raises :class:`ApiError` (usually through one of the small helpers
below); the application turns it into a problem document such as::

    {"type": "about:blank", "title": "Not Found", "status": 404,
     "code": "NOT_FOUND", "detail": "job 12 not found", "request_id": "..."}

The ``code`` values are the contract's: each one belongs to one HTTP status.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

PROBLEM_JSON = "application/problem+json"

CODE_BY_STATUS: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "INVALID_ARGUMENT",
    409: "CONFLICT",
    412: "PRECONDITION_FAILED",
    413: "PAYLOAD_TOO_LARGE",
    415: "INVALID_ARGUMENT",
    429: "RATE_LIMITED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


class ApiError(Exception):
    """A request the emulator refuses, with the status and contract code to answer."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail


def problem(status: int, detail: str, request_id: str, code: str | None = None) -> dict[str, Any]:
    """The problem document for ``status`` (code derived from the status unless given)."""
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    return {
        "type": "about:blank",
        "title": title,
        "status": status,
        "code": code
        or CODE_BY_STATUS.get(status, "INVALID_ARGUMENT" if status < 500 else "INTERNAL"),
        "detail": detail,
        "request_id": request_id,
    }


def not_found(detail: str) -> ApiError:
    return ApiError(404, "NOT_FOUND", detail)


def invalid(detail: str) -> ApiError:
    return ApiError(400, "INVALID_ARGUMENT", detail)


def already_exists(detail: str) -> ApiError:
    return ApiError(409, "ALREADY_EXISTS", detail)


def conflict(detail: str) -> ApiError:
    return ApiError(409, "CONFLICT", detail)
