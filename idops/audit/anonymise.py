"""Anonymising audit events: the trail stays (who did what, when, to which period), the person goes.

Pure functions over JSON values; ``AuditRepository`` applies them to stored events.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: ``details`` keys that hold personal data or an Entra object id tied to a person: their values go.
PERSONAL_KEYS = frozenset(
    {"entra_user_id", "upn", "user_principal_name", "email", "mobile_phone", "name", "display_name"}
)
REDACTED = "[poistettu]"  # what stands where a value was removed (Finnish: "removed")

#: Shorter values are not searched for inside other strings (a two-letter name would match everywhere).
MIN_NEEDLE = 3


def needles(values: Iterable[str | None]) -> frozenset[str]:
    """The lowercased values to look for; empty, placeholder and very short ones are left out."""
    return frozenset(v.strip().lower() for v in values if v and len(v.strip()) >= MIN_NEEDLE)


def names_anyone(value: Any, found: frozenset[str]) -> bool:
    """True when ``value`` (a JSON value) holds one of ``found`` anywhere, case-insensitively."""
    if isinstance(value, str):
        low = value.lower()
        return any(n in low for n in found)
    if isinstance(value, dict):
        return any(names_anyone(v, found) for v in value.values())
    if isinstance(value, list):
        return any(names_anyone(v, found) for v in value)
    return False


def redact(value: Any, found: frozenset[str]) -> Any:
    """A copy of a JSON value with ``PERSONAL_KEYS`` emptied and every string that holds one of
    ``found`` replaced by ``REDACTED``. Numbers, booleans, dates and other strings stay."""
    if isinstance(value, dict):
        return {k: (None if k in PERSONAL_KEYS and v is not None else redact(v, found)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, found) for v in value]
    if isinstance(value, str) and names_anyone(value, found):
        return REDACTED
    return value


def ids_in(details: Any) -> set[str]:
    """Entra object ids recorded in ``details`` (``entra_user_id``), at any depth."""
    out: set[str] = set()
    if isinstance(details, dict):
        for k, v in details.items():
            if k == "entra_user_id" and isinstance(v, str):
                out.add(v.lower())
            else:
                out |= ids_in(v)
    elif isinstance(details, list):
        for v in details:
            out |= ids_in(v)
    return out
