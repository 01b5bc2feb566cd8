"""Typed Graph errors. The adapter maps ``(status, code)`` to these, message substrings last."""

from __future__ import annotations


class GraphError(Exception):
    """A Graph call failed. ``request_id`` is Graph's, for support tickets and logs."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        client_request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.client_request_id = client_request_id
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message} (request-id {self.request_id})"


class GraphNotFound(GraphError):
    """404 Request_ResourceNotFound (or a replication-delay 400 that outlived its retries)."""


class GraphConflict(GraphError):
    """400 with an ObjectConflict detail: the UPN / mailNickname / proxyAddress is taken."""


class GraphBadRequest(GraphError):
    """400 Request_BadRequest / Request_UnsupportedQuery not covered by a narrower type."""


class GraphLicenceError(GraphError):
    """assignLicense refused: no seats left, or no usage location."""


class GraphNoSeats(GraphLicenceError):
    """"Subscription with SKU … does not have any available licenses.\""""


class GraphAuthError(GraphError):
    """401 InvalidAuthenticationToken: our credential is wrong or expired."""


class GraphForbidden(GraphError):
    """403 Authorization_RequestDenied: a missing application permission."""


class GraphPremiumRequired(GraphForbidden):
    """403 Authentication_RequestFromNonPremiumTenantOrB2CTenant: no P1/P2 for reports."""


class AccessPassPolicyDisabled(GraphError):
    """The tenant's TAP policy does not allow creating a pass for this user."""


class GraphThrottled(GraphError):
    """429 that outlived our retries."""

    retryable = True


class GraphUnavailable(GraphError):
    """503/504, timeouts, dropped connections that outlived our retries."""

    retryable = True
