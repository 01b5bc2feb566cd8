"""The single-login numbers, computed from plain in-memory inputs (no I/O, no ORM).

Rules: docs/definitions.md, "Single-login coverage". The service feeds this module from the
directory mirror and the sign-in aggregate; tests feed it hand-built data. Persons are held as
small ints and sets of ints so a region of 100 000+ accounts stays small.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from idops.config.apps import App, AppCatalogue
from idops.config.region import Municipality, RegionConfig

FallbackAttribute = Literal["mail", "userPrincipalName", "none"]
# reasons 1–3 of the classification; ``not_started`` concerns substitutes only
STAFF_EXCLUDING = frozenset({"disabled", "guest", "excluded_group"})


@dataclass(frozen=True, slots=True)
class Account:
    """One directory user of one tenant, as the mirror holds it."""

    tenant_id: str
    user_id: str
    display_name: str
    user_principal_name: str
    account_enabled: bool
    employee_id: str | None = None
    mail: str | None = None


@dataclass(frozen=True, slots=True)
class Membership:
    """A user's role at one school (``role`` is staff / pupil / substitute) and why the user is left out
    of that school's numbers (``excluded_reason``, evaluated for the school; None = counted)."""

    tenant_id: str
    user_id: str
    municipality: str
    school: str
    role: str
    excluded_reason: str | None = None


@dataclass(frozen=True, slots=True)
class AppUse:
    """An account signed in (successfully) to an app inside the window."""

    tenant_id: str
    user_id: str
    app_id: str
    app_display_name: str = ""


def person_key(a: Account, fallback: FallbackAttribute) -> str:
    """employeeId when set, else the fallback attribute (compared case-insensitively), else the account id."""
    if a.employee_id and a.employee_id.strip():
        return a.employee_id.strip()
    if fallback == "mail" and a.mail and a.mail.strip():
        return a.mail.strip().lower()
    if fallback == "userPrincipalName" and a.user_principal_name:
        return a.user_principal_name.strip().lower()
    return f"{a.tenant_id}/{a.user_id}"


def is_single_login(catalogue: AppCatalogue, app: App, m: Municipality) -> bool:
    """``entra-sso``, or ``mpassid`` where the municipality's MPASSid home is its Entra tenant."""
    mode = catalogue.sign_in_for(app, m.key)
    return mode == "entra-sso" or (mode == "mpassid" and m.mpassid_home_is_entra)


def staff_apps(catalogue: AppCatalogue, m: Municipality) -> list[App]:
    """Catalogued apps the municipality's staff use: role ``staff`` and scoped to the municipality."""
    return [
        a
        for a in catalogue.apps
        if "staff" in a.roles and (not a.municipalities or m.key in a.municipalities)
    ]


def share(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


@dataclass(slots=True)
class _AppTally:
    key: str
    name: str
    app_ids: list[str]
    catalogued: bool
    sign_in: str
    single_login: bool
    users: set[int] = field(default_factory=set)
    all_staff: bool = False  # not observable in sign-ins: every staff person of the scope uses it


def _numbers(persons: set[int], enabled: list[int], headline_ok: list[bool], apps: Iterable[_AppTally],
             scope_persons: set[int]) -> dict[str, Any]:
    single = sum(1 for p in persons if enabled[p] == 1)
    head = sum(1 for p in persons if enabled[p] == 1 and headline_ok[p])
    apps_in_use = single_apps = users = single_users = 0
    for a in apps:
        n = len(scope_persons) if a.all_staff else len(a.users)
        apps_in_use += 1
        users += n
        if a.single_login:
            single_apps += 1
            single_users += n
    return _pack(len(persons), single, apps_in_use, single_apps, users, single_users, head)


def _pack(staff: int, single: int, apps: int, single_apps: int, users: int, single_users: int,
          head: int) -> dict[str, Any]:
    return {
        "staff_persons": staff,
        "single_account_persons": single,
        "multi_account_persons": staff - single,
        "account_coverage": share(single, staff),
        "apps_in_use": apps,
        "single_login_apps": single_apps,
        "app_coverage": share(single_apps, apps),
        "app_users": users,
        "single_login_app_users": single_users,
        "weighted_app_coverage": share(single_users, users),
        "headline_persons": head,
        "headline_share": share(head, staff),
    }


def _app_rows(apps: Iterable[_AppTally], scope_persons: set[int]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [
        {
            "key": a.key, "name": a.name, "app_ids": a.app_ids, "catalogued": a.catalogued,
            "sign_in": a.sign_in, "single_login": a.single_login,
            "users": len(scope_persons) if a.all_staff else len(a.users), "observable": not a.all_staff,
        }
        for a in apps
    ]
    rows.sort(key=lambda r: (-r["users"], r["name"].lower()))
    return rows


class Calculator:
    """Feed accounts, then staff memberships, then app use (each as a stream); then ask ``result``.

    Holds per account only its person index and per school sets of person indices, so the inputs can
    be streamed from the database without materialising them.
    """

    def __init__(
        self, region: RegionConfig, catalogue: AppCatalogue, fallback: FallbackAttribute = "mail"
    ) -> None:
        self.region = region
        self.catalogue = catalogue
        self.fallback = fallback
        self.munis = {m.key: m for m in region.municipalities}
        self.school_names = {(m.key, s.key): s.name for m in region.municipalities for s in m.schools}
        self.person_of: dict[str, int] = {}  # person key → index
        self.acct_person: dict[tuple[str, str], int] = {}
        self.acct_all: dict[tuple[str, str], Account] = {}
        self.enabled: list[int] = []
        self.staff_schools: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
        self.school_persons: dict[tuple[str, str], set[int]] = defaultdict(set)
        self.person_munis: dict[int, set[str]] = defaultdict(set)
        self.by_app_id = catalogue.by_app_id()
        self.used: dict[tuple[str, str], dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
        self.unknown_names: dict[str, str] = {}
        self.unknown_tenants: dict[str, set[str]] = defaultdict(set)

    def add_account(self, a: Account) -> None:
        """Every account of every tenant (any role): a person's logins are counted over all of them."""
        key = person_key(a, self.fallback)
        p = self.person_of.get(key)
        if p is None:
            p = self.person_of[key] = len(self.enabled)
            self.enabled.append(0)
        ref = (a.tenant_id, a.user_id)
        self.acct_person[ref] = p
        self.acct_all[ref] = a
        if a.account_enabled:
            self.enabled[p] += 1

    def add_membership(self, ms: Membership) -> None:
        """After all accounts. Non-staff and excluded memberships are ignored."""
        if ms.role != "staff" or ms.excluded_reason in STAFF_EXCLUDING:
            return
        ref = (ms.tenant_id, ms.user_id)
        school = (ms.municipality, ms.school)
        if school not in self.school_names or ref not in self.acct_person:
            return  # a school no longer configured, or a membership without its user row
        if school not in self.staff_schools[ref]:
            self.staff_schools[ref].append(school)
        p = self.acct_person[ref]
        self.school_persons[school].add(p)
        self.person_munis[p].add(ms.municipality)

    def add_use(self, u: AppUse) -> None:
        """After all memberships: an account's sign-in to an app counts at every school it is staff of."""
        schools = self.staff_schools.get((u.tenant_id, u.user_id))
        if not schools:
            return
        p = self.acct_person[(u.tenant_id, u.user_id)]
        aid = u.app_id.lower()
        if aid not in self.by_app_id:
            self.unknown_names.setdefault(aid, u.app_display_name or aid)
            self.unknown_tenants[aid].add(u.tenant_id)
        for school in schools:
            self.used[school][aid].add(p)

    def result(
        self,
        *,
        signins_available: Mapping[str, bool | None] | None = None,
        sso_modes: Mapping[tuple[str, str], str | None] | None = None,
    ) -> dict[str, Any]:
        """The report body (JSON-ready): region, municipalities, schools, apps, unknown apps, names.

        ``signins_available`` per tenant id (None = never read); ``sso_modes`` maps (tenant id, appId)
        to the service principal's ``preferredSingleSignOnMode``. Deterministic for equal inputs.
        """
        return _result(self, signins_available or {}, sso_modes or {})


def compute(
    region: RegionConfig,
    catalogue: AppCatalogue,
    accounts: Iterable[Account],
    memberships: Iterable[Membership],
    app_use: Iterable[AppUse],
    *,
    fallback: FallbackAttribute = "mail",
    signins_available: Mapping[str, bool | None] | None = None,
    sso_modes: Mapping[tuple[str, str], str | None] | None = None,
) -> dict[str, Any]:
    """All of ``Calculator`` in one call, for in-memory inputs."""
    calc = Calculator(region, catalogue, fallback)
    for a in accounts:
        calc.add_account(a)
    for ms in memberships:
        calc.add_membership(ms)
    for u in app_use:
        calc.add_use(u)
    return calc.result(signins_available=signins_available, sso_modes=sso_modes)


def _result(
    calc: Calculator,
    signins_available: Mapping[str, bool | None],
    sso_modes: Mapping[tuple[str, str], str | None],
) -> dict[str, Any]:
    region, catalogue, munis = calc.region, calc.catalogue, calc.munis
    school_names, enabled, by_app_id = calc.school_names, calc.enabled, calc.by_app_id
    school_persons, person_munis, used = calc.school_persons, calc.person_munis, calc.used
    unknown_names, unknown_tenants = calc.unknown_names, calc.unknown_tenants
    acct_person, acct_all, staff_schools = calc.acct_person, calc.acct_all, calc.staff_schools

    # which municipalities' staff use a catalogued separate-account app (config only) ---------------
    muni_apps: dict[str, list[App]] = {k: staff_apps(catalogue, m) for k, m in munis.items()}
    clean = {k: all(is_single_login(catalogue, a, munis[k]) for a in apps) for k, apps in muni_apps.items()}
    # region level: every municipality where the person is staff must be clean; school and
    # municipality levels look at their own municipality only (as the generator's ground truth)
    headline_ok = [False] * len(enabled)
    for p, ms_keys in person_munis.items():
        headline_ok[p] = all(clean[k] for k in ms_keys)
    all_ok = [True] * len(enabled)
    none_ok = [False] * len(enabled)

    # tallies per school and municipality -----------------------------------------------------------
    municipalities_out: list[dict[str, Any]] = []
    region_tot = [0, 0, 0, 0, 0, 0, 0]  # staff, single, apps, single apps, users, single users, head
    region_persons: set[int] = set()
    separate_rank: dict[str, dict[str, Any]] = {}
    unknown_rank: dict[str, dict[str, Any]] = {}
    for m in region.municipalities:
        ok = all_ok if clean[m.key] else none_ok
        m_persons: set[int] = set()
        m_tallies: dict[str, _AppTally] = {}
        schools_out = []
        for s in m.schools:
            school = (m.key, s.key)
            persons = school_persons.get(school, set())
            m_persons |= persons
            seen = used.get(school, {})
            tallies: list[_AppTally] = []
            for app in muni_apps[m.key]:
                t = _AppTally(app.key, app.name, list(app.app_ids), True, catalogue.sign_in_for(app, m.key),
                              is_single_login(catalogue, app, m), all_staff=not app.app_ids)
                for aid in app.app_ids:
                    t.users |= seen.get(aid, set())
                tallies.append(t)
            for aid in sorted(a for a in seen if a not in by_app_id):
                tallies.append(_AppTally(f"unknown:{aid}", unknown_names[aid], [aid], False, "unknown", True,
                                         set(seen[aid])))
            for t in tallies:
                mt = m_tallies.get(t.key)
                if mt is None:
                    m_tallies[t.key] = _AppTally(t.key, t.name, t.app_ids, t.catalogued, t.sign_in,
                                                 t.single_login, set(t.users), t.all_staff)
                else:
                    mt.users |= t.users
            schools_out.append({
                "path": f"{m.key}/{s.key}", "municipality": m.key, "school": s.key,
                "name": school_names[school],
                "numbers": _numbers(persons, enabled, ok, tallies, persons),
                "apps": _app_rows(tallies, persons),
            })
        numbers = _numbers(m_persons, enabled, ok, m_tallies.values(), m_persons)
        region_persons |= m_persons
        for i, k in enumerate(("apps_in_use", "single_login_apps", "app_users", "single_login_app_users")):
            region_tot[2 + i] += numbers[k]
        app_rows = _app_rows(m_tallies.values(), m_persons)
        separate = [r for r in app_rows if r["catalogued"] and not r["single_login"]]
        for r in separate:
            agg = separate_rank.setdefault(r["key"], {"key": r["key"], "name": r["name"], "users": 0,
                                                      "municipalities": []})
            agg["users"] += r["users"]
            agg["municipalities"].append(m.key)
        unknown = []
        for r in app_rows:
            if r["catalogued"]:
                continue
            aid = r["app_ids"][0]
            modes = {t: sso_modes.get((t, aid)) for t in sorted(unknown_tenants[aid]) if t == m.tenant_id}
            unknown.append({"app_id": aid, "name": r["name"], "users": r["users"], "sso_modes": modes})
            agg = unknown_rank.setdefault(aid, {"app_id": aid, "name": r["name"], "users": 0,
                                                "municipalities": [], "sso_modes": {}})
            agg["users"] += r["users"]
            agg["municipalities"].append(m.key)
            agg["sso_modes"].update(modes)
        municipalities_out.append({
            "key": m.key, "name": m.name, "tenant_id": m.tenant_id,
            "signins_available": signins_available.get(m.tenant_id),
            "mpassid_home_is_entra": m.mpassid_home_is_entra,
            "headline_eligible": clean[m.key],
            "numbers": numbers, "apps": app_rows,
            "separate_apps": separate, "unknown_apps": unknown,
            "multi_account_persons": [],  # filled below
            "schools": schools_out,
        })

    # names of persons with several enabled accounts, per municipality (shown to IT admins only) --------
    multi = {p for p in region_persons if enabled[p] > 1}
    if multi:
        _fill_names(
            municipalities_out, multi, acct_person, acct_all, staff_schools, enabled, person_munis, region
        )

    region_tot[0] = len(region_persons)
    region_tot[1] = sum(1 for p in region_persons if enabled[p] == 1)
    region_tot[6] = sum(1 for p in region_persons if enabled[p] == 1 and headline_ok[p])
    return {
        "region": {
            "key": region.region.key, "name": region.region.name,
            "numbers": _pack(*region_tot),
            "separate_apps": sorted(separate_rank.values(), key=lambda r: (-r["users"], r["name"].lower())),
            "unknown_apps": sorted(unknown_rank.values(), key=lambda r: (-r["users"], r["name"].lower())),
        },
        "municipalities": municipalities_out,
        "person_groups": _person_groups(school_persons, enabled),
    }


def _person_groups(
    school_persons: Mapping[tuple[str, str], set[int]], enabled: list[int]
) -> list[dict[str, Any]]:
    """Staff persons counted by the exact set of schools they are staff at (and whether they have a
    single enabled account), so a view over several schools or municipalities counts each person once
    (``idops.coverage.service``). Counts only: no names, no ids. Sorted, so equal inputs give equal JSON.
    """
    paths: dict[int, list[str]] = defaultdict(list)
    for (mk, sk), persons in sorted(school_persons.items()):
        for p in persons:
            paths[p].append(f"{mk}/{sk}")
    groups: Counter[tuple[tuple[str, ...], bool]] = Counter(
        (tuple(ps), enabled[p] == 1) for p, ps in paths.items()
    )
    return [
        {"schools": list(schools), "single_account": single, "persons": n}
        for (schools, single), n in sorted(groups.items())
    ]


def _fill_names(
    municipalities_out: list[dict[str, Any]],
    multi: set[int],
    acct_person: Mapping[tuple[str, str], int],
    acct_all: Mapping[tuple[str, str], Account],
    staff_schools: Mapping[tuple[str, str], list[tuple[str, str]]],
    enabled: list[int],
    person_munis: Mapping[int, set[str]],
    region: RegionConfig,
) -> None:
    """Each person with several enabled accounts, under every municipality they are staff of: their
    name (from a staff account) and every account with that person key, enabled or not."""
    tenant_names: dict[str, str] = {}
    for m in region.municipalities:
        prev = tenant_names.get(m.tenant_id)
        tenant_names[m.tenant_id] = f"{prev} / {m.name}" if prev else m.name
    refs: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for ref, p in acct_person.items():
        if p in multi:
            refs[p].append(ref)
    by_key = {m["key"]: m for m in municipalities_out}
    for p in multi:
        accts = sorted(
            (acct_all[r] for r in refs[p]), key=lambda a: (not a.account_enabled, a.user_principal_name)
        )
        staff = [a for a in accts if staff_schools.get((a.tenant_id, a.user_id))]
        entry = {
            "name": (staff or accts)[0].display_name,
            "enabled_accounts": enabled[p],
            "accounts": [
                {"tenant": tenant_names.get(a.tenant_id, a.tenant_id), "tenant_id": a.tenant_id,
                 "user_principal_name": a.user_principal_name, "enabled": a.account_enabled}
                for a in accts
            ],
        }
        for mk in sorted(person_munis.get(p, ())):
            by_key[mk]["multi_account_persons"].append(entry)
    for mo in municipalities_out:
        mo["multi_account_persons"].sort(
            key=lambda e: (e["name"].lower(), e["accounts"][0]["user_principal_name"])
        )
