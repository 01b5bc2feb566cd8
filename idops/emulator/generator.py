"""Deterministic generator of a realistic school region, with ground truth (``truth.py``).

``generate_region(region, apps, seed=…, users_per_tenant=…, now=…)`` takes the parsed TOML dicts of
``config/region.toml`` and ``config/apps.toml`` and fills an ``EmulatorState``:

- per school: staff (12 %), pupils (~85 %), substitutes (3 %; half with a future
  ``employeeHireDate``) in the configured groups; ~20 % of staff sit in a nested "opettajat" group
  inside the staff group, so only *transitive* membership finds them;
- uneven MFA registration by school and role, disabled accounts, guests, shared/room mailboxes,
  service and break-glass accounts in the municipality's exclusion group (a few also in staff groups);
- staff persons with accounts in two tenants (same ``employeeId``; second enabled or disabled);
- SKUs with seats, service principals for catalogued and unknown apps, TAP policy defaults;
- sign-ins over ``days_of_signins`` days, generated lazily one day at a time from a seeded RNG, so
  100 000 users × 30 days costs no memory until read. Tenants flagged non-premium have none.

**MFA on a sign-in** is represented with v1.0 fields only (``authenticationRequirement`` is beta):
in tenants with Conditional Access a sign-in satisfied MFA iff ``conditionalAccessStatus == "success"``
and an entry of ``appliedConditionalAccessPolicies`` has ``"Mfa"`` in ``enforcedGrantControls`` and
``result == "success"``; otherwise that policy is listed with ``result == "notApplied"``. In tenants
on security defaults (``security_defaults_tenants``) no policy is listed at all, MFA or not: v1.0 does
not tell, and ``SignInRecord.mfa`` keeps the truth.

Every (account, app) pair an account uses has one guaranteed sign-in inside the last
``min(days_of_signins, 30)`` days; extra sign-ins only repeat those pairs. So "who used which app in
the window" is known without reading the log, which keeps the ground truth cheap at 100k users.
"""

from __future__ import annotations

import gc
import random
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from idops.emulator import names
from idops.emulator.state import (
    IS_ADMIN,
    MFA_CAPABLE,
    MFA_REGISTERED,
    PASSWORDLESS,
    SSPR_REGISTERED,
    EmulatorState,
    Group,
    SignInRecord,
    Tenant,
    User,
)
from idops.emulator.truth import RegionTruth, compute_truth

UNKNOWN_APPS = (
    ("0e5a6b1c-3f2d-4b8e-9a61-5c1d2e3f4a01", "Quizlet"),
    ("0e5a6b1c-3f2d-4b8e-9a61-5c1d2e3f4a02", "Canva for Education"),
    ("0e5a6b1c-3f2d-4b8e-9a61-5c1d2e3f4a03", "GeoGebra Classroom"),
    ("0e5a6b1c-3f2d-4b8e-9a61-5c1d2e3f4a04", "Flinga"),
)
_SSO_MODE = {"entra-sso": "oidc", "mpassid": None, "separate-account": "password"}
_METHODS_STRONG = (
    ("microsoftAuthenticatorPush", "mobilePhone"),
    ("microsoftAuthenticatorPush", "softwareOneTimePasscode"),
    ("mobilePhone",),
    ("fido2", "microsoftAuthenticatorPush"),
    ("windowsHelloForBusiness", "microsoftAuthenticatorPush"),
)
_PASSWORDLESS_METHODS = (("fido2", "microsoftAuthenticatorPush"), ("windowsHelloForBusiness", "fido2"))

# actor: (user, ((app_index, guaranteed_day), ...), daily rate, probability a sign-in satisfies MFA)
Actor = tuple[User, tuple[tuple[int, int], ...], float, float]


class GeneratedSignIns:
    """``SignInSource`` over actors; a day is rebuilt from ``Random(f"{seed}:{tenant}:{day}")`` on demand."""

    def __init__(
        self,
        seed: int,
        tenant_index: int,
        end: datetime,
        days: int,
        actors: list[Actor],
        apps: Sequence[tuple[str, str]],
        conditional_access: bool = True,
    ) -> None:
        self._seed, self._ti, self._end, self._days = seed, tenant_index, end, days
        self.conditional_access = conditional_access
        self.actors = actors
        self.apps = apps
        self._cache: OrderedDict[int, list[SignInRecord]] = OrderedDict()

    def day_count(self) -> int:
        return self._days

    def day_bounds(self, day: int) -> tuple[datetime, datetime]:
        return self._end - timedelta(days=day + 1), self._end - timedelta(days=day)

    def day(self, day: int) -> list[SignInRecord]:
        cached = self._cache.get(day)
        if cached is not None:
            self._cache.move_to_end(day)
            return cached
        rng = random.Random(f"{self._seed}:{self._ti}:{day}")
        start = self._end - timedelta(days=day + 1)
        out: list[SignInRecord] = []
        apps = self.apps
        n = 0
        rand = rng.random
        for user, pairs, rate, mfa_p in self.actors:
            if not pairs:
                continue
            k = int(rate) + (1 if rand() < rate - int(rate) else 0)
            picks = [a for a, g in pairs if g == day]
            for _ in range(k):
                picks.append(pairs[int(rand() * len(pairs))][0])
            for a in picks:
                n += 1
                app_id, app_name = apps[a]
                out.append(
                    SignInRecord(
                        id=f"5191{self._ti:04x}-{day:04x}-4000-8000-{n:012x}",
                        created=start + timedelta(seconds=int(rand() * 86399)),
                        user_id=user.id,
                        user_principal_name=user.user_principal_name.lower(),
                        user_display_name=user.display_name,
                        app_id=app_id,
                        app_display_name=app_name,
                        mfa=rand() < mfa_p,
                        error_code=50126 if rand() < 0.01 else 0,
                        conditional_access=self.conditional_access,
                    )
                )
        out.sort(key=lambda r: r.created, reverse=True)
        self._cache[day] = out
        while len(self._cache) > 4:
            self._cache.popitem(last=False)
        return out


@dataclass
class GeneratedRegion:
    """The generated state plus ground truth; ``advance_registration`` evolves MFA day by day."""

    state: EmulatorState
    region: Mapping[str, Any]
    apps: Mapping[str, Any]
    now: datetime
    seed: int
    global_exclusion_group_ids: tuple[str, ...] = ()
    fallback_attribute: str = "mail"
    # tenant → user id → app ids used in the window (by construction of the sign-in log)
    usage: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    tenant_ids: list[str] = field(default_factory=list)

    _truth: RegionTruth | None = field(default=None, repr=False)

    @property
    def truth(self) -> RegionTruth:
        """Ground truth at ``now`` of the state as generated (computed on first use, then cached)."""
        if self._truth is None:
            self._truth = self.compute_truth()
        return self._truth

    def token(self, tenant_id: str) -> str:
        return f"emu.{tenant_id}"

    def compute_truth(self, as_of: datetime | None = None) -> RegionTruth:
        """Ground truth of the *current* state (after tests mutated it), as the report shows at ``as_of``."""
        was_enabled = gc.isenabled()
        gc.disable()  # large set building; see generate_region
        try:
            with self.state.lock:
                return compute_truth(
                    self.state,
                    self.region,
                    self.apps,
                    as_of=as_of or self.now,
                    usage=self.usage,
                    global_exclusion_group_ids=self.global_exclusion_group_ids,
                    fallback_attribute=self.fallback_attribute,
                )
        finally:
            if was_enabled:
                gc.enable()

    def advance_registration(self, day: int, fraction: float = 0.05) -> RegionTruth:
        """Register MFA for ``fraction`` of unregistered enabled members on ``now + day`` and return the
        truth as of that moment. Deterministic in (seed, day); call with increasing ``day``."""
        at = self.now + timedelta(days=day)
        rng = random.Random(f"{self.seed}:registration:{day}")
        with self.state.lock:
            for tid in self.tenant_ids:
                t = self.state.tenants[tid]
                for u in t.users.values():
                    if (
                        u.account_enabled
                        and not u.reg_flags & MFA_REGISTERED
                        and u.user_type == "Member"
                        and rng.random() < fraction
                    ):
                        u.reg_prev_flags, u.reg_prev_methods = u.reg_flags, u.reg_methods
                        u.reg_flags = u.reg_flags | MFA_REGISTERED | MFA_CAPABLE | SSPR_REGISTERED
                        u.reg_methods = _METHODS_STRONG[0]
                        u.reg_changed_at = at
        return self.compute_truth(as_of=at)


def _uuid(rng: random.Random) -> str:
    """A version-4-shaped GUID from the seeded RNG (``uuid.UUID`` is 3x slower at 700k users)."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


class _Builder:
    """Mutable generation context (keeps ``generate_region`` readable)."""

    def __init__(self, state: EmulatorState, seed: int, now: datetime, days: int, rate: float) -> None:
        self.state = state
        self.rng = random.Random(seed)
        self.now = now
        self.days = days
        self.window = max(1, min(days, 30))
        self.rate = rate
        self.person_no = 100000
        self.used_locals: dict[str, int] = {}
        self.lic: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {}
        self.pools = [(names.FINNISH_GIVEN, names.FINNISH_SUR)] * 14 + list(names.OTHER)

    def person_name(self) -> tuple[str, str]:
        given, sur = self.pools[int(self.rng.random() * len(self.pools))]
        return given[int(self.rng.random() * len(given))], sur[int(self.rng.random() * len(sur))]

    def upn(self, given: str, sur: str, domain: str) -> str:
        base = f"{names.upn_local(given, sur)}@{domain}"
        n = self.used_locals.get(base, 0)
        self.used_locals[base] = n + 1
        if n == 0:
            return base
        local, _, dom = base.partition("@")
        return f"{local}{n + 1}@{dom}"

    def licence(self, sku: str | None) -> tuple[tuple[str, tuple[str, ...]], ...]:
        if sku is None:
            return ()
        lic = self.lic.get(sku)
        if lic is None:
            lic = self.lic[sku] = ((sku, ()),)
        return lic

    def registration(self, u: User, rate: float, pl_rate: float) -> None:
        r = self.rng.random
        flags = 0
        if r() < rate:
            flags = MFA_REGISTERED | SSPR_REGISTERED
            if r() < 0.95:
                flags |= MFA_CAPABLE
                if r() < pl_rate:
                    flags |= PASSWORDLESS
        elif r() < 0.15:
            flags = SSPR_REGISTERED
        u.reg_flags = flags
        if flags & PASSWORDLESS:
            u.reg_methods = _PASSWORDLESS_METHODS[int(r() * len(_PASSWORDLESS_METHODS))]
        elif flags & MFA_REGISTERED:
            u.reg_methods = _METHODS_STRONG[int(r() * 3)]
        elif flags & SSPR_REGISTERED:
            u.reg_methods = ("email",)

    def user(
        self,
        t: Tenant,
        domain: str,
        *,
        kind: str,
        sku: str | None = None,
        enabled: bool = True,
        given: str | None = None,
        sur: str | None = None,
        upn: str | None = None,
        employee_id: str | None = None,
    ) -> User:
        if given is None or sur is None:
            given, sur = self.person_name()
        upn = upn or self.upn(given, sur, domain)
        u = User(
            id=_uuid(self.rng),
            user_principal_name=upn,
            display_name=f"{given} {sur}",
            account_enabled=enabled,
            given_name=given,
            surname=sur,
            mail_nickname=upn.split("@")[0],
            mail=upn,
            employee_id=employee_id,
            employee_type=kind,
            usage_location="FI",
            licenses=self.licence(sku),
            created_date_time=self.now - timedelta(days=30 + int(self.rng.random() * 1500)),
            job_title={"Employee": "Opettaja", "Student": "Oppilas", "Substitute": "Sijainen"}.get(kind),
        )
        t.users[u.id] = u
        t.upn_index[upn.lower()] = u.id
        return u

    def next_person(self) -> str:
        self.person_no += 1
        return str(self.person_no)

    def apps_for(self, candidates: Sequence[tuple[int, float]]) -> tuple[tuple[int, int], ...]:
        r = self.rng.random
        return tuple((a, int(r() * self.window)) for a, p in candidates if r() < p)


def _tenants(region: Mapping[str, Any]) -> OrderedDict[str, list[Mapping[str, Any]]]:
    out: OrderedDict[str, list[Mapping[str, Any]]] = OrderedDict()
    for m in region["municipalities"]:
        out.setdefault(str(m["tenant_id"]).lower(), []).append(m)
    return out


def _applies(app: Mapping[str, Any], muni: str, role: str) -> bool:
    return role in app.get("roles", []) and (not app.get("municipalities") or muni in app["municipalities"])


def generate_region(
    region: Mapping[str, Any],
    apps: Mapping[str, Any],
    *,
    seed: int,
    users_per_tenant: int,
    now: datetime,
    days_of_signins: int = 30,
    signins_per_user_per_day: float = 0.6,
    non_premium_tenants: Sequence[str] | None = None,
    global_exclusion_group_ids: Sequence[str] = (),
    fallback_attribute: str = "mail",
    report_lag: timedelta = timedelta(0),
    eager_truth: bool = True,
    security_defaults_tenants: Sequence[str] = (),
) -> GeneratedRegion:
    """Fill a new ``EmulatorState`` from the region config; deterministic in ``seed``.

    ``non_premium_tenants`` defaults to the last tenant of the config (no sign-ins, reports 403).
    ``security_defaults_tenants`` use no Conditional Access: their sign-ins do not show MFA on v1.0.
    ``eager_truth=False`` skips the ground truth until ``.truth`` is first read (the demo server
    needs none); read it before mutating the state, or use ``compute_truth()`` afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()  # 700k new objects would trigger dozens of full collections: 2x slower
    try:
        return _generate(
            region,
            apps,
            seed,
            users_per_tenant,
            now,
            days_of_signins,
            signins_per_user_per_day,
            non_premium_tenants,
            global_exclusion_group_ids,
            fallback_attribute,
            report_lag,
            eager_truth,
            frozenset(t.lower() for t in security_defaults_tenants),
        )
    finally:
        if was_enabled:
            gc.enable()


def _generate(
    region: Mapping[str, Any],
    apps: Mapping[str, Any],
    seed: int,
    users_per_tenant: int,
    now: datetime,
    days_of_signins: int,
    signins_per_user_per_day: float,
    non_premium_tenants: Sequence[str] | None,
    global_exclusion_group_ids: Sequence[str],
    fallback_attribute: str,
    report_lag: timedelta,
    eager_truth: bool,
    security_defaults: frozenset[str] = frozenset(),
) -> GeneratedRegion:
    state = EmulatorState()
    b = _Builder(state, seed, now, days_of_signins, signins_per_user_per_day)
    rng = b.rng
    tenants = _tenants(region)
    if non_premium_tenants is None:
        non_premium_tenants = [next(reversed(tenants))] if len(tenants) > 1 else []
    non_premium = {t.lower() for t in non_premium_tenants}
    catalogue = list(apps.get("apps", []))
    app_table: list[tuple[str, str]] = []  # index → (appId, display name)
    for app in catalogue:
        for aid in app.get("app_ids", []):
            app_table.append((str(aid).lower(), str(app["name"])))
    unknown_base = len(app_table)
    app_table += list(UNKNOWN_APPS)
    popularity = {i: (0.97 if i == 0 else 0.25 + 0.6 * rng.random()) for i in range(len(app_table))}
    app_index = {aid: i for i, (aid, _) in enumerate(app_table)}

    staff_accounts: list[tuple[str, User]] = []  # (tenant id, user) with an employeeId
    tenant_list = list(tenants.items())
    school_slots: dict[str, list[tuple[Mapping[str, Any], Mapping[str, Any]]]] = {}
    actors: dict[str, list[Actor]] = {tid: [] for tid in tenants}
    sku_seen: dict[str, set[str]] = {}

    def candidates(muni: str, role: str) -> list[tuple[int, float]]:
        out: list[tuple[int, float]] = []
        for app in catalogue:
            if _applies(app, muni, role):
                out += [
                    (app_index[str(a).lower()], popularity[app_index[str(a).lower()]]) for a in app.get("app_ids", [])
                ]
        if role == "staff":
            out += [(unknown_base + i, 0.06) for i in range(len(UNKNOWN_APPS))]
        return out

    for tid, munis in tenant_list:
        domains = [f"edu.{m['key']}.fi" for m in munis] + [str(m["upn_domain"]) for m in munis]
        domains += [str(m["notification_sender"]).split("@")[1] for m in munis if m.get("notification_sender")]
        t = state.add_tenant(tid, list(dict.fromkeys(domains)), premium=tid not in non_premium)
        t.report_lag = report_lag
        schools = [(m, s) for m in munis for s in m["schools"]]
        school_slots[tid] = schools
        weights = [0.5 + rng.random() for _ in schools]
        n_other = max(6, users_per_tenant * 3 // 100)
        budget = max(len(schools) * 6, users_per_tenant - n_other)
        counts = [max(6, int(budget * w / sum(weights))) for w in weights]
        sku_seen[tid] = set()

        excl: dict[str, Group] = {}
        for m in munis:
            for gid in m.get("exclusion_group_ids", []):
                excl[m["key"]] = state.add_group(tid, f"{m['name']}: idops-poissuljetut", id=str(gid).lower())
            admins = m.get("it_admins") or {}
            for gid in admins.get("group_ids", []):
                state.add_group(tid, f"{m['name']}: IT-ylläpito", id=str(gid).lower())
            for oid in admins.get("object_ids", []):
                given, sur = b.person_name()
                u = b.user(
                    t,
                    f"edu.{m['key']}.fi",
                    kind="Employee",
                    given=given,
                    sur=sur,
                    employee_id=b.next_person(),
                )
                t.unindex_user(u)
                u.id = str(oid).lower()
                t.index_user(u)
                u.reg_flags, u.reg_methods = (
                    MFA_REGISTERED | MFA_CAPABLE | SSPR_REGISTERED | IS_ADMIN,
                    _METHODS_STRONG[3],
                )
                for gid in admins.get("group_ids", []):
                    state.add_member(tid, str(gid).lower(), u.id)

        for (m, s), n in zip(schools, counts, strict=True):
            muni, domain = str(m["key"]), f"edu.{m['key']}.fi"
            sku = str(s["licence_sku_ids"][0]).lower() if s.get("licence_sku_ids") else None
            if sku:
                sku_seen[tid].add(sku)
            staff_g = state.add_group(tid, f"{s['name']}: henkilökunta", id=str(s["staff_group_ids"][0]).lower())
            nested = state.add_group(tid, f"{s['name']}: opettajat")
            staff_g.members[nested.id] = None
            pupil_g = (
                state.add_group(tid, f"{s['name']}: oppilaat", id=str(s["pupil_group_ids"][0]).lower())
                if s.get("pupil_group_ids")
                else None
            )
            sub_g = (
                state.add_group(tid, f"{s['name']}: sijaiset", id=str(s["substitute_group_ids"][0]).lower())
                if s.get("substitute_group_ids")
                else None
            )
            for gid in (s.get("principals") or {}).get("group_ids", []):
                state.add_group(tid, f"{s['name']}: rehtorit", id=str(gid).lower())
            staff_rate, pupil_rate, sub_rate = (
                0.55 + 0.43 * rng.random(),
                0.1 + 0.6 * rng.random(),
                0.2 + 0.4 * rng.random(),
            )
            n_staff, n_sub = max(3, n * 12 // 100), max(1, n * 3 // 100) if sub_g else 0
            n_pupil = max(0, n - n_staff - n_sub) if pupil_g else 0
            staff_apps, pupil_apps = candidates(muni, "staff"), candidates(muni, "pupil")
            premium = tid not in non_premium
            principal_ids = [str(x).lower() for x in (s.get("principals") or {}).get("object_ids", [])]
            for i in range(n_staff):
                r = rng.random()
                guest = r < 0.01
                eid = None if (guest or rng.random() < 0.05) else b.next_person()
                u = b.user(t, domain, kind="Employee", sku=sku, enabled=rng.random() >= 0.03, employee_id=eid)
                if i < len(principal_ids):
                    t.unindex_user(u)
                    u.id = principal_ids[i]
                    t.index_user(u)
                    u.job_title = "Rehtori"
                if guest:
                    t.unindex_user(u)
                    u.user_type, u.mail = "Guest", f"{u.mail_nickname}@gmail.com"
                    u.user_principal_name = f"{u.mail_nickname}_gmail.com#EXT#@{domain}"
                    t.index_user(u)
                b.registration(u, staff_rate, 0.25)
                (nested if rng.random() < 0.2 else staff_g).members[u.id] = None
                if eid:
                    staff_accounts.append((tid, u))
                if premium and u.account_enabled and rng.random() < 0.9:
                    actors[tid].append((u, b.apps_for(staff_apps), b.rate, 0.9 if u.reg_flags & MFA_CAPABLE else 0.0))
            for _ in range(n_pupil):
                u = b.user(t, domain, kind="Student", sku=sku, enabled=rng.random() >= 0.02)
                b.registration(u, pupil_rate, 0.05)
                pupil_g.members[u.id] = None  # type: ignore[union-attr]
                if premium and u.account_enabled and rng.random() < 0.7:
                    actors[tid].append(
                        (u, b.apps_for(pupil_apps), b.rate / 2, 0.7 if u.reg_flags & MFA_CAPABLE else 0.0)
                    )
            for _ in range(n_sub):
                u = b.user(t, str(m["upn_domain"]), kind="Substitute", sku=sku)
                started = rng.random() < 0.5
                u.employee_hire_date = (
                    now - timedelta(days=1 + int(rng.random() * 60))
                    if started
                    else now + timedelta(days=1 + int(rng.random() * 30))
                )
                u.employee_id = b.next_person()
                b.registration(u, sub_rate, 0.0)
                sub_g.members[u.id] = None  # type: ignore[union-attr]
            # a shared mailbox that sits in the staff group but is excluded by the exclusion group
            if muni in excl:
                u = b.user(t, domain, kind="Shared", given="Opettajainhuone", sur=s["key"])
                u.display_name = f"{s['name']} opettajainhuone (jaettu)"
                staff_g.members[u.id] = None
                excl[muni].members[u.id] = None

        # tenant-level "other" accounts: mailboxes, rooms, service and break-glass accounts, guests
        m0 = munis[0]
        dom0 = f"edu.{m0['key']}.fi"
        for i in range(n_other):
            kind = ("Shared", "Room", "Service", "BreakGlass", "Guest", "Employee")[i % 6]
            m = munis[i % len(munis)]
            u = b.user(t, f"edu.{m['key']}.fi", kind=kind, given=kind.lower(), sur=f"{m['key']}{i}")
            if kind == "Guest":
                u.user_type = "Guest"
            elif kind == "Employee":
                u.account_enabled = rng.random() < 0.5  # leavers and admin staff outside schools
                u.employee_id = b.next_person()
            elif m["key"] in excl:
                excl[m["key"]].members[u.id] = None
        for m in munis:
            sender = m.get("notification_sender")
            if sender and str(sender).lower() not in t.upn_index:
                u = b.user(t, dom0, kind="Shared", given="idops", sur="noreply", upn=str(sender))
                u.display_name = f"idops ({m['name']})"
                if m["key"] in excl:
                    excl[m["key"]].members[u.id] = None

    # people with accounts in two tenants: same employeeId, second enabled or disabled
    if len(tenant_list) > 1:
        for tid, u in staff_accounts:
            if not u.account_enabled or rng.random() >= 0.04:
                continue
            other_tid = tenant_list[int(rng.random() * len(tenant_list))][0]
            if other_tid == tid:
                continue
            t2 = state.tenants[other_tid]
            m2, s2 = school_slots[other_tid][int(rng.random() * len(school_slots[other_tid]))]
            assert u.given_name is not None
            assert u.surname is not None
            u2 = b.user(
                t2,
                f"edu.{m2['key']}.fi",
                kind="Employee",
                given=u.given_name,
                sur=u.surname,
                employee_id=u.employee_id,
                enabled=rng.random() < 0.5,
            )
            b.registration(u2, 0.5, 0.1)
            if rng.random() < 0.6:
                state.tenants[other_tid].groups[str(s2["staff_group_ids"][0]).lower()].members[u2.id] = None
                if t2.premium and u2.account_enabled:
                    actors[other_tid].append((u2, b.apps_for(candidates(str(m2["key"]), "staff")), b.rate, 0.5))

    # SKUs, service principals, sign-in sources
    for ti, (tid, munis) in enumerate(tenant_list):
        t = state.tenants[tid]
        for sku in sorted(sku_seen[tid]):
            used = sum(1 for u in t.users.values() for s, _ in u.licenses if s == sku)
            state.add_sku(
                tid,
                sku,
                "M365EDU_A3_FACULTY" if ti % 2 else "STANDARDWOFFPACK_FACULTY",
                used + max(10, used // 20),
            )
        keys = {str(m["key"]) for m in munis}
        for app in catalogue:
            if app.get("municipalities") and not keys & set(app["municipalities"]):
                continue
            for aid in app.get("app_ids", []):
                state.add_service_principal(
                    tid, str(aid).lower(), str(app["name"]), _SSO_MODE.get(str(app.get("sign_in")))
                )
        for aid, name in UNKNOWN_APPS:
            state.add_service_principal(tid, aid, name, None)
        if t.premium and days_of_signins > 0:
            t.signin_source = GeneratedSignIns(
                seed, ti, now, days_of_signins, actors[tid], app_table, conditional_access=tid not in security_defaults
            )

    usage: dict[str, dict[str, set[str]]] = {}
    for tid, acts in actors.items():
        per_user: dict[str, set[str]] = {}
        for u, pairs, _, _ in acts:
            if pairs:
                per_user[u.id] = {app_table[a][0] for a, _ in pairs}
        usage[tid] = per_user
    gen = GeneratedRegion(
        state=state,
        region=region,
        apps=apps,
        now=now,
        seed=seed,
        global_exclusion_group_ids=tuple(g.lower() for g in global_exclusion_group_ids),
        fallback_attribute=fallback_attribute,
        usage=usage,
        tenant_ids=list(tenants),
    )
    if eager_truth:
        gen._truth = gen.compute_truth()
    return gen
