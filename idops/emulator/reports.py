"""Report handlers: registration details (lagging, premium-only), sign-ins (lazy, newest first),
service principals."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from idops.emulator import odata
from idops.emulator.common import Req, Resp, _filter, _select, page_list
from idops.emulator.errors import GraphHTTPError, not_found
from idops.emulator.render import (
    REGISTRATION_PROPS,
    SIGNIN_FIELDS,
    SP_PROPS,
    iso,
    registration_values,
    signin_getter,
    signin_json,
    sp_json,
)
from idops.emulator.state import SignInRecord, Tenant, User

# --- reports -----------------------------------------------------------------------------------


def _premium(req: Req) -> None:
    if not req.tenant.premium:
        raise GraphHTTPError(
            403,
            "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
            "Neither tenant is B2C or tenant doesn't have premium license",
        )


#: What a report row shows of its user, captured when the listing starts: (id, upn, display name,
#: user type, flags, methods, lastUpdatedDateTime). Pages are rendered from it on demand.
_RegState = tuple[str, str, str, str, int, tuple[str, ...], str | None]


def _registration_state(u: User, as_of: datetime, as_of_text: str | None) -> _RegState | None:
    """The row as the lagging report shows it; None when the user is too new to be in it."""
    if u.created_date_time > as_of:
        return None
    if u.reg_changed_at is not None and u.reg_changed_at > as_of:
        flags, methods = u.reg_prev_flags, u.reg_prev_methods
    else:
        flags, methods = u.reg_flags, u.reg_methods
    return (u.id, u.user_principal_name, u.display_name, u.user_type, flags, methods, as_of_text)


def _registration_row(req: Req, u: User) -> dict[str, Any] | None:
    as_of = req.now - req.tenant.report_lag
    state = _registration_state(u, as_of, iso(as_of))
    return None if state is None else registration_values(*state)


def list_registration(req: Req) -> Resp:
    """The report of the listing's first request (later pages page that snapshot), each page rendered
    when it is asked for: the first page of a 100 000-user tenant does not wait for 100 000 rows."""
    _premium(req)
    node = _filter(req, REGISTRATION_PROPS, "microsoft.graph.userRegistrationDetails")
    size = odata.parse_top(req.query.get("$top"), req.tenant.report_page_size, 999)
    t = req.tenant

    def compute() -> list[_RegState]:
        as_of = req.now - t.report_lag
        as_of_text = iso(as_of)
        states = (_registration_state(u, as_of, as_of_text) for u in list(t.users.values()))
        return [
            s
            for s in states
            if s is not None and (node is None or odata.evaluate(node, odata.mapping_getter(registration_values(*s))))
        ]

    return page_list(
        req,
        compute,
        lambda s: registration_values(*s),
        size,
        "reports/authenticationMethods/userRegistrationDetails",
    )


def get_registration(req: Req, uid: str) -> Resp:
    _premium(req)
    u = req.tenant.users.get(uid)
    row = _registration_row(req, u) if u is not None else None
    if row is None:
        raise not_found(uid)
    return Resp(200, row)


def list_signins(req: Req) -> Resp:
    """Interactive sign-ins, newest first, pages ≤ 1000, generated days read lazily."""
    _premium(req)
    node = _filter(req, set(odata_signin_props()), "microsoft.graph.signIn")
    size = odata.parse_top(req.query.get("$top"), 1000, 1000)
    t = req.tenant
    lo, hi = odata.datetime_bounds(node, "createdDateTime") if node is not None else (None, None)

    def evaluated(r: SignInRecord) -> bool:
        return r.is_interactive and (node is None or odata.evaluate(node, signin_getter(r)))

    window = _created_window(node) if node is not None else None
    match: Callable[[SignInRecord], bool] = evaluated if window is None else window

    def compute() -> _SignInSeq:
        return _SignInSeq(t, lo, hi, match)

    return page_list(req, compute, signin_json, size, "auditLogs/signIns")


def odata_signin_props() -> list[str]:
    return list(SIGNIN_FIELDS)


_WINDOW_OPS = frozenset({"eq", "gt", "ge", "lt", "le"})


def _created_window(node: odata.Node) -> Callable[[SignInRecord], bool] | None:
    """The filter as a plain range test when it is only an ``and`` of ``createdDateTime`` comparisons
    with offset-aware datetime literals (what every ingestion sends); None for anything else, which then
    goes through the general evaluator.

    Same answers as ``odata.evaluate`` on such a filter (a property test checks it), ~100× cheaper per
    record: ``createdDateTime`` is never null and both sides are aware datetimes, so each comparison is
    Python's own.
    """
    lo: datetime | None = None  # records must satisfy created > lo (strict) or >= lo
    lo_strict = False
    hi: datetime | None = None
    hi_strict = False
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, odata.And):
            stack += [n.left, n.right]
            continue
        if not (
            isinstance(n, odata.Cmp)
            and n.op in _WINDOW_OPS
            and isinstance(n.left, odata.Prop)
            and n.left.path == ("createdDateTime",)
            and isinstance(n.right, odata.Lit)
            and isinstance(n.right.value, datetime)
            and n.right.value.tzinfo is not None
        ):
            return None
        v, op = n.right.value, n.op
        if op in ("eq", "ge", "gt"):
            strict = op == "gt"
            if lo is None or v > lo or (v == lo and strict):
                lo, lo_strict = v, strict
        if op in ("eq", "le", "lt"):
            strict = op == "lt"
            if hi is None or v < hi or (v == hi and strict):
                hi, hi_strict = v, strict

    def match(r: SignInRecord) -> bool:
        c = r.created
        if lo is not None and (c <= lo if lo_strict else c < lo):
            return False
        if hi is not None and (c >= hi if hi_strict else c > hi):
            return False
        return r.is_interactive

    return match


class _SignInSeq(Sequence[SignInRecord]):
    """Lazy newest-first sequence over hand-added and generated sign-ins (one day in memory at a time)."""

    def __init__(
        self, t: Tenant, lo: datetime | None, hi: datetime | None, match: Callable[[SignInRecord], bool]
    ) -> None:
        self._match = match
        src = t.signin_source
        hand = [r for r in t.signins if (lo is None or r.created >= lo) and (hi is None or r.created <= hi)]
        self._chunks: list[Callable[[], list[SignInRecord]]] = []
        if src is None:
            self._chunks.append(lambda: hand)
        else:
            _, newest_end = src.day_bounds(0)
            self._chunks.append(lambda: [r for r in hand if r.created >= newest_end])
            for d in range(src.day_count()):
                start, end = src.day_bounds(d)
                if (hi is not None and start > hi) or (lo is not None and end <= lo):
                    continue
                self._chunks.append(self._day(src, d, start, end, hand))
            oldest = src.day_bounds(src.day_count() - 1)[0] if src.day_count() else newest_end
            self._chunks.append(lambda: [r for r in hand if r.created < oldest])
        self._cache: dict[int, list[SignInRecord]] = {}
        self._sizes: list[int] = []

    @staticmethod
    def _day(
        src: Any, d: int, start: datetime, end: datetime, hand: list[SignInRecord]
    ) -> Callable[[], list[SignInRecord]]:
        def load() -> list[SignInRecord]:
            extra = [r for r in hand if start <= r.created < end]
            rows = src.day(d)
            if extra:
                rows = sorted([*rows, *extra], key=lambda r: r.created, reverse=True)
            return rows

        return load

    def _chunk(self, i: int) -> list[SignInRecord]:
        c = self._cache.get(i)
        if c is None:
            c = [r for r in self._chunks[i]() if self._match(r)]
            self._cache = {i: c}  # keep one day in memory
        return c

    def __len__(self) -> int:  # exact count would materialise everything; paging only needs "more?"
        return 1 << 62

    def __getitem__(self, idx: Any) -> Any:
        if not isinstance(idx, slice):
            raise TypeError("slices only")
        start, stop = idx.start or 0, idx.stop
        out: list[SignInRecord] = []
        base = 0
        for i in range(len(self._chunks)):
            if i < len(self._sizes):
                n = self._sizes[i]
                if base + n <= start:
                    base += n
                    continue
            c = self._chunk(i)
            if i >= len(self._sizes):
                self._sizes.append(len(c))
            lo = max(0, start - base)
            hi = stop - base
            out.extend(c[lo:hi])
            base += len(c)
            if base >= stop:
                break
        return out

    def has_more(self, offset: int) -> bool:
        """True when records exist at or after ``offset`` (loads at most the next non-empty day)."""
        return bool(self[offset : offset + 1])


def list_service_principals(req: Req) -> Resp:
    sel = _select(req, SP_PROPS, "microsoft.graph.servicePrincipal")
    node = _filter(req, set(SP_PROPS), "microsoft.graph.servicePrincipal")
    size = odata.parse_top(req.query.get("$top"), 100, 999)
    sps = req.tenant.service_principals

    def compute() -> list[Any]:
        if node is None:
            return list(sps)
        return [s for s in sps if odata.evaluate(node, odata.mapping_getter(sp_json(s, None)))]

    return page_list(req, compute, lambda s: sp_json(s, sel), size, "servicePrincipals")
