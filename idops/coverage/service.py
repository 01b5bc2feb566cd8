"""Single-login coverage: generate and store a report run; serve it scoped to the caller, with deltas.

Generation reads the directory mirror (written by ``sync_mfa``; classification is theirs) and the
sign-in aggregate (``idops.signins``), computes with ``idops.coverage.calculation`` and stores one
JSON row per run. Reading never recomputes: it filters a stored run by the caller's ``Scope`` and
subtracts the previous run's numbers.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import structlog

from idops.auth.scope import Caller
from idops.config import Config
from idops.coverage.calculation import AppUse, Calculator
from idops.coverage.models import SingleLoginReport
from idops.coverage.repository import CoverageUnitOfWork
from idops.graph.errors import GraphError
from idops.graph.port import DirectoryProvider
from idops.kit.clock import to_helsinki
from idops.kit.errors import Message, NotFound
from idops.signins.service import utc_day

log = structlog.get_logger("idops.coverage")

NO_REPORT = Message("Yhden tunnuksen kattavuusraporttia ei ole vielä laadittu.",
                    "No single-login coverage report has been made yet.")
NO_REPORT_ON = Message("Tältä päivältä ei ole raporttia.", "There is no report for that date.")
NOT_IN_SCOPE = Message("Kuntaa tai koulua ei löytynyt.", "No such municipality or school.")

NUMBER_KEYS = (
    "staff_persons", "single_account_persons", "multi_account_persons", "account_coverage",
    "apps_in_use", "single_login_apps", "app_coverage", "app_users", "single_login_app_users",
    "weighted_app_coverage", "headline_persons", "headline_share",
)


@dataclass(frozen=True, slots=True)
class GeneratedReport:
    id: str
    report_date: date
    generated_at: datetime
    staff_persons: int
    headline_share: float | None
    unknown_apps: int


def report_day(at: datetime) -> date:
    """Reports are dated in Europe/Helsinki, where people read them."""
    return to_helsinki(at).date()


async def generate(
    uow: CoverageUnitOfWork,
    config: Config,
    directories: DirectoryProvider | None,
    now: datetime,
) -> GeneratedReport:
    """Compute the report from the mirror and the sign-in aggregate as of ``now`` and store it.
    Service principals' SSO modes are read from Graph — after the reading transaction has ended —
    for the tenants where unknown apps were seen; a tenant that cannot be read leaves its modes
    blank (the report still succeeds). The report is stored in a transaction of its own."""
    window_days = config.settings.coverage.window_days
    window_start = now - timedelta(days=window_days)
    calc = Calculator(config.region, config.apps, config.settings.coverage.fallback_attribute)
    async with uow:
        async for a in uow.coverage.stream_accounts():
            calc.add_account(a)
        async for ms in uow.coverage.stream_staff_memberships():
            calc.add_membership(ms)
        async for use in uow.signins.stream_app_use(utc_day(window_start)):
            calc.add_use(AppUse(use.tenant_id, use.user_id, use.app_id, use.app_display_name))
        states = await uow.signins.states()
        synced = await uow.coverage.synced_at_by_tenant()

    available = {t: (states[t].available if t in states else None) for t in config.region.tenants()}
    sso_modes = await _sso_modes(directories, calc.unknown_tenants) if directories is not None else {}
    body = calc.result(signins_available=available, sso_modes=sso_modes)
    body["generated_at"] = now.isoformat()
    body["window"] = {"start": window_start.isoformat(), "end": now.isoformat(), "days": window_days}
    body["tenants"] = {
        t: {
            "signins_available": available.get(t),
            "signins_watermark": _iso(states[t].watermark) if t in states else None,
            "signins_error": states[t].last_error if t in states else None,
            "directory_synced_at": _iso(synced.get(t)),
        }
        for t in sorted(config.region.tenants())
    }
    row = SingleLoginReport(
        report_date=report_day(now), generated_at=now, window_start=window_start, window_end=now,
        staff_persons=body["region"]["numbers"]["staff_persons"],
        headline_share=body["region"]["numbers"]["headline_share"], body=body,
    )
    async with uow:
        uow.coverage.add_report(row)
        await uow.commit()
    log.info("single_login_report_generated", report_id=row.id, staff_persons=row.staff_persons,
             headline_share=row.headline_share, unknown_apps=len(body["region"]["unknown_apps"]))
    return GeneratedReport(row.id, row.report_date, now, row.staff_persons, row.headline_share,
                           len(body["region"]["unknown_apps"]))


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


async def _sso_modes(
    directories: DirectoryProvider, unknown_tenants: dict[str, set[str]]
) -> dict[tuple[str, str], str | None]:
    wanted: dict[str, set[str]] = defaultdict(set)
    for aid, tenants in unknown_tenants.items():
        for t in tenants:
            wanted[t].add(aid)
    out: dict[tuple[str, str], str | None] = {}
    for tenant_id, app_ids in sorted(wanted.items()):
        try:
            async for page in directories.for_tenant(tenant_id).list_service_principals():
                for sp in page:
                    if sp.app_id.lower() in app_ids:
                        out[(tenant_id, sp.app_id.lower())] = sp.preferred_single_sign_on_mode
        except GraphError as exc:
            log.warning("service_principals_unreadable", tenant_id=tenant_id, request_id=exc.request_id,
                        error_type=type(exc).__name__)
    return out


# --- retention -------------------------------------------------------------------------------------


async def scrub_names(uow: CoverageUnitOfWork, config: Config, now: datetime) -> int:
    """Remove the names and UPNs of persons with several accounts from stored runs older than the
    retention period (``policy.retention_days`` of each municipality, as for substitutes' personal
    data); every count stays, and the entries stay (without names) so their number still matches.

    A run is marked ``names_scrubbed_at`` once every municipality's part is done, and is not read
    again. Idempotent; one run in memory at a time, each run's change its own transaction. Returns how
    many person entries lost their name.
    """
    default = timedelta(days=config.settings.policy.retention_days)  # a municipality no longer configured
    keep = {m.key: timedelta(days=config.policy_for(m, None).retention_days) for m in config.region.municipalities}
    shortest = min([default, *keep.values()])
    scrubbed = 0
    async with uow:
        report_ids = await uow.coverage.unscrubbed_before(now - shortest)
    for report_id in report_ids:
        async with uow:
            scrubbed += await _scrub_run(uow, report_id, keep, default, now)
            await uow.commit()
    if scrubbed:
        log.info("single_login_names_scrubbed", persons=scrubbed)
    return scrubbed


async def _scrub_run(
    uow: CoverageUnitOfWork, report_id: str, keep: dict[str, timedelta], default: timedelta, now: datetime
) -> int:
    scrubbed = 0
    row = await uow.coverage.get(report_id)
    if row is not None:
        body = copy.deepcopy(row.body)  # a new object, so the JSON column is written back
        complete = True
        for m in body["municipalities"]:
            persons = m.get("multi_account_persons") or []
            if row.generated_at + keep.get(m["key"], default) > now:
                complete = complete and not persons
                continue
            for p in persons:
                if p.get("name") is not None:
                    p["name"] = None
                    scrubbed += 1
                for a in p.get("accounts", []):
                    a["user_principal_name"] = None
        row.body = body
        if complete:
            row.names_scrubbed_at = now
    return scrubbed


# --- reading ---------------------------------------------------------------------------------------


async def view(
    uow: CoverageUnitOfWork,
    caller: Caller,
    *,
    day: date | None = None,
    municipality: str | None = None,
    school: str | None = None,
) -> dict[str, Any]:
    """The latest run (or the latest of ``day``), cut to what ``caller`` may see, with deltas against
    the run before it. Raises ``NotFound`` when there is no such run, and — exactly alike — when
    ``municipality``/``school`` is unknown or outside the caller's scope."""
    scope = caller.scope
    if school is not None and not scope.sees_school(school):
        raise NotFound(NOT_IN_SCOPE)
    if municipality is not None and not scope.touches_municipality(municipality):
        raise NotFound(NOT_IN_SCOPE)
    async with uow:
        row = await (uow.coverage.latest() if day is None else uow.coverage.latest_on(day))
        if row is None:
            raise NotFound(NO_REPORT if day is None else NO_REPORT_ON)
        prev = await uow.coverage.previous(row.generated_at)
    return _scoped(row, prev, caller, municipality, school)


def _scoped(
    row: SingleLoginReport, prev: SingleLoginReport | None, caller: Caller, only_muni: str | None,
    only_school: str | None,
) -> dict[str, Any]:
    scope = caller.scope
    body = row.body
    prev_body = prev.body if prev is not None else None
    prev_munis = {m["key"]: m for m in prev_body["municipalities"]} if prev_body else {}
    munis_out = []
    for m in body["municipalities"]:
        if only_muni is not None and m["key"] != only_muni:
            continue
        schools = [s for s in m["schools"] if scope.sees_school(s["path"])
                   and (only_school is None or s["path"] == only_school)]
        if not schools:
            continue
        whole = scope.sees_municipality(m["key"]) and only_school is None
        pm = prev_munis.get(m["key"])
        prev_schools = {s["path"]: s for s in pm["schools"]} if pm else {}
        munis_out.append({
            "key": m["key"], "name": m["name"],
            "signins_available": m["signins_available"],
            "mpassid_home_is_entra": m["mpassid_home_is_entra"],
            "headline_eligible": m["headline_eligible"],
            "numbers": m["numbers"] if whole else None,
            "change": _delta(m["numbers"], pm["numbers"] if pm else None) if whole else None,
            "apps": m["apps"] if whole else None,
            "separate_apps": m["separate_apps"] if whole else None,
            "unknown_apps": m["unknown_apps"] if whole else None,
            # names only to the IT admins of this municipality; region admins and principals get counts
            "multi_account_persons": m["multi_account_persons"]
            if caller.scope.role == "ItAdmin" and scope.sees_municipality(m["key"]) else None,
            "schools": [
                {**s, "change": _delta(s["numbers"], prev_schools[s["path"]]["numbers"]
                                       if s["path"] in prev_schools else None)}
                for s in schools
            ],
        })
    region_visible = scope.role == "RegionAdmin" and only_muni is None and only_school is None
    separate = _separate_ranking(munis_out, body, region_visible)
    unknown = body["region"]["unknown_apps"] if region_visible else [
        u for m in munis_out for u in (m["unknown_apps"] or [])
    ]
    return {
        "id": row.id,
        "report_date": row.report_date.isoformat(),
        "generated_at": row.generated_at.isoformat(),
        "window": body["window"],
        "previous": None if prev is None else {
            "id": prev.id, "report_date": prev.report_date.isoformat(),
            "generated_at": prev.generated_at.isoformat(),
        },
        "scope": {"role": scope.role, "municipality": only_muni, "school": only_school},
        "region": {
            "key": body["region"]["key"], "name": body["region"]["name"],
            "numbers": body["region"]["numbers"],
            "change": _delta(body["region"]["numbers"],
                             prev_body["region"]["numbers"] if prev_body else None),
        } if region_visible else None,
        "headline": _headline(body, munis_out, region_visible),
        "separate_apps": separate,
        "unknown_apps": unknown if scope.is_admin else [],
        "municipalities": munis_out,
    }


def _headline(body: dict[str, Any], munis_out: list[dict[str, Any]], region_visible: bool) -> dict[str, Any]:
    """The one number on top of the page, for the caller's whole view: each person once, even when
    they are staff in several of the municipalities or schools the caller sees.

    A person of the view is a headline person when they have exactly one enabled account and every
    municipality of theirs *inside the view* is headline-eligible: for one municipality that is the
    municipality's own number, for the whole region the region's.
    """
    if region_visible:
        n = body["region"]["numbers"]
        return {"staff_persons": n["staff_persons"], "headline_persons": n["headline_persons"],
                "headline_share": n["headline_share"]}
    groups = body.get("person_groups")
    if groups is not None:
        visible = {s["path"]: s["municipality"] for m in munis_out for s in m["schools"]}
        eligible = {m["key"]: bool(m["headline_eligible"]) for m in body["municipalities"]}
        staff = head = 0
        for g in groups:
            munis = {visible[p] for p in g["schools"] if p in visible}
            if not munis:
                continue
            staff += g["persons"]
            if g["single_account"] and all(eligible[k] for k in munis):
                head += g["persons"]
        return {"staff_persons": staff, "headline_persons": head,
                "headline_share": head / staff if staff else None}
    # a run stored before ``person_groups`` existed: the sum of the visible units, which counts a
    # person who is staff in two of them twice
    staff = head = 0
    for m in munis_out:
        if m["numbers"] is not None:
            staff += m["numbers"]["staff_persons"]
            head += m["numbers"]["headline_persons"]
        else:
            for s in m["schools"]:
                staff += s["numbers"]["staff_persons"]
                head += s["numbers"]["headline_persons"]
    share = head / staff if staff else None
    return {"staff_persons": staff, "headline_persons": head, "headline_share": share}


def _separate_ranking(munis_out: list[dict[str, Any]], body: dict[str, Any], region_visible: bool
                      ) -> list[dict[str, Any]]:
    """Catalogued apps that still need a separate account, ranked by how many staff use them."""
    if region_visible:
        return list(body["region"]["separate_apps"])
    agg: dict[str, dict[str, Any]] = {}
    for m in munis_out:
        rows = m["separate_apps"] if m["separate_apps"] is not None else [
            a for s in m["schools"] for a in s["apps"] if a["catalogued"] and not a["single_login"]
        ]
        for r in rows:
            e = agg.setdefault(r["key"], {"key": r["key"], "name": r["name"], "users": 0,
                                          "municipalities": []})
            e["users"] += r["users"]
            if m["key"] not in e["municipalities"]:
                e["municipalities"].append(m["key"])
    return sorted(agg.values(), key=lambda r: (-r["users"], r["name"].lower()))


def _delta(cur: dict[str, Any], prev: dict[str, Any] | None) -> dict[str, Any] | None:
    """Current minus previous, per number (shares as fractions; None where either side is None)."""
    if prev is None:
        return None
    out: dict[str, Any] = {}
    for k in NUMBER_KEYS:
        a, b = cur.get(k), prev.get(k)
        out[k] = None if a is None or b is None else a - b
    return out


# --- flat rows for CSV -----------------------------------------------------------------------------

CSV_COLUMNS = (
    "report_date", "generated_at", "level", "municipality", "school", *NUMBER_KEYS,
    "change_account_coverage", "change_headline_share", "signins_available",
)


def csv_rows(v: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per observation (region, municipality, school) the view holds; Power BI shaped."""
    base = {"report_date": v["report_date"], "generated_at": v["generated_at"]}
    out: list[dict[str, Any]] = []

    def add(level: str, muni: str | None, school: str | None, numbers: dict[str, Any],
            change: dict[str, Any] | None, available: bool | None) -> None:
        out.append({**base, "level": level, "municipality": muni, "school": school, **numbers,
                    "change_account_coverage": change and change["account_coverage"],
                    "change_headline_share": change and change["headline_share"],
                    "signins_available": available})

    if v["region"] is not None:
        add("region", None, None, v["region"]["numbers"], v["region"]["change"], None)
    for m in v["municipalities"]:
        if m["numbers"] is not None:
            add("municipality", m["key"], None, m["numbers"], m["change"], m["signins_available"])
        for s in m["schools"]:
            add("school", m["key"], s["school"], s["numbers"], s["change"], m["signins_available"])
    return out
