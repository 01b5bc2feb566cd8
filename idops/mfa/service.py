"""MFA enrollment tracking: snapshots from the directory mirror, and the summary / trend / users views.

Contracts:
- ``write_snapshot`` replaces the (date, municipality) rows of one tenant: re-running a day is
  idempotent, and commits that tenant's rows as one transaction.
- Read functions take the caller's ``Scope`` and raise ``NotFound`` for a school or municipality
  outside it, with the same message as for one that does not exist.
- Shares are ``registered / total`` (None for 0 users); a row is below target when its
  *capable* share is below the role's ``[mfa].targets`` (docs/definitions.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import structlog

from idops.auth.scope import Scope
from idops.config import Config
from idops.directory.sync import TenantSyncResult
from idops.kit.clock import to_helsinki
from idops.kit.errors import BadRequest, Message, NotFound
from idops.kit.pagination import decode_cursor, encode_cursor
from idops.mfa.repository import MfaUnitOfWork, Visible
from idops.mfa.schemas import (
    AsOf,
    BelowTarget,
    Counts,
    Dimension,
    Excluded,
    Measure,
    OtherUsers,
    Summary,
    SummaryRow,
    Trend,
    TrendPoint,
    UnregisteredUser,
    UserPage,
)
from idops.signins.service import utc_day

log = structlog.get_logger("idops.mfa")

_NOT_FOUND = Message("Koulua tai kuntaa ei löytynyt.", "No such school or municipality.")
_BAD_GROUP = Message(
    "Ryhmittely on pilkuin eroteltu lista: municipality, school, role.",
    "group_by is a comma-separated list of: municipality, school, role.",
)
_BAD_RANGE = Message("Aikavälin alku on sen lopun jälkeen.", "The start of the range is after its end.")
_LONG_RANGE = Message("Aikaväli saa olla enintään 10 vuotta.", "The range may span at most 10 years.")
_NO_DATA = Message("MFA-tietoja ei ole vielä synkronoitu.", "MFA data has not been synced yet.")
_NO_PUPIL_LIST = Message(
    "Oppilaita ei listata nimeltä: oppilaiden MFA-tilanne näkyy vain lukuina (tietosuoja).",
    "Pupils are not listed by name: their MFA status is shown as counts only (data protection).",
)

USED_WINDOW = timedelta(days=30)
DIMENSIONS: tuple[Dimension, ...] = ("municipality", "school", "role")


# ----------------------------------------------------------------------------------- snapshot


async def write_snapshot(uow: MfaUnitOfWork, config: Config, result: TenantSyncResult, day: date) -> int:
    """Aggregate one tenant's mirror into ``day``'s snapshot rows (replacing that day's). Returns rows."""
    async with uow:
        n = await _write_snapshot(uow, config, result, day)
        await uow.commit()
    return n


async def _write_snapshot(uow: MfaUnitOfWork, config: Config, result: TenantSyncResult, day: date) -> int:
    tenant_id = result.tenant_id
    munis = [m.key for m in config.region.municipalities_of_tenant(tenant_id)]
    rows = await uow.mfa.aggregate_tenant(tenant_id)
    # "used" comes from the sign-in aggregate: False for tenants whose licence gives no sign-in logs
    # (403 premium), None when never read.
    state = await uow.signins.get_state(tenant_id.lower())
    available = None if state is None else state.available
    per_user = (
        None if available is False
        else await uow.signins.usage_by_user(tenant_id.lower(), utc_day(result.synced_at - USED_WINDOW))
    )
    used: dict[tuple[str, str, str], tuple[float, int]] = {}
    if per_user:
        acc: dict[tuple[str, str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
        async for uid, muni, school, role in uow.mfa.included_placements(tenant_id):
            counts = per_user.get(uid)
            if counts and counts[0] > 0:
                a = acc[(muni, school, role)]
                a[0] += counts[1] / counts[0]
                a[1] += 1
        used = {k: (v[0] / v[1], int(v[1])) for k, v in acc.items()}
    out = []
    for r in rows:
        key = (r["municipality"], r["school"], r["role"])
        share, n = used.get(key, (None, 0))
        out.append(
            {
                **r,
                "tenant_id": tenant_id,
                "used_share": share if available is not False else None,
                "used_users": n,
                "signins_available": available,
                "synced_at": result.synced_at,
            }
        )
    await uow.mfa.replace_day(day, munis, out)
    return len(out)


async def other_users(uow: MfaUnitOfWork, config: Config, tenant_id: str) -> OtherUsers:
    """The tenant's role-``other`` users from its mirror (call after the sync, like ``write_snapshot``)."""
    async with uow:
        c = await uow.mfa.aggregate_other(tenant_id)
    excluded = Excluded(disabled=c["excluded_disabled"], guest=c["excluded_guest"], excluded_group=c["excluded_group"])
    return OtherUsers(
        tenant_id=tenant_id,
        municipalities=[m.key for m in config.region.municipalities_of_tenant(tenant_id)],
        total=c["total"],
        registered=c["registered"],
        capable=c["capable"],
        passwordless_capable=c["passwordless_capable"],
        excluded=excluded,
        excluded_total=excluded.total,
    )


def snapshot_day(now: datetime) -> date:
    """The Europe/Helsinki date of ``now``: the day a snapshot belongs to."""
    return to_helsinki(now).date()


# ----------------------------------------------------------------------------------- scope


def visible_for(scope: Scope, config: Config, municipality: str | None, school: str | None) -> Visible:
    """The part of the region a query may show. Unknown and out-of-scope names are both ``NotFound``."""
    region = config.region
    if school is not None:
        found = region.school(school)
        if found is None or not scope.sees_school(school):
            raise NotFound(_NOT_FOUND)
        if municipality is not None and found[0].key != municipality:
            raise NotFound(_NOT_FOUND)
        return Visible(schools=frozenset({school}))
    if municipality is not None:
        if region.municipality(municipality) is None:
            raise NotFound(_NOT_FOUND)
        if scope.sees_municipality(municipality):
            return Visible(municipalities=frozenset({municipality}))
        mine = frozenset(p for p in scope.schools if p.split("/", 1)[0] == municipality)
        if not mine:
            raise NotFound(_NOT_FOUND)
        return Visible(schools=mine)
    if scope.role == "RegionAdmin":
        return Visible(everything=True)
    if scope.is_admin:
        return Visible(municipalities=scope.municipalities)
    return Visible(schools=scope.schools)


def parse_group_by(value: str | None, default: Sequence[Dimension] = DIMENSIONS) -> list[Dimension]:
    if value is None or not value.strip():
        return list(default)
    parts = [p.strip() for p in value.split(",") if p.strip()]
    if any(p not in DIMENSIONS for p in parts):
        raise BadRequest(_BAD_GROUP)
    chosen = set(parts)
    if "school" in chosen:
        chosen.add("municipality")  # a school is named by its path
    return [d for d in DIMENSIONS if d in chosen]


# ----------------------------------------------------------------------------------- aggregation


def _share(n: int, total: int) -> float | None:
    return n / total if total else None


def _counts(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    total = registered = capable = pwless = used_users = 0
    used_sum = 0.0
    excluded = dict.fromkeys(("disabled", "guest", "excluded_group", "not_started"), 0)
    avail: set[bool | None] = set()
    for r in rows:
        total += r["total"]
        registered += r["registered"]
        capable += r["capable"]
        pwless += r["passwordless_capable"]
        excluded["disabled"] += r["excluded_disabled"]
        excluded["guest"] += r["excluded_guest"]
        excluded["excluded_group"] += r["excluded_group"]
        excluded["not_started"] += r["excluded_not_started"]
        avail.add(r["signins_available"])
        if r["used_share"] is not None and r["used_users"]:
            used_sum += r["used_share"] * r["used_users"]
            used_users += r["used_users"]
    available = True if True in avail else (False if False in avail else None)
    ex = Excluded(**excluded)
    return {
        "total": total,
        "registered": registered,
        "capable": capable,
        "passwordless_capable": pwless,
        "registered_share": _share(registered, total),
        "capable_share": _share(capable, total),
        "passwordless_share": _share(pwless, total),
        "used_share": used_sum / used_users if used_users else None,
        "used_users": used_users,
        "signins_available": available,
        "excluded": ex,
        "excluded_total": ex.total,
    }


def _key(r: Mapping[str, Any], group_by: Sequence[Dimension]) -> tuple[str | None, str | None, str | None]:
    return (
        r["municipality"] if "municipality" in group_by else None,
        f"{r['municipality']}/{r['school']}" if "school" in group_by else None,
        r["role"] if "role" in group_by else None,
    )


def _min(values: Iterable[Any]) -> Any:
    vs = [v for v in values if v is not None]
    return min(vs) if vs else None


# ----------------------------------------------------------------------------------- views


async def summary(
    uow: MfaUnitOfWork,
    config: Config,
    scope: Scope,
    *,
    municipality: str | None = None,
    school: str | None = None,
    role: str | None = None,
    group_by: str | None = None,
    lang: str = "fi",
) -> Summary:
    """Latest snapshot of each visible municipality, grouped; targets and freshness included."""
    visible = visible_for(scope, config, municipality, school)
    dims = parse_group_by(group_by)
    async with uow:
        rows = await uow.mfa.latest_rows(visible, role)
    targets: dict[str, float] = {str(k): v for k, v in config.settings.mfa.targets.items()}
    groups: dict[tuple[str | None, str | None, str | None], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[_key(r, dims)].append(r)
    out: list[SummaryRow] = []
    for (m, s, ro), members in groups.items():
        c = _counts(members)
        target = targets.get(ro) if ro else None
        below = None if target is None or c["capable_share"] is None else c["capable_share"] < target
        out.append(
            SummaryRow(
                municipality=m,
                school=s,
                role=ro,
                target=target,
                below_target=below,
                date=max(x["day"] for x in members),
                synced_at=min(x["synced_at"] for x in members),
                report_as_of=_min(x["report_as_of"] for x in members),
                **c,
            )
        )
    below_list = []
    for r in rows:
        target = targets.get(r["role"])
        share = _share(r["capable"], r["total"])
        if target is not None and share is not None and share < target:
            below_list.append(
                BelowTarget(
                    school=f"{r['municipality']}/{r['school']}",
                    role=r["role"],
                    capable_share=share,
                    target=target,
                )
            )
    as_of = AsOf(
        synced_at=_min(r["synced_at"] for r in rows),
        report_as_of=_min(r["report_as_of"] for r in rows),
        date=max((r["day"] for r in rows), default=None),
    )
    return Summary(
        as_of=as_of,
        group_by=dims,
        targets=targets,
        totals=Counts(**_counts(rows)) if rows else None,
        rows=out,
        below_target=below_list,
        note=None if rows else _NO_DATA.in_language(lang),
    )


async def trend(
    uow: MfaUnitOfWork,
    config: Config,
    scope: Scope,
    *,
    start: date | None,
    end: date | None,
    today: date,
    municipality: str | None = None,
    school: str | None = None,
    role: str | None = None,
    group_by: str | None = None,
) -> Trend:
    """Daily series over ``[start, end]`` (default: the 30 days up to ``today``), one point per
    date × group. Days without a snapshot have no point."""
    visible = visible_for(scope, config, municipality, school)
    dims = parse_group_by(group_by, default=("municipality",))
    end = end or today
    start = start or end - timedelta(days=29)
    if start > end:
        raise BadRequest(_BAD_RANGE)
    if (end - start).days > 3660:
        raise BadRequest(_LONG_RANGE)
    async with uow:
        rows = await uow.mfa.range_rows(visible, start, end, role)
    groups: dict[tuple[date, str | None, str | None, str | None], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[(r["day"], *_key(r, dims))].append(r)
    points = [
        TrendPoint(date=d, municipality=m, school=s, role=ro, **_counts(members))
        for (d, m, s, ro), members in groups.items()
    ]
    return Trend(start=start, end=end, group_by=dims, points=points)


async def users_without_mfa(
    uow: MfaUnitOfWork,
    config: Config,
    scope: Scope,
    *,
    municipality: str | None = None,
    school: str | None = None,
    role: str | None = None,
    measure: Measure = "registered",
    cursor: str | None = None,
    limit: int = 50,
) -> UserPage:
    """Counted users who have not registered (or are not capable), one item per (user, school).
    Staff and substitutes only: pupils are children and are counted, never listed — the mirror keeps
    no name of theirs (docs/data-protection.md). ``role="pupil"`` raises ``BadRequest`` saying so."""
    if role == "pupil":
        raise BadRequest(_NO_PUPIL_LIST, field="role")
    visible = visible_for(scope, config, municipality, school)
    after = decode_cursor(cursor, 4)
    async with uow:
        rows = await uow.mfa.users_lacking(visible, measure=measure, role=role, after=after, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        UnregisteredUser(
            user_id=r["user_id"],
            user_principal_name=r["upn"],
            display_name=r["display_name"],
            municipality=r["municipality"],
            school=f"{r['municipality']}/{r['school']}",
            role=r["role"],
            is_mfa_registered=r["is_mfa_registered"],
            is_mfa_capable=r["is_mfa_capable"],
            is_passwordless_capable=r["is_passwordless_capable"],
            methods_registered=list(r["methods_registered"] or []),
            report_updated_at=r["report_updated_at"],
            synced_at=r["synced_at"],
        )
        for r in rows
    ]
    nxt = None
    if more and rows:
        last = rows[-1]
        nxt = encode_cursor([last["municipality"], last["school"], last["upn"], last["user_id"]])
    return UserPage(
        items=items,
        next=nxt,
        as_of=AsOf(
            synced_at=_min(r["synced_at"] for r in rows),
            report_as_of=_min(r["report_updated_at"] for r in rows),
            date=None,
        ),
    )
