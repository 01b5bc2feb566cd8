"""Ground truth for a generated region, following ``docs/definitions.md`` literally.

Written independently of the product (which computes the same numbers from Graph responses): it
reads the emulator state directly. Interpretations where the definitions leave room:

- Non-premium tenants: the registration report answers 403, so idops reads each user's authentication
  methods instead (``source[tenant] == "per_user_scan"``): the methods the emulator lists for the
  user (``render.method_kinds``) read per docs/definitions.md — registered = a strong method,
  capable = registered (the methods policy is not read), passwordless = a FIDO2 key or Windows
  Hello (``render.scanned_flags``) — as of now (the listing does not lag).
  These rows assume every counted user was read (the scan's budget sufficed).
- ``other`` users (in no school group) are counted per tenant with the exclusions of every
  municipality of that tenant.
- Person keys are compared as exact strings (``employeeId``, else the fallback attribute, else id).
- "Users of an app at a school": staff persons of the school one of whose staff accounts *at that
  school* signed in to the app in the window. Municipality and region levels take the union of
  persons per app. At region level an app is a (municipality, app) pair, so an app counts once per
  municipality using it; a person counts toward the headline when they have exactly one enabled
  account and every municipality where they are staff uses no separate-account app.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from idops.emulator.render import USER_PROPS, scanned_flags
from idops.emulator.state import MFA_CAPABLE, MFA_REGISTERED, PASSWORDLESS, EmulatorState, Tenant, User

REASONS = ("disabled", "guest", "excluded_group", "not_started")


@dataclass(frozen=True, slots=True)
class MfaRow:
    municipality: str
    school: str
    role: str  # staff | pupil | substitute
    total: int
    registered: int
    capable: int
    passwordless_capable: int
    excluded: Mapping[str, int]  # reason → count, every reason present

    @property
    def registered_share(self) -> float | None:
        return None if self.total == 0 else self.registered / self.total

    @property
    def capable_share(self) -> float | None:
        return None if self.total == 0 else self.capable / self.total


@dataclass(frozen=True, slots=True)
class Coverage:
    staff_persons: int
    single_account_persons: int
    multiplicity_coverage: float | None
    apps_in_use: tuple[str, ...]  # catalogue keys; unknown apps as "unknown:<appId>"
    single_login_apps: tuple[str, ...]
    unknown_apps: tuple[str, ...]  # appIds
    app_coverage: float | None
    weighted_app_coverage: float | None
    app_users: Mapping[str, int]  # app → users of the app
    headline_persons: int
    headline: float | None


@dataclass
class RegionTruth:
    as_of: datetime
    mfa: dict[tuple[str, str, str], MfaRow] = field(default_factory=dict)
    mfa_other: dict[str, dict[str, int]] = field(default_factory=dict)  # tenant → counts
    premium: dict[str, bool] = field(default_factory=dict)
    source: dict[str, str] = field(default_factory=dict)  # tenant → "report" | "per_user_scan"
    school: dict[tuple[str, str], Coverage] = field(default_factory=dict)
    municipality: dict[str, Coverage] = field(default_factory=dict)
    region: Coverage | None = None


def _ratio(a: int, b: int) -> float | None:
    return None if b == 0 else a / b


def _transitive_users(t: Tenant, gid: str) -> set[str]:
    users: set[str] = set()
    seen = {gid}
    todo = [gid]
    while todo:
        g = t.groups.get(todo.pop())
        if g is None:
            continue
        for mid in g.members:
            if mid in t.users:
                users.add(mid)
            elif mid in t.groups and mid not in seen:
                seen.add(mid)
                todo.append(mid)
    return users


def _union(t: Tenant, gids: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for g in gids:
        out |= _transitive_users(t, str(g).lower())
    return out


def _row_flags(t: Tenant, u: User, as_of: datetime) -> int:
    """Registration flags as idops reads them: the (lagging) report's row, 0 when there is none; in a
    non-premium tenant the per-user methods (capable = registered)."""
    if not t.premium:
        return scanned_flags(u.reg_flags, u.reg_methods)
    seen_at = as_of - t.report_lag
    if u.created_date_time > seen_at:
        return 0
    if u.reg_changed_at is not None and u.reg_changed_at > seen_at:
        return u.reg_prev_flags
    return u.reg_flags


def _base_reason(u: User, excluded: set[str]) -> str | None:
    if not u.account_enabled:
        return "disabled"
    if u.user_type.lower() == "guest":
        return "guest"
    if u.id in excluded:
        return "excluded_group"
    return None


def _sign_in(app: Mapping[str, Any], muni: str) -> str:
    return str((app.get("sign_in_overrides") or {}).get(muni, app["sign_in"]))


def _single_login(app: Mapping[str, Any], muni: Mapping[str, Any]) -> bool:
    mode = _sign_in(app, str(muni["key"]))
    return mode == "entra-sso" or (mode == "mpassid" and bool(muni.get("mpassid_home_is_entra")))


def compute_truth(
    state: EmulatorState,
    region: Mapping[str, Any],
    apps: Mapping[str, Any],
    *,
    as_of: datetime,
    usage: Mapping[str, Mapping[str, set[str]]],
    global_exclusion_group_ids: Sequence[str] = (),
    fallback_attribute: str = "mail",
) -> RegionTruth:
    """MFA rows and single-login coverage of ``state`` at ``as_of`` (caller holds ``state.lock``)."""
    truth = RegionTruth(as_of=as_of)
    catalogue = list(apps.get("apps", []))
    munis_by_tenant: dict[str, list[Mapping[str, Any]]] = {}
    for m in region["municipalities"]:
        munis_by_tenant.setdefault(str(m["tenant_id"]).lower(), []).append(m)

    def person_key(u: User) -> str:
        if u.employee_id:
            return u.employee_id
        fn = USER_PROPS.get(fallback_attribute)
        v = fn(u) if fn else (u.ext or {}).get(fallback_attribute)
        return str(v) if v else u.id

    enabled_accounts: dict[str, int] = {}
    for t in state.tenants.values():
        if t.tenant_id not in munis_by_tenant:
            continue
        for u in t.users.values():
            k = person_key(u)
            enabled_accounts[k] = enabled_accounts.get(k, 0) + (1 if u.account_enabled else 0)

    school_persons: dict[tuple[str, str], set[str]] = {}
    school_app_users: dict[tuple[str, str], dict[str, set[str]]] = {}
    muni_by_key = {str(m["key"]): m for m in region["municipalities"]}

    for tid, munis in munis_by_tenant.items():
        if tid not in state.tenants:
            continue
        t = state.tenants[tid]
        truth.premium[tid] = t.premium
        truth.source[tid] = "report" if t.premium else "per_user_scan"
        global_excl = _union(t, global_exclusion_group_ids)
        in_school: set[str] = set()
        tenant_excl = set(global_excl)
        for m in munis:
            muni = str(m["key"])
            excl = global_excl | _union(t, m.get("exclusion_group_ids", []))
            tenant_excl |= excl
            for s in m["schools"]:
                school = str(s["key"])
                staff = _union(t, s.get("staff_group_ids", []))
                pupils = _union(t, s.get("pupil_group_ids", []))
                subs = _union(t, s.get("substitute_group_ids", []))
                roles = ("staff", "pupil", "substitute")
                rows: dict[str, list[int]] = {r: [0, 0, 0, 0] for r in roles}
                excluded: dict[str, dict[str, int]] = {r: dict.fromkeys(REASONS, 0) for r in roles}
                persons: set[str] = set()
                app_users: dict[str, set[str]] = {}
                for uid in staff | pupils | subs:
                    u = t.users[uid]
                    in_school.add(uid)
                    role = "substitute" if uid in subs else "staff" if uid in staff else "pupil"
                    row = rows[role]
                    reason = _base_reason(u, excl)
                    if (
                        reason is None
                        and role == "substitute"
                        and u.employee_hire_date is not None
                        and u.employee_hire_date > as_of
                    ):
                        reason = "not_started"
                    if reason is not None:
                        excluded[role][reason] += 1
                        continue
                    flags = _row_flags(t, u, as_of)
                    row[0] += 1
                    row[1] += 1 if flags & MFA_REGISTERED else 0
                    row[2] += 1 if flags & MFA_CAPABLE else 0
                    row[3] += 1 if flags & PASSWORDLESS else 0
                    if role == "staff":
                        p = person_key(u)
                        persons.add(p)
                        for aid in usage.get(tid, {}).get(uid, ()):
                            app_users.setdefault(aid, set()).add(p)
                for role, (tot, reg, cap, pl) in rows.items():
                    truth.mfa[(muni, school, role)] = MfaRow(
                        muni, school, role, tot, reg, cap, pl, dict(excluded[role])
                    )
                school_persons[(muni, school)] = persons
                school_app_users[(muni, school)] = app_users
        other = {
            "total": 0,
            "registered": 0,
            "capable": 0,
            "passwordless_capable": 0,
            **{f"excluded_{r}": 0 for r in REASONS[:3]},
        }
        for uid, u in t.users.items():
            if uid in in_school:
                continue
            reason = _base_reason(u, tenant_excl)
            if reason is not None:
                other[f"excluded_{reason}"] += 1
                continue
            flags = _row_flags(t, u, as_of)
            other["total"] += 1
            other["registered"] += 1 if flags & MFA_REGISTERED else 0
            other["capable"] += 1 if flags & MFA_CAPABLE else 0
            other["passwordless_capable"] += 1 if flags & PASSWORDLESS else 0
        truth.mfa_other[tid] = other

    # --- coverage -------------------------------------------------------------------------
    app_of_id = {str(a).lower(): app for app in catalogue for a in app.get("app_ids", [])}

    def users_by_app(key: tuple[str, str]) -> dict[str, set[str]]:
        """app key (or unknown:<appId>) → persons using it, for every app in use at the school."""
        muni = key[0]
        persons = school_persons[key]
        out: dict[str, set[str]] = {}
        for app in catalogue:
            if "staff" not in app.get("roles", []) or (app.get("municipalities") and muni not in app["municipalities"]):
                continue
            ids = [str(a).lower() for a in app.get("app_ids", [])]
            if not ids:
                out[str(app["key"])] = set(persons)
            else:
                out[str(app["key"])] = set().union(*(school_app_users[key].get(a, set()) for a in ids))
        for aid, users in school_app_users[key].items():
            if aid not in app_of_id:
                out[f"unknown:{aid}"] = set(users)
        return out

    def single(app_key: str, muni: str) -> bool:
        if app_key.startswith("unknown:"):
            return True
        app = next(a for a in catalogue if a["key"] == app_key)
        return _single_login(app, muni_by_key[muni])

    def muni_clean(muni: str) -> bool:
        return all(
            single(str(a["key"]), muni)
            for a in catalogue
            if "staff" in a.get("roles", []) and (not a.get("municipalities") or muni in a["municipalities"])
        )

    def build(persons: set[str], pairs: dict[tuple[str, str], set[str]], clean: set[str], label: Any) -> Coverage:
        """``pairs``: (municipality, app key) → users. ``clean``: persons eligible for the headline."""
        one = {p for p in persons if enabled_accounts.get(p, 0) == 1}
        in_use = sorted(pairs)
        singles = [k for k in in_use if single(k[1], k[0])]
        fmt = (lambda k: k[1]) if label == "app" else (lambda k: f"{k[0]}/{k[1]}")
        return Coverage(
            staff_persons=len(persons),
            single_account_persons=len(one),
            multiplicity_coverage=_ratio(len(one), len(persons)),
            apps_in_use=tuple(fmt(k) for k in in_use),
            single_login_apps=tuple(fmt(k) for k in singles),
            unknown_apps=tuple(sorted({k[1][8:] for k in in_use if k[1].startswith("unknown:")})),
            app_coverage=_ratio(len(singles), len(in_use)),
            weighted_app_coverage=_ratio(sum(len(pairs[k]) for k in singles), sum(len(pairs[k]) for k in in_use)),
            app_users={fmt(k): len(v) for k, v in pairs.items()},
            headline_persons=len(one & clean),
            headline=_ratio(len(one & clean), len(persons)),
        )

    clean_munis = {m: muni_clean(m) for m in muni_by_key}
    region_pairs: dict[tuple[str, str], set[str]] = {}
    region_persons: set[str] = set()
    person_munis: dict[str, set[str]] = {}
    for m in region["municipalities"]:
        muni = str(m["key"])
        m_pairs: dict[tuple[str, str], set[str]] = {}
        m_persons: set[str] = set()
        for s in m["schools"]:
            key = (muni, str(s["key"]))
            if key not in school_persons:
                continue
            persons = school_persons[key]
            pairs = {(muni, a): u for a, u in users_by_app(key).items()}
            truth.school[key] = build(persons, pairs, persons if clean_munis[muni] else set(), "app")
            m_persons |= persons
            for pk, pv in pairs.items():
                m_pairs.setdefault(pk, set()).update(pv)
        truth.municipality[muni] = build(m_persons, m_pairs, m_persons if clean_munis[muni] else set(), "app")
        region_persons |= m_persons
        for p in m_persons:
            person_munis.setdefault(p, set()).add(muni)
        for pk, pv in m_pairs.items():
            region_pairs.setdefault(pk, set()).update(pv)
    clean_persons = {p for p in region_persons if all(clean_munis[m] for m in person_munis[p])}
    truth.region = build(region_persons, region_pairs, clean_persons, "pair")
    return truth
