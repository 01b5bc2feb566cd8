"""A small region built by hand, with every number of the report worked out on paper.

Region "Testiseutu": municipality **alpha** (tenant TA, MPASSid home is Entra; schools a1, a2) and
**beta** (tenant TB, MPASSid through Wilma; school b1; no Entra P1/P2 → no sign-in data).

Catalogue: m365 (entra-sso), kirja (mpassid: single-login in alpha only), wilma (separate account,
beta only, no appId → every staff person counts as a user), pupil-app (pupils only: never counted).

People:
- Anna: staff at a1 (TA) *and* at b1 (TB), same employeeId E1, both enabled → two logins.
- Bert: staff at a1 (TA, E2, enabled) and a disabled TB account with E2 → one login.
- Cecilia: staff at a2 without employeeId (matched by mail) → one login.
- Frida: staff at b1 (TB, E3) → one login.
- Dora (disabled) and a guest sit in a1's staff group: excluded, not staff persons.
- Eemil is a pupil at a1; his sign-ins never count.

Sign-ins (TA only): Anna → m365 and kirja; Bert → m365 and Quizlet (not catalogued; its service
principal says ``password``); Cecilia → kirja; Eemil → Canva.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from idops.auth.scope import Caller, Scope
from idops.config import Config
from idops.config.apps import AppCatalogue
from idops.config.region import RegionConfig
from idops.config.settings import Settings
from idops.coverage import service
from idops.emulator.server import EmulatorServer
from idops.emulator.state import EmulatorState
from idops.graph.sdk import GraphDirectoryProvider
from idops.kit.db import Database
from idops.signins.service import IngestOptions, ingest
from idops.uow import UnitOfWork
from tests.integration.coverage.conftest import Person, write_mirror
from tests.integration.signins.conftest import fast_settings

TA = "aaaaaaaa-0000-4000-8000-000000000001"
TB = "bbbbbbbb-0000-4000-8000-000000000002"
M365 = "10000000-0000-4000-8000-000000000001"
KIRJA = "20000000-0000-4000-8000-000000000002"
PUPIL_APP = "30000000-0000-4000-8000-000000000003"
QUIZLET = "0e5a6b1c-3f2d-4b8e-9a61-5c1d2e3f4a01"
CANVA = "0e5a6b1c-3f2d-4b8e-9a61-5c1d2e3f4a02"
NOW = datetime(2026, 11, 20, 5, 0, tzinfo=UTC)


def g(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def school(key: str, n: int) -> dict[str, Any]:
    return {"key": key, "name": f"Koulu {key.upper()}", "staff_group_ids": [g(n)], "pupil_group_ids": [g(n + 1)]}


def muni(key: str, tenant: str, mpassid: bool, schools: list[dict[str, Any]]) -> dict[str, Any]:
    return {"key": key, "name": key.capitalize(), "tenant_id": tenant, "upn_domain": f"{key}.example.fi",
            "mpassid_home_is_entra": mpassid, "schools": schools,
            "graph": {"credential": "static", "base_url": "http://127.0.0.1:9/v1.0"}}


REGION = RegionConfig.model_validate({
    "region": {"key": "testiseutu", "name": "Testiseutu"},
    "municipalities": [
        muni("alpha", TA, True, [school("a1", 10), school("a2", 20)]),
        muni("beta", TB, False, [school("b1", 30)]),
    ],
})
APPS = AppCatalogue.model_validate({"apps": [
    {"key": "m365", "name": "Microsoft 365", "roles": ["staff", "pupil"], "sign_in": "entra-sso", "app_ids": [M365]},
    {"key": "kirja", "name": "Kirjasto", "roles": ["staff"], "sign_in": "mpassid", "app_ids": [KIRJA]},
    {"key": "wilma", "name": "Wilma", "roles": ["staff"], "sign_in": "separate-account",
     "municipalities": ["beta"]},
    {"key": "pupil-app", "name": "Oppilassovellus", "roles": ["pupil"], "sign_in": "separate-account",
     "app_ids": [PUPIL_APP]},
]})

PEOPLE = [
    Person(TA, g(101), "Anna Aalto", "anna@alpha.example.fi", employee_id="E1", schools=[("alpha", "a1", "staff")]),
    Person(TB, g(201), "Anna Aalto", "anna@beta.example.fi", employee_id="E1", schools=[("beta", "b1", "staff")]),
    Person(TA, g(102), "Bert Berg", "bert@alpha.example.fi", employee_id="E2", schools=[("alpha", "a1", "staff")]),
    Person(TB, g(202), "Bert Berg", "bert@beta.example.fi", employee_id="E2", enabled=False),
    Person(TA, g(103), "Cecilia Cede", "cecilia@alpha.example.fi", mail="Cecilia@alpha.example.fi",
           schools=[("alpha", "a2", "staff")]),
    Person(TB, g(203), "Frida Forss", "frida@beta.example.fi", employee_id="E3", schools=[("beta", "b1", "staff")]),
    Person(TA, g(104), "Dora Dahl", "dora@alpha.example.fi", employee_id="E4", enabled=False,
           schools=[("alpha", "a1", "staff")]),
    Person(TA, g(105), "Vieras", "vieras_gmail.com#EXT#@alpha.example.fi", user_type="Guest",
           schools=[("alpha", "a1", "staff")]),
    Person(TA, g(106), "Eemil Esko", "eemil@alpha.example.fi", schools=[("alpha", "a1", "pupil")]),
]


def emulated_region() -> EmulatorState:
    st = EmulatorState()
    st.add_tenant(TA, ["alpha.example.fi"])
    st.add_tenant(TB, ["beta.example.fi"], premium=False)
    users = {}
    for p in PEOPLE:
        if p.tenant_id == TA:
            users[p.name.split()[0]] = st.add_user(TA, p.upn, p.name, id=p.user_id)
    at = NOW - timedelta(days=3)
    for who, app, name in (("Anna", M365, "Microsoft 365"), ("Anna", KIRJA, "Kirjasto"),
                           ("Bert", M365, "Microsoft 365"), ("Bert", QUIZLET, "Quizlet"),
                           ("Cecilia", KIRJA, "Kirjasto"), ("Eemil", CANVA, "Canva")):
        st.add_signin(TA, users[who], app, name, at)
    st.add_service_principal(TA, QUIZLET, "Quizlet", "password")
    st.add_service_principal(TA, M365, "Microsoft 365", "oidc")
    return st


def numbers(staff: int, single: int, apps: int, single_apps: int, users: int, single_users: int,
            head: int) -> dict[str, Any]:
    def share(a: int, b: int) -> Any:
        return None if b == 0 else pytest.approx(a / b)

    return {
        "staff_persons": staff, "single_account_persons": single, "multi_account_persons": staff - single,
        "account_coverage": share(single, staff), "apps_in_use": apps, "single_login_apps": single_apps,
        "app_coverage": share(single_apps, apps), "app_users": users, "single_login_app_users": single_users,
        "weighted_app_coverage": share(single_users, users), "headline_persons": head,
        "headline_share": share(head, staff),
    }


@pytest.fixture
async def report(db: Database, uow: UnitOfWork) -> dict[str, Any]:
    config = Config(settings=Settings(), region=REGION, apps=APPS, config_dir=Path("."))
    server = EmulatorServer(emulated_region()).start()
    directories = GraphDirectoryProvider.from_config(REGION, fast_settings(), base_url_override=server.base_url)
    try:
        async with db.session() as s:
            await write_mirror(s, PEOPLE)
        result = await ingest(uow, directories, REGION.tenants(), NOW, IngestOptions(lag=timedelta(0)))
        assert result.counts()["unavailable"] == 1 and result.counts()["failed"] == 0
        generated = await service.generate(uow, config, directories, NOW)
        async with uow:
            row = await uow.coverage.latest()
            assert row is not None and row.id == generated.id
            return row.body
    finally:
        await directories.aclose()
        server.stop()


async def test_every_number_of_the_hand_built_region(report: dict[str, Any]) -> None:
    alpha, beta = report["municipalities"]
    a1, a2 = alpha["schools"]
    (b1,) = beta["schools"]
    # a1: Anna (2 logins) and Bert (1); m365 {Anna, Bert}, kirja {Anna}, Quizlet {Bert}: all single-login
    assert a1["numbers"] == numbers(2, 1, 3, 3, 4, 4, 1)
    # a2: Cecilia; m365 (no users), kirja {Cecilia}
    assert a2["numbers"] == numbers(1, 1, 2, 2, 1, 1, 1)
    assert alpha["numbers"] == numbers(3, 2, 3, 3, 5, 5, 2)
    # b1: Anna (2 logins), Frida; m365 and kirja unseen (no sign-in data), wilma = all staff; kirja is
    # separate here (MPASSid via Wilma) so beta is not headline-eligible
    assert b1["numbers"] == numbers(2, 1, 3, 1, 2, 0, 0)
    assert beta["numbers"] == b1["numbers"]
    # region: 4 persons (Anna once), apps are (municipality, app) pairs
    assert report["region"]["numbers"] == numbers(4, 3, 6, 4, 7, 5, 2)


async def test_apps_mpassid_unknown_apps_and_the_tenant_without_sign_ins(report: dict[str, Any]) -> None:
    alpha, beta = report["municipalities"]
    assert (alpha["signins_available"], beta["signins_available"]) == (True, False)
    assert (alpha["headline_eligible"], beta["headline_eligible"]) == (True, False)
    a1_apps = {a["key"]: (a["sign_in"], a["single_login"], a["users"]) for a in alpha["schools"][0]["apps"]}
    assert a1_apps == {"m365": ("entra-sso", True, 2), "kirja": ("mpassid", True, 1),
                       f"unknown:{QUIZLET}": ("unknown", True, 1)}
    b1_apps = {a["key"]: (a["sign_in"], a["single_login"], a["users"], a["observable"])
               for a in beta["schools"][0]["apps"]}
    assert b1_apps == {"m365": ("entra-sso", True, 0, True), "kirja": ("mpassid", False, 0, True),
                       "wilma": ("separate-account", False, 2, False)}
    assert report["region"]["separate_apps"] == [
        {"key": "wilma", "name": "Wilma", "users": 2, "municipalities": ["beta"]},
        {"key": "kirja", "name": "Kirjasto", "users": 0, "municipalities": ["beta"]},
    ]
    # Canva was used by a pupil only: not listed. Quizlet's service principal mode is shown.
    assert report["region"]["unknown_apps"] == [
        {"app_id": QUIZLET, "name": "Quizlet", "users": 1, "municipalities": ["alpha"], "sso_modes": {TA: "password"}}
    ]
    assert report["tenants"][TB]["signins_available"] is False


async def test_names_of_persons_with_several_accounts(report: dict[str, Any]) -> None:
    alpha, beta = report["municipalities"]
    for m in (alpha, beta):
        (anna,) = m["multi_account_persons"]
        assert anna["name"] == "Anna Aalto" and anna["enabled_accounts"] == 2
        assert {(a["tenant"], a["enabled"]) for a in anna["accounts"]} == {("Alpha", True), ("Beta", True)}


def it_admin_of(*munis: str) -> Caller:
    paths = frozenset(f"{m.key}/{s.key}" for m in REGION.municipalities if m.key in munis for s in m.schools)
    return Caller(oid=g(900), tid=TA, roles=frozenset({"ItAdmin"}),
                  scope=Scope("ItAdmin", paths, frozenset(munis)))


async def test_an_it_admin_of_two_municipalities_counts_a_person_of_both_once(
    report: dict[str, Any], uow: UnitOfWork
) -> None:
    both = await service.view(uow, it_admin_of("alpha", "beta"))
    alpha_only = await service.view(uow, it_admin_of("alpha"))
    beta_only = await service.view(uow, it_admin_of("beta"))
    # Anna is staff at a1 (alpha) and b1 (beta): alpha has 3 staff persons and beta 2, but together 4.
    # Headline persons: Bert and Cecilia (one login, alpha eligible); Frida's beta is not eligible.
    assert both["headline"] == {"staff_persons": 4, "headline_persons": 2, "headline_share": pytest.approx(0.5)}
    # one municipality: exactly that municipality's numbers
    for view, m in ((alpha_only, report["municipalities"][0]), (beta_only, report["municipalities"][1])):
        n = m["numbers"]
        assert view["headline"] == {"staff_persons": n["staff_persons"], "headline_persons": n["headline_persons"],
                                    "headline_share": n["headline_share"]}
    # the groups behind it are counts only: 4 persons, no names or ids
    assert sum(grp["persons"] for grp in report["person_groups"]) == 4
    assert {"alpha/a1", "beta/b1"} in [set(grp["schools"]) for grp in report["person_groups"]]
    assert "Anna" not in str(report["person_groups"])
