"""Data-subject rights through the API: the IT admins of the person's municipality (and region admins)
read, export, erase and hold a substitute person's data; nobody else even learns the person exists."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import httpx
import pytest

from idops.web.texts import FI
from tests.integration.substitutes.conftest import SCHOOL, FakeApi
from tests.integration.substitutes.scan import Subject, scan_database
from tests.integration.substitutes.test_retention_scan import TEAMS
from tests.integration.web.test_admin_pages import sign_in

LEMPAALA_SCHOOL = "lempaala/sisatmetsa"


async def _person(api: FakeApi, given: str, surname: str, *, school: str = SCHOOL, days: float = 5,
                  **contact: str) -> tuple[dict[str, Any], Subject]:
    r = await api.request(given=given, surname=surname, school=school, days=days, contact=contact or None)
    assert r.status_code == 201, r.text
    sub = r.json()
    user = api.tenant(school).user_by_upn(sub["user_principal_name"])
    assert user is not None
    subject = Subject(f"{given} {surname}")
    subject.add_name(given, surname)
    subject.add(*contact.values(), sub["user_principal_name"], user.id)
    subject.person_id, subject.user_id = sub["person_id"], user.id  # type: ignore[attr-defined]
    return sub, subject


def problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    return body


async def test_the_export_holds_everything_about_the_person_and_nothing_about_anyone_else(fake_api: FakeApi) -> None:
    api = fake_api
    sub, aino = await _person(api, "Aino", "Äijälä", email="aino.a@example.org", mobile_phone="+358 40 123 4567")
    _, other = await _person(api, "Bertta", "Böök", email="bertta.b@example.org")
    api.clock.advance(timedelta(hours=2))
    api.tenant().add_sign_in(aino.user_id, TEAMS, "Microsoft Teams", api.clock.now() - timedelta(hours=1))  # type: ignore[attr-defined]
    for job in ("sync_mfa", "single_login_report"):
        await api.run_job(job)

    r = await api.client.get(f"/v1/substitute-persons/{sub['person_id']}/export", headers=api.admin())
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store" and "attachment" in r.headers["content-disposition"]
    out = r.json()
    person = out["person"]
    assert (person["given_name"], person["surname"], person["email"], person["mobile_phone"]) == (
        "Aino", "Äijälä", "aino.a@example.org", "+358 40 123 4567")
    assert person["user_principal_name"] == sub["user_principal_name"]
    assert person["entra_user_id"] == aino.user_id  # type: ignore[attr-defined]
    assert [p["id"] for p in out["periods"]] == [sub["id"]]
    assert {"requested", "account_created", "provisioned"} <= {e["action"] for e in out["events"]}
    assert out["directory_account"]["user_principal_name"] == sub["user_principal_name"]
    assert out["directory_account"]["memberships"] == [
        {"municipality": "tampere", "school": "hervanta", "role": "substitute", "excluded_reason": None}]
    assert [(d["app_id"], d["sign_ins"]) for d in out["sign_ins"]] == [(TEAMS, 1)]
    assert out["retention"]["retention_days"] == 90 and out["retention"]["scrub_due_at"] is None  # a period is open
    assert out["controller"] == "Tampere" and out["processors"]

    text = json.dumps(out, ensure_ascii=False).lower()
    assert not [v for v in other.values if v in text], "another person's data in the export"
    principal_oid = api.container.config.region.school(SCHOOL)[1].principals.object_ids[0]  # type: ignore[index]
    admin_oid = api.container.config.region.municipality("tampere").it_admins.object_ids[0]  # type: ignore[union-attr]
    assert principal_oid not in text and admin_oid not in text  # staff appear by role only
    assert {e["actor"] for e in out["events"]} <= {"Principal", "idops"}

    again = (await api.client.get(f"/v1/substitute-persons/{sub['person_id']}/export", headers=api.admin())).json()
    (exported,) = [e for e in again["events"] if e["action"] == "exported"]
    assert exported["actor"] == "ItAdmin" and exported["personal"] is None
    assert exported["details"] == {"periods": 1, "events": len(out["events"])}  # counts, never the values


async def test_only_admins_of_the_persons_municipality_see_the_person(fake_api: FakeApi) -> None:
    api = fake_api
    sub, _ = await _person(api, "Aino", "Äijälä")
    lempaala, _ = await _person(api, "Kerttu", "Lempinen", school=LEMPAALA_SCHOOL)
    region_admin = {"Authorization": f"Bearer {api.token('RegionAdmin')}"}
    missing = problem(await api.client.get("/v1/substitute-persons/00000000-0000-4000-8000-000000000000",
                                           headers=api.admin()), 404)
    cases = [
        (sub["person_id"], api.admin("pirkkala")),  # another municipality
        (sub["person_id"], api.principal()),  # the principal who requested them: not an admin
        (lempaala["person_id"], api.admin("vesilahti")),  # the same tenant, another municipality
        (lempaala["person_id"], api.admin()),
    ]
    for pid, headers in cases:
        for method, path, body in (("GET", "", None), ("GET", "/export", None), ("POST", "/erase", {}),
                                   ("PUT", "/legal-hold", {"reason": "x"}), ("DELETE", "/legal-hold", None)):
            r = await api.client.request(method, f"/v1/substitute-persons/{pid}{path}", headers=headers, json=body)
            assert problem(r, 404)["detail"] == missing["detail"], (pid, path)
    assert (await api.client.get(f"/v1/substitute-persons/{lempaala['person_id']}",
                                 headers=api.admin("lempaala"))).status_code == 200
    assert (await api.client.get(f"/v1/substitute-persons/{sub['person_id']}/export",
                                 headers=region_admin)).status_code == 200


async def test_erasure_is_refused_while_open_or_held_then_leaves_nothing(fake_api: FakeApi, clean_db: str) -> None:
    api = fake_api
    sub, aino = await _person(api, "Aino", "Äijälä", email="aino.a@example.org", mobile_phone="0401234567")
    _, other = await _person(api, "Bertta", "Böök", email="bertta.b@example.org")
    await api.run_job("sync_mfa")
    pid = sub["person_id"]
    url = f"/v1/substitute-persons/{pid}"

    refused = problem(await api.client.post(f"{url}/erase", headers=api.admin()), 409)
    assert refused["code"] == "open_periods" and refused["open_periods"] == [sub["id"]]
    assert "avoimia sijaisuuksia" in refused["detail"]
    held = await api.client.put(f"{url}/legal-hold", headers=api.admin(), json={"reason": "TAM/77/2026"})
    assert held.status_code == 200 and held.json()["legal_hold"]["reason"] == "TAM/77/2026"
    refused = problem(await api.client.post(f"{url}/erase", headers=api.admin(), json={"end_open_periods": True}), 409)
    assert refused["code"] == "legal_hold"
    en = await api.client.post(f"{url}/erase", headers={**api.admin(), "Accept-Language": "en"},
                               json={"end_open_periods": True})
    assert "legal hold" in problem(en, 409)["detail"]
    assert (await api.client.delete(f"{url}/legal-hold", headers=api.admin())).json()["legal_hold"] is None
    assert api.tenant().user(aino.user_id) is not None  # type: ignore[attr-defined]  # nothing happened so far

    api.tenant().down = True  # Graph is down: nothing is erased, the erasure can be retried
    assert (await api.client.post(f"{url}/erase", headers=api.admin(), json={"end_open_periods": True})
            ).status_code == 503
    assert (await api.client.get(url, headers=api.admin())).json()["given_name"] == "Aino"
    api.tenant().down = False

    r = await api.client.post(f"{url}/erase", headers=api.admin(), json={"end_open_periods": True})
    assert r.status_code == 200, r.text
    assert r.json() | {"erased_at": None} == {"person_id": pid, "erased_at": None, "already_erased": False,
                                               "periods_ended": 1, "account_deleted": True}
    tenant = api.tenant()
    uid = aino.user_id  # type: ignore[attr-defined]
    assert tenant.user(uid) is None and tenant.deleted_user(uid) is None  # deleted and purged from the recycle bin

    hits = scan_database(clean_db, [aino])
    assert hits == [], hits
    assert {h.where for h in scan_database(clean_db, [other])} >= {"substitute_persons.email", "directory_users.upn"}

    detail = (await api.client.get(url, headers=api.admin())).json()
    assert detail["scrubbed_at"] and detail["given_name"] is None and detail["periods"][0]["status"] == "deleted"
    export = (await api.client.get(f"{url}/export", headers=api.admin())).json()
    actions = {e["action"]: e for e in export["events"]}
    assert actions["erased"]["details"] == {"periods_ended": 1, "account_deleted": True}
    assert actions["revoke_requested"]["details"] == {"erasure": True}
    assert all(e["personal"] is None for e in export["events"])
    again = await api.client.post(f"{url}/erase", headers=api.admin())
    assert again.status_code == 200 and again.json()["already_erased"] is True


@pytest.mark.parametrize("hold", [True, False])
async def test_a_legal_hold_stops_the_nightly_purge_until_lifted(fake_api: FakeApi, hold: bool) -> None:
    api = fake_api
    sub, aino = await _person(api, "Aino", "Äijälä", days=1)
    url = f"/v1/substitute-persons/{sub['person_id']}"
    if hold:
        assert (await api.client.put(f"{url}/legal-hold", headers=api.admin(), json={"reason": "riita"})
                ).status_code == 200
    api.clock.advance(timedelta(days=1, minutes=1))
    await api.run_job("expire")
    api.clock.advance(timedelta(days=91))
    counts = await api.run_job("purge")
    assert counts.get("held", 0) == (1 if hold else 0)
    assert counts.get("persons_scrubbed", 0) == (0 if hold else 1)
    user_exists = api.tenant().user(aino.user_id) is not None  # type: ignore[attr-defined]
    assert user_exists is hold  # the hold keeps the account too
    if hold:
        await api.client.delete(f"{url}/legal-hold", headers=api.admin())
        assert (await api.run_job("purge")).get("persons_scrubbed") == 1


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found.group(1)


async def test_the_person_page_holds_downloads_and_erases_through_the_same_service(fake_api: FakeApi) -> None:
    api = fake_api
    sub, aino = await _person(api, "Aino", "Äijälä", email="aino.a@example.org")
    page_url = f"/admin/persons/{sub['person_id']}"

    await sign_in(api.client, "principal:tampere/hervanta")
    assert (await api.client.get(page_url)).status_code == 404  # a principal: like a page that does not exist
    api.client.cookies.clear()
    await sign_in(api.client, "itadmin:tampere")
    listing = await api.client.get("/admin/substitutes")
    assert f'href="{page_url}"' in listing.text  # reachable from the municipality's substitutes
    page = await api.client.get(page_url)
    assert page.status_code == 200 and "aino.a@example.org" in page.text and 'id="erase"' in page.text

    bad = await api.client.post(f"{page_url}/hold", data={"csrf": _csrf(page.text), "reason": ""})
    assert bad.status_code == 422 and FI["person_hold_reason_error"] in bad.text
    held = await api.client.post(f"{page_url}/hold", data={"csrf": _csrf(page.text), "reason": "TRE/1/2026"},
                                 follow_redirects=True)
    assert "TRE/1/2026" in held.text and 'id="erase"' not in held.text
    await api.client.post(f"{page_url}/hold/lift", data={"csrf": _csrf(held.text)})

    download = await api.client.get(f"{page_url}/export.json")
    assert download.status_code == 200 and download.json()["person"]["email"] == "aino.a@example.org"

    confirm = await api.client.get(f"{page_url}/erase")
    assert FI["erase_end_open"] in confirm.text
    refused = await api.client.post(f"{page_url}/erase", data={"csrf": _csrf(confirm.text)}, follow_redirects=True)
    assert "avoimia sijaisuuksia" in refused.text and "aino.a@example.org" in refused.text  # nothing erased
    done = await api.client.post(f"{page_url}/erase", data={"csrf": _csrf(confirm.text), "end_open_periods": "yes"},
                                 follow_redirects=True)
    assert FI["erased_ok"] in done.text and "aino.a@example.org" not in done.text
    assert api.tenant().user(aino.user_id) is None  # type: ignore[attr-defined]
