"""The one exception handlers raise; the app renders it in Graph's error shape."""

from __future__ import annotations

from typing import Any


class GraphHTTPError(Exception):
    """An error response: ``status`` + Graph ``code`` + ``message`` (+ optional ``details``, headers)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}


def not_found(what: str) -> GraphHTTPError:
    return GraphHTTPError(
        404,
        "Request_ResourceNotFound",
        f"Resource '{what}' does not exist or one of its queried reference-property objects are not present.",
    )


def bad_request(message: str, code: str = "Request_BadRequest") -> GraphHTTPError:
    return GraphHTTPError(400, code, message)
