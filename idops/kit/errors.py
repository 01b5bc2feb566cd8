"""Domain errors and their one mapping to HTTP (RFC 9457 problem details).

Services raise these; the API's single exception handler renders them. A message is a
``Message`` (Finnish and English) so principals read it in their language.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Message:
    fi: str
    en: str

    def in_language(self, lang: str) -> str:
        return self.en if lang == "en" else self.fi


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """What is wrong with one field of a request body (its API name, e.g. ``ends_at``): forms show
    the message at that field, the API lists it in the problem's ``errors``."""

    field: str
    message: Message


class IdopsError(Exception):
    """``detail`` is the message; ``field`` names the one request field it is about, or ``problems``
    lists every field problem found at once (the first is the detail when none is given)."""

    status = 500
    type_slug = "internal"
    title = Message("Sisäinen virhe", "Internal error")

    def __init__(
        self,
        detail: Message | None = None,
        *,
        field: str | None = None,
        problems: Sequence[FieldProblem] = (),
        **extra: Any,
    ) -> None:
        if detail is None and problems:
            detail = problems[0].message
        super().__init__(detail.en if detail else self.title.en)
        self.detail = detail
        self.problems: tuple[FieldProblem, ...] = tuple(problems) or (
            (FieldProblem(field, detail),) if field and detail else ()
        )
        self.extra = extra


class BadRequest(IdopsError):
    status = 400
    type_slug = "bad-request"
    title = Message("Virheellinen pyyntö", "Bad request")


class Unauthenticated(IdopsError):
    status = 401
    type_slug = "unauthenticated"
    title = Message("Tunnistautuminen vaaditaan", "Authentication required")


class Forbidden(IdopsError):
    status = 403
    type_slug = "forbidden"
    title = Message("Ei käyttöoikeutta", "Forbidden")


class NotFound(IdopsError):
    status = 404
    type_slug = "not-found"
    title = Message("Ei löytynyt", "Not found")


class Conflict(IdopsError):
    status = 409
    type_slug = "conflict"
    title = Message("Ristiriita", "Conflict")


class PolicyViolation(IdopsError):
    status = 422
    type_slug = "policy-violation"
    title = Message("Pyyntö ei ole sääntöjen mukainen", "The request breaks a policy")


class RateLimited(IdopsError):
    status = 429
    type_slug = "rate-limited"
    title = Message("Liian monta pyyntöä", "Too many requests")

    def __init__(self, retry_after: int, detail: Message | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class GraphUnavailableError(IdopsError):
    status = 503
    type_slug = "directory-unavailable"
    title = Message(
        "Hakemistopalvelu ei vastaa juuri nyt; yritä hetken kuluttua uudelleen",
        "The directory service is not answering right now; try again shortly",
    )


class DirectoryRefused(IdopsError):
    """Graph refused an operation for a reason an admin must fix (permissions, policy)."""

    status = 502
    type_slug = "directory-refused"
    title = Message("Hakemistopalvelu kieltäytyi toiminnosta", "The directory service refused the operation")


PROBLEM_BASE = "https://idops.invalid/problems/"


def problem_body(
    *, status: int, type_slug: str, title: str, detail: str | None, instance: str | None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"type": PROBLEM_BASE + type_slug, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v is not None})
    return body
