"""Scope matrix (principal, IT admin, region admin × summary, trend, users) and CSV for Power BI."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from idops.container import Container
from idops.emulator.generator import GeneratedRegion, generate_region
from jobs import sync_mfa
from tests.conftest import TokenFactory, bearer
from tests.integration.mfa.conftest import NOW, region_dicts

SCHOOL = "tampere/hervanta"
OTHER_SCHOOL = "tampere/kaleva"
ENDPOINTS = ("/v1/mfa/summary", "/v1/mfa/trend", "/v1/mfa/users")


@pytest.fixture
async def synced(container: Container, mfa_api: httpx.AsyncClient) -> httpx.AsyncClient:
    counts = await sync_mfa.run(container)
    assert counts["failed"] == 0
    return mfa_api


def schools_of(path: str, body: dict[str, object]) -> set[str]:
    key = {"/v1/mfa/summary": "rows", "/v1/mfa/trend": "points", "/v1/mfa/users": "items"}[path]
    return {str(r["school"]) for r in body[key]}  # type: ignore[attr-defined]


@pytest.fixture
def generated() -> GeneratedRegion:
    region, apps = region_dicts()
    out = generate_region(region, apps, seed=3, users_per_tenant=100, now=NOW)
    unregister_staff(out, region, [SCHOOL, OTHER_SCHOOL])
    return out


def unregister_staff(generated: GeneratedRegion, region: dict[str, Any], schools: list[str]) -> None:
    """One staff member of each school without MFA: the users list shows staff and substitutes only
    (pupils are counted, never listed), and a small generated school may have every adult registered."""
    for path in schools:
        muni, key = path.split("/")
        (m,) = [m for m in region["municipalities"] if m["key"] == muni]
        (s,) = [s for s in m["schools"] if s["key"] == key]
        tenant = generated.state.tenant(m["tenant_id"])
        members = tenant.groups[s["staff_group_ids"][0].lower()].members
        user = next(tenant.users[uid] for uid in members
                    if uid in tenant.users and tenant.users[uid].account_enabled
                    and tenant.users[uid].user_type != "Guest")
        user.reg_flags, user.reg_methods = 0, ()


async def test_scope_matrix_of_three_roles_and_three_endpoints(
    synced: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    for path in ENDPOINTS:
        await check_scope(synced, make_token, path)
    await check_no_token(synced)


async def check_scope(synced: httpx.AsyncClient, make_token: TokenFactory, path: str) -> None:
    principal = bearer(make_token("Principal", school=SCHOOL))
    it_admin = bearer(make_token("ItAdmin", municipality="tampere"))
    region = bearer(make_token("RegionAdmin"))
    params = {"group_by": "municipality,school,role", "limit": "200"}

    # what each role sees without filters
    seen = {}
    for who, h in (("principal", principal), ("it", it_admin), ("region", region)):
        r = await synced.get(path, params=params, headers=h)
        assert r.status_code == 200, (who, r.text)
        seen[who] = schools_of(path, r.json())
    assert seen["principal"] == {SCHOOL}
    assert seen["it"] and all(s.startswith("tampere/") for s in seen["it"]) and len(seen["it"]) > 1
    assert {s.split("/")[0] for s in seen["region"]} - {"tampere"}  # more than one municipality

    # asking outside the scope is a 404 indistinguishable from an unknown name
    outside = [
        (principal, {"school": OTHER_SCHOOL}), (principal, {"municipality": "nokia"}),
        (it_admin, {"school": "nokia/" + "x"}), (it_admin, {"municipality": "nokia"}),
    ]
    unknown = [(region, {"school": "tampere/no-such-school"}), (region, {"municipality": "no-such"})]
    bodies = []
    for h, q in outside + unknown:
        r = await synced.get(path, params=q, headers=h)
        assert r.status_code == 404, (q, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        b = r.json()
        bodies.append((b["title"], b.get("detail")))
    assert len(set(bodies)) == 1

    # inside the scope, filters narrow
    for h in (principal, it_admin, region):
        r = await synced.get(path, params={**params, "school": SCHOOL}, headers=h)
        assert r.status_code == 200 and schools_of(path, r.json()) <= {SCHOOL}
    r = await synced.get(path, params={**params, "municipality": "nokia"}, headers=region)
    assert all(s.startswith("nokia/") for s in schools_of(path, r.json()))


async def check_no_token(synced: httpx.AsyncClient) -> None:
    for path in ENDPOINTS:
        assert (await synced.get(path)).status_code == 401


def load_csv(r: httpx.Response) -> list[dict[str, str]]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    text = r.content.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


async def test_csv_for_power_bi_and_paging(synced: httpx.AsyncClient, make_token: TokenFactory) -> None:
    await check_summary_csv(synced, make_token)
    await check_trend_and_users_csv(synced, make_token)
    await check_paging(synced, make_token)


async def check_summary_csv(synced: httpx.AsyncClient, make_token: TokenFactory) -> None:
    """Stable columns, ISO dates, numeric types, one row per observation."""
    h = bearer(make_token("ItAdmin", municipality="tampere"))
    js = (await synced.get("/v1/mfa/summary", headers=h)).json()
    rows = load_csv(await synced.get("/v1/mfa/summary", params={"format": "csv"}, headers=h))
    from idops.mfa.schemas import SUMMARY_COLUMNS

    assert list(rows[0].keys()) == list(SUMMARY_COLUMNS)
    assert len(rows) == len(js["rows"])
    keys = [(r["school"], r["role"]) for r in rows]
    assert len(keys) == len(set(keys))  # one row per (school, role) observation
    for r in rows:
        date.fromisoformat(r["date"])
        assert int(r["total"]) >= int(r["registered"]) >= 0
        assert int(r["excluded_total"]) == sum(
            int(r[k]) for k in ("excluded_disabled", "excluded_guest", "excluded_group", "excluded_not_started")
        )
        if int(r["total"]):
            assert float(r["registered_share"]) == pytest.approx(int(r["registered"]) / int(r["total"]), rel=1e-5)
        assert r["below_target"] in ("true", "false", "")
        assert r["synced_at"].endswith("+00:00")


async def check_trend_and_users_csv(synced: httpx.AsyncClient, make_token: TokenFactory) -> None:
    """Accept: text/csv works too; pandas (when installed) reads integer columns as integers."""
    h = {**bearer(make_token("RegionAdmin")), "Accept": "text/csv"}
    trend = load_csv(await synced.get("/v1/mfa/trend", params={"group_by": "municipality,role"}, headers=h))
    from idops.mfa.schemas import TREND_COLUMNS, USER_COLUMNS

    assert list(trend[0].keys()) == list(TREND_COLUMNS)
    assert len({(r["date"], r["municipality"], r["role"]) for r in trend}) == len(trend)
    users = load_csv(await synced.get("/v1/mfa/users", params={"school": SCHOOL}, headers=h))
    assert list(users[0].keys()) == list(USER_COLUMNS)
    assert all(r["is_mfa_registered"] == "false" and r["school"] == SCHOOL for r in users)
    assert len({(r["user_id"], r["school"]) for r in users}) == len(users)
    try:
        import pandas as pd
    except ImportError:
        return
    frame = pd.read_csv(io.BytesIO((await synced.get("/v1/mfa/trend", headers=h)).content), encoding="utf-8-sig")
    assert frame["total"].dtype.kind == "i"


async def check_paging(synced: httpx.AsyncClient, make_token: TokenFactory) -> None:
    """Keyset pages follow each other without gaps or repeats; a forged cursor is a 400."""
    h = bearer(make_token("ItAdmin", municipality="tampere"))
    everyone = (await synced.get("/v1/mfa/users", params={"limit": 200}, headers=h)).json()["items"]
    got: list[tuple[str, str]] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 7}
        if cursor:
            params["cursor"] = cursor
        page = (await synced.get("/v1/mfa/users", params=params, headers=h)).json()
        got += [(u["user_id"], u["school"]) for u in page["items"]]
        cursor = page["next"]
        if not cursor or len(got) > 60:
            break
    assert got == [(u["user_id"], u["school"]) for u in everyone][: len(got)]
    assert (await synced.get("/v1/mfa/users", params={"cursor": "garbage!"}, headers=h)).status_code == 400


async def test_pupils_are_counted_but_never_listed_and_the_mirror_keeps_no_name_of_theirs(
    synced: httpx.AsyncClient, make_token: TokenFactory, clean_db: str
) -> None:
    """Pupils are children: the mirror keeps for them only what the counts need (docs/data-protection.md)."""
    engine = create_engine(clean_db.replace("+aiosqlite", "").replace("+asyncpg", "+psycopg"))
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT u.upn, u.display_name, u.mail, u.employee_id, u.employee_type, m.role, u.is_mfa_registered "
            "FROM directory_users u JOIN directory_memberships m "
            "ON m.tenant_id = u.tenant_id AND m.user_id = u.user_id")).all()
        pupils_only = conn.execute(text(
            "SELECT COUNT(*) FROM directory_users u WHERE NOT EXISTS (SELECT 1 FROM directory_memberships m "
            "WHERE m.tenant_id = u.tenant_id AND m.user_id = u.user_id AND m.role <> 'pupil') "
            "AND EXISTS (SELECT 1 FROM directory_memberships m "
            "WHERE m.tenant_id = u.tenant_id AND m.user_id = u.user_id)")).scalar_one()
    engine.dispose()
    pupils = [r for r in rows if r.role == "pupil"]
    staff = [r for r in rows if r.role == "staff"]
    assert pupils_only > 100 and len(pupils) >= pupils_only
    assert all((r.upn, r.display_name, r.mail, r.employee_id, r.employee_type) == ("", "", None, None, None)
               for r in pupils)
    assert all(r.upn and r.display_name for r in staff)  # adults are listed, so their names are kept
    assert any(r.is_mfa_registered for r in pupils) and not all(r.is_mfa_registered for r in pupils)

    h = bearer(make_token("ItAdmin", municipality="tampere"))
    summary = (await synced.get("/v1/mfa/summary", params={"group_by": "role"}, headers=h)).json()
    (pupil_row,) = [r for r in summary["rows"] if r["role"] == "pupil"]
    assert pupil_row["total"] > pupil_row["registered"] > 0  # still counted
    listed = (await synced.get("/v1/mfa/users", params={"limit": 1000}, headers=h)).json()["items"]
    assert listed and {u["role"] for u in listed} <= {"staff", "substitute"}
    r = await synced.get("/v1/mfa/users", params={"role": "pupil"}, headers=h)
    assert r.status_code == 400 and "Oppilaita ei listata" in r.json()["detail"]
