"""The one place OData ``$filter`` expressions and Graph URL path segments are built.

Contract: a value from outside idops reaches a Graph URL only through this module.

- ``Filter`` is a ``str`` subclass that only these helpers create; ``GraphDirectory.list_users``
  refuses a plain ``str``, so a hand-concatenated filter cannot slip through.
- Fields and operators come from an allow-list; each field has a type, and the value must match it:
  strings are quoted with ``'`` doubled and control characters rejected; GUIDs, booleans, numbers
  and DateTimeOffset values are validated strictly and emitted unquoted (ids that Graph types as
  ``String`` are GUID-validated *and* quoted).
- The whole expression is percent-encoded later by the URL builder (``query_string``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from enum import Enum
from urllib.parse import quote

GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
MAX_STRING_LENGTH = 1024  # extensionAttributeN is at most 1024 characters; nothing we filter on is longer
MAX_IN_VALUES = 15  # Graph caps `in` lists at 15 values for most directory properties


class ODataValueError(ValueError):
    """A value or field that may not go into a filter or a URL; the message never echoes secrets."""


class _Kind(Enum):
    STRING = "string"  # Edm.String: quoted, '' escaped
    ID = "id"  # Edm.String holding a GUID (id, userId, appId): validated, quoted
    GUID = "guid"  # Edm.Guid (skuId): validated, unquoted
    BOOL = "bool"
    INT = "int"
    DATETIME = "datetime"  # Edm.DateTimeOffset: aware datetime, unquoted, UTC with Z


_S, _ID, _B, _I, _DT = _Kind.STRING, _Kind.ID, _Kind.BOOL, _Kind.INT, _Kind.DATETIME

#: Allow-listed filter fields and their types (users, sign-ins, registration details, service principals).
FIELDS: Mapping[str, _Kind] = {
    # users
    "id": _ID,
    "userPrincipalName": _S,
    "displayName": _S,
    "givenName": _S,
    "surname": _S,
    "mail": _S,
    "mailNickname": _S,
    "employeeId": _S,
    "employeeType": _S,
    "usageLocation": _S,
    "userType": _S,
    "accountEnabled": _B,
    "createdDateTime": _DT,
    "employeeHireDate": _DT,
    "employeeLeaveDateTime": _DT,
    **{f"onPremisesExtensionAttributes/extensionAttribute{i}": _S for i in range(1, 16)},
    # sign-ins
    "userId": _ID,
    "appId": _ID,
    "appDisplayName": _S,
    "clientAppUsed": _S,
    "isInteractive": _B,
    "status/errorCode": _I,
    # registration details
    "userDisplayName": _S,
    "isAdmin": _B,
    "isMfaRegistered": _B,
    "isMfaCapable": _B,
    "isPasswordlessCapable": _B,
    "isSsprRegistered": _B,
    "isSsprCapable": _B,
    # service principals
    "preferredSingleSignOnMode": _S,
}

_STRING_OPS = frozenset({"eq", "ne", "ge", "le"})
_ORDERED_KINDS = frozenset({_Kind.STRING, _Kind.INT, _Kind.DATETIME})


class Filter(str):
    """A rendered, safe ``$filter`` expression. Build with the helpers; combine with ``&`` and ``|``."""

    __slots__ = ()

    def __and__(self, other: Filter) -> Filter:
        return and_(self, other)

    def __or__(self, other: Filter) -> Filter:
        return or_(self, other)


def _kind(field: str) -> _Kind:
    try:
        return FIELDS[field]
    except KeyError:
        raise ODataValueError(f"field {field!r} is not on the $filter allow-list") from None


def _check_text(value: object, what: str = "value") -> str:
    if not isinstance(value, str):
        raise ODataValueError(f"{what} must be a str, not {type(value).__name__}")
    if len(value) > MAX_STRING_LENGTH:
        raise ODataValueError(f"{what} is longer than {MAX_STRING_LENGTH} characters")
    for ch in value:
        if unicodedata.category(ch) in ("Cc", "Cs") or ch in "\u2028\u2029":
            raise ODataValueError(f"{what} contains a control character (U+{ord(ch):04X})")
    return value


def quote_string(value: str) -> str:
    """``O'Brien`` → ``'O''Brien'``. Rejects control characters and over-long values."""
    return "'" + _check_text(value).replace("'", "''") + "'"


def guid(value: str) -> str:
    """Validate and normalise a GUID (lower case); raise ``ODataValueError`` otherwise."""
    if not isinstance(value, str) or not GUID_RE.match(value):
        raise ODataValueError("value is not a GUID")
    return value.lower()


def format_datetime(value: datetime) -> str:
    """An aware datetime as Graph's DateTimeOffset literal, UTC, ``2025-06-01T00:00:00Z``."""
    if not isinstance(value, datetime):
        raise ODataValueError("value must be a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ODataValueError("datetime must be timezone-aware")
    utc = value.astimezone(UTC)
    if utc.microsecond:
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond:06d}Z"
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def literal(kind: _Kind, value: object) -> str:
    """Render one value of the given type, validating it strictly."""
    if kind is _Kind.STRING:
        return quote_string(value)  # type: ignore[arg-type]  # _check_text validates the type
    if kind is _Kind.ID:
        return "'" + guid(value) + "'"  # type: ignore[arg-type]
    if kind is _Kind.GUID:
        return guid(value)  # type: ignore[arg-type]
    if kind is _Kind.BOOL:
        if not isinstance(value, bool):
            raise ODataValueError("value must be a bool")
        return "true" if value else "false"
    if kind is _Kind.INT:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ODataValueError("value must be an int")
        return str(value)
    if kind is _Kind.DATETIME:
        return format_datetime(value)  # type: ignore[arg-type]
    raise AssertionError(kind)  # pragma: no cover


def _compare(op: str, field: str, value: object) -> Filter:
    kind = _kind(field)
    if op in ("ge", "le") and kind not in _ORDERED_KINDS:
        raise ODataValueError(f"{op} is not allowed on {field}")
    if op not in _STRING_OPS:  # pragma: no cover - internal callers only
        raise ODataValueError(f"operator {op!r} is not allowed")
    return Filter(f"{field} {op} {literal(kind, value)}")


def eq(field: str, value: object) -> Filter:
    return _compare("eq", field, value)


def ne(field: str, value: object) -> Filter:
    """Needs an advanced query (``advanced=True``) on directory objects."""
    return _compare("ne", field, value)


def ge(field: str, value: object) -> Filter:
    return _compare("ge", field, value)


def le(field: str, value: object) -> Filter:
    return _compare("le", field, value)


def startswith(field: str, prefix: str) -> Filter:
    if _kind(field) is not _Kind.STRING:
        raise ODataValueError(f"startswith is only allowed on string fields, not {field}")
    return Filter(f"startswith({field},{quote_string(prefix)})")


def in_(field: str, values: Iterable[object]) -> Filter:
    kind = _kind(field)
    items = list(values)
    if not items:
        raise ODataValueError("in needs at least one value")
    if len(items) > MAX_IN_VALUES:
        raise ODataValueError(f"in takes at most {MAX_IN_VALUES} values; split the query")
    return Filter(f"{field} in ({','.join(literal(kind, v) for v in items)})")


def extension_attribute(n: int) -> str:
    """The filter field name of ``onPremisesExtensionAttributes/extensionAttribute<n>`` (1..15)."""
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 15:
        raise ODataValueError("extension attribute number must be 1..15")
    return f"onPremisesExtensionAttributes/extensionAttribute{n}"


def _join(op: str, parts: Sequence[Filter]) -> Filter:
    if not parts:
        raise ODataValueError(f"{op} needs at least one filter")
    for p in parts:
        if not isinstance(p, Filter):
            raise ODataValueError("only Filter values built by idops.graph.odata may be combined")
    if len(parts) == 1:
        return parts[0]
    return Filter(f" {op} ".join(f"({p})" for p in parts))


def and_(*parts: Filter) -> Filter:
    return _join("and", parts)


def or_(*parts: Filter) -> Filter:
    return _join("or", parts)


# ------------------------------------------------------------------------------------------ paths

_UPN_RE = re.compile(r"^[A-Za-z0-9'.\-_!#^~+$%&*=?{}|`]+@[A-Za-z0-9.\-]+$")


def path_id(value: str) -> str:
    """A directory object id for a URL path segment: must be a GUID."""
    return guid(value)


def path_user(id_or_upn: str) -> str:
    """A user key for ``/users/{key}``: a GUID as is, a UPN validated and percent-encoded.

    Guest UPNs (``x_gmail.com#EXT#@t.onmicrosoft.com``) are allowed; ``#`` becomes ``%23``.
    """
    if isinstance(id_or_upn, str) and GUID_RE.match(id_or_upn):
        return id_or_upn.lower()
    text = _check_text(id_or_upn, "user principal name")
    if not _UPN_RE.match(text) or len(text) > 113 or text.startswith("$"):
        raise ODataValueError("not a GUID or a valid user principal name")
    return quote(text, safe="@")


def query_string(params: Mapping[str, str | int | None]) -> str:
    """Percent-encode query options (RFC 3986; spaces as ``%20``, ``$`` kept in names)."""
    parts = []
    for name, value in params.items():
        if value is None:
            continue
        if not re.fullmatch(r"\$?[A-Za-z]+", name):
            raise ODataValueError(f"query option {name!r} is not allowed")
        parts.append(f"{name}={quote(str(value), safe='')}")
    return "&".join(parts)
