"""Map a failed Graph response to a typed error: ``(status, code)`` first, message substrings last.

Directory errors share generic codes (``Request_BadRequest``), so a few outcomes can only be told
apart by their message; those substrings live here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from idops.graph.errors import (
    AccessPassPolicyDisabled,
    GraphAuthError,
    GraphBadRequest,
    GraphConflict,
    GraphError,
    GraphForbidden,
    GraphLicenceError,
    GraphNoSeats,
    GraphNotFound,
    GraphPremiumRequired,
    GraphThrottled,
    GraphUnavailable,
)

ALREADY_MEMBER = "added object references already exist"
NO_SEATS = "does not have any available licenses"
LICENCE_NOT_ASSIGNED = "does not have a corresponding license"
INVALID_USAGE_LOCATION = "invalid usage location"
TAP_POLICY = "converged usercredentialpolicy"
REPLICATION_400 = "source resource object or one of the objects being referenced don't exist"


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """What idops reads from a Graph error body; the message is Graph's, never a request body."""

    status: int
    code: str | None
    message: str
    detail_codes: tuple[str, ...]
    request_id: str | None
    client_request_id: str | None

    @property
    def lowered(self) -> str:
        return self.message.lower()

    def is_already_member(self) -> bool:
        return self.status == 400 and ALREADY_MEMBER in self.lowered

    def is_licence_not_assigned(self) -> bool:
        """assignLicense removing a licence the user does not have."""
        return self.status == 400 and LICENCE_NOT_ASSIGNED in self.lowered

    def is_object_conflict(self) -> bool:
        return self.status in (400, 409) and "ObjectConflict" in self.detail_codes

    def is_replication_lag(self) -> bool:
        """404 Request_ResourceNotFound, or the 400 Graph gives when a referenced object is too new."""
        if self.status == 404 and self.code in (None, "Request_ResourceNotFound", "ResourceNotFound"):
            return True
        return self.status == 400 and REPLICATION_400 in self.lowered


def header(headers: Mapping[str, str], name: str) -> str | None:
    """The value of header ``name`` (given in lower case), matched case-insensitively."""
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def error_info(status: int, headers: Mapping[str, str], body: Any) -> ErrorInfo:
    """Read Graph's error shape ``{"error": {code, message, innerError, details}}`` defensively."""
    err = body.get("error") if isinstance(body, dict) else None
    err = err if isinstance(err, dict) else {}
    inner = err.get("innerError") or err.get("innererror") or {}
    inner = inner if isinstance(inner, dict) else {}
    raw_details = err.get("details")
    details: list[Any] = raw_details if isinstance(raw_details, list) else []
    detail_codes = tuple(str(d.get("code")) for d in details if isinstance(d, dict) and d.get("code"))
    code = err.get("code")
    return ErrorInfo(
        status=status,
        code=str(code) if code else None,
        message=str(err.get("message") or ""),
        detail_codes=detail_codes,
        request_id=header(headers, "request-id") or inner.get("request-id"),
        client_request_id=header(headers, "client-request-id") or inner.get("client-request-id"),
    )


def error_class(info: ErrorInfo) -> type[GraphError]:
    """The typed error for a failed response (the already-member case is the caller's to forgive)."""
    status, code, text = info.status, info.code, info.lowered
    if status == 401:
        return GraphAuthError
    if status == 403:
        if code == "Authentication_RequestFromNonPremiumTenantOrB2CTenant":
            return GraphPremiumRequired
        if TAP_POLICY in text:
            return AccessPassPolicyDisabled
        return GraphForbidden
    if status == 404:
        return GraphNotFound
    if status == 429:
        return GraphThrottled
    if status in (502, 503, 504):
        return GraphUnavailable
    if status == 409 or info.is_object_conflict():
        return GraphConflict
    if status == 400:
        if code == "Request_UnsupportedQuery":
            return GraphBadRequest
        # Fallbacks on message text: these all arrive as 400 Request_BadRequest.
        if NO_SEATS in text:
            return GraphNoSeats
        if INVALID_USAGE_LOCATION in text:
            return GraphLicenceError
        if TAP_POLICY in text:
            return AccessPassPolicyDisabled
        if REPLICATION_400 in text:
            return GraphNotFound
        return GraphBadRequest
    return GraphError


def to_exception(info: ErrorInfo, *, retry_after: float | None = None) -> GraphError:
    cls = error_class(info)
    return cls(
        info.message or f"HTTP {info.status}",
        status=info.status,
        code=info.code,
        request_id=info.request_id,
        client_request_id=info.client_request_id,
        retry_after=retry_after,
    )
