"""Issue 15 over HTTP to the emulator, through the real app and adapter: the details a municipality meets in
its first month — seats, drift, returning persons, notices, codes ahead of the start — one test each (the
cases in depth are in ``tests/unit/substitutes/test_lifecycle_*.py``, on the fake)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import demo_sign_in
from tests.integration.substitutes.conftest import OTHER_SCHOOL, SCHOOL, Api


def school(api: Api, path: str = SCHOOL) -> Any:
    found = api.container.config.region.school(path)
    assert found is not None
    return found[1]


def set_free_seats(api: Api, n: int) -> None:
    """Someone outside idops: seats bought, or handed out to others."""
    with api.emulator.state.lock:
        for sku_id in school(api).licence_sku_ids:
            sku = api.emulator.state.tenant(api.tenant()).skus[sku_id]
            sku.enabled_units = sku.consumed_units + n


async def test_the_sku_filled_outside_idops_is_a_409_with_no_account_created(api: Api) -> None:
    set_free_seats(api, 3)
    first = await api.request(given="Eero", surname="Esimerkki")
    assert first.status_code == 201, first.text
    await demo_sign_in(api.client, f"principal:{SCHOOL}")
    page = await api.client.get(f"/schools/{SCHOOL}")
    assert 'data-free="2"' in page.text and "Vapaita lisenssejä: 2" in page.text
    set_free_seats(api, 0)  # the last two go to someone else, in the Entra portal
    api.emulator.log.clear()
    users_before = len(api.emulator.state.tenant(api.tenant()).users)

    r = await api.request()

    assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json", r.text
    assert r.json()["detail"].startswith("Koulun lisenssit ovat loppuneet")
    assert api.emulator.log.count("POST", "/v1.0/users") == 0  # 0 accounts created (nor deleted)
    assert len(api.emulator.state.tenant(api.tenant()).users) == users_before
    assert not api.emulator.state.tenant(api.tenant()).deleted
    page = await api.client.get(f"/schools/{SCHOOL}")
    assert 'data-free="0"' in page.text and "Koulun lisenssit ovat loppuneet" in page.text


async def test_graph_refusing_the_licence_is_the_same_409_and_leaves_no_account(api: Api) -> None:
    """Far from the edge the cached count is trusted; when it was stale, Graph's "no available licenses"
    400 answers as the check does, the account made for it is purged, and the next request checks fresh."""
    set_free_seats(api, 10)
    assert (await api.request(given="Eero", surname="Esimerkki")).status_code == 201  # the cache: 9 free
    set_free_seats(api, 0)
    tenant = api.emulator.state.tenant(api.tenant())
    users_before = len(tenant.users)

    r = await api.request()

    assert r.status_code == 409 and r.json()["detail"].startswith("Koulun lisenssit ovat loppuneet"), r.text
    assert len(tenant.users) == users_before and not tenant.deleted  # created, refused, purged
    assert api.emulator.state.user_by_upn(api.tenant(), "aino.aijala@sijaiset.tampere.fi") is None
    api.emulator.log.clear()
    again = await api.request(given="Bertta", surname="Björk")
    assert again.status_code == 409 and api.emulator.log.count("POST", "/v1.0/users") == 0


async def test_reconcile_removes_a_licence_and_a_group_re_added_by_hand_and_lists_the_corrections(api: Api) -> None:
    r = await api.request(days=1)
    sub = r.json()
    api.clock.advance(timedelta(days=1, minutes=1))
    assert (await api.run_job("expire"))["counts"] == {"expired": 1}
    state, tid = api.emulator.state, api.tenant()
    user = state.user_by_upn(tid, sub["user_principal_name"])
    assert user is not None and not user.licenses
    sku, group = school(api).licence_sku_ids[0], school(api).substitute_group_ids[0]
    with state.lock:  # the help desk, in the Entra portal
        user.licenses = ((sku, ()),)
        state.tenant(tid).sku_consumed(sku, 1)
        state.tenant(tid).groups[group].members[user.id] = None

    run = await api.run_job("reconcile")

    assert run["counts"] == {"group_removed": 1, "licence_removed": 1}
    assert not user.licenses and user.id not in state.members(tid, group)
    drift = await api.client.get("/v1/drift", headers=api.admin())
    assert drift.status_code == 200, drift.text
    items = [(i["action"], i["group_id"], i["sku_id"], i["user_principal_name"]) for i in drift.json()["items"]]
    assert items == [("licence_removed", None, sku, sub["user_principal_name"]),
                     ("group_removed", group, None, sub["user_principal_name"])]
    assert (await api.client.get("/v1/drift", headers=api.admin("nokia"))).json()["items"] == []
    assert (await api.client.get("/v1/drift", headers=api.principal())).status_code == 403
    assert (await api.run_job("reconcile"))["counts"] == {}
    await demo_sign_in(api.client, "itadmin:tampere")
    page = await api.client.get("/admin/drift")
    assert "Ylimääräinen lisenssi poistettu" in page.text and "sijaisten lisenssi (8 koulua)" in page.text
    assert "Hervannan koulun sijaisryhmä" in page.text


async def test_a_returning_person_is_matched_asked_about_or_created_anew(api: Api) -> None:
    first = await api.request(days=1, contact={"email": "aino@example.fi"})
    assert first.status_code == 201, first.text
    api.clock.advance(timedelta(days=1, minutes=1))
    await api.run_job("expire")

    asked = await api.request(school=OTHER_SCHOOL, given="AINO", surname="Aijala")
    assert asked.status_code == 409, asked.text
    [candidate] = asked.json()["candidates"]
    assert (candidate["id"], candidate["user_principal_name"], candidate["last_school"]) == (
        first.json()["person_id"], "aino.aijala@sijaiset.tampere.fi", SCHOOL)

    matched = await api.request(school=OTHER_SCHOOL, contact={"email": "AINO@example.fi"})
    assert matched.status_code == 201 and matched.json()["person_id"] == first.json()["person_id"]
    assert matched.json()["user_principal_name"] == "aino.aijala@sijaiset.tampere.fi"

    anew = await api.request(starts=timedelta(days=10), force_new_person=True)
    assert anew.status_code == 201, anew.text
    assert anew.json()["user_principal_name"] == "aino.aijala2@sijaiset.tampere.fi"
    persons = (await api.client.get("/v1/substitute-persons", params={"q": "aino"}, headers=api.principal())).json()
    assert len(persons["items"]) == 2


async def test_the_principals_get_one_digest_with_a_link_to_extend(api: Api) -> None:
    state, tid = api.emulator.state, api.tenant()
    oid = school(api).principals.object_ids[0]
    with state.lock:
        principal = state.tenant(tid).users[oid]
        principal.account_enabled, principal.mail = True, "rehtori@tampere.fi"
    deputy = state.add_user(tid, "vararehtori@sijaiset.tampere.fi", account_enabled=True,
                            mail="vararehtori@tampere.fi", preferred_language="en-US")
    with state.lock:
        state.tenant(tid).groups[school(api).principals.group_ids[0]].members[deputy.id] = None
    a = (await api.request(days=3)).json()
    await api.request(given="Bertta", surname="Björk", days=3)
    api.clock.advance(timedelta(days=2))

    run = await api.run_job("notify_expiring")

    assert run["counts"] == {"periods": 2, "recipients": 2, "mails": 2}
    mails = {m.to[0]: m for m in state.sent_mail(tid)}
    finnish = mails["rehtori@tampere.fi"]
    assert finnish.subject == "2 sijaistunnusta päättyy pian"
    assert "Hervannan koulun sijainen Aino Äijälä" in finnish.body and "Bertta Björk" in finnish.body
    assert "päättyy 3.12.2026 klo 8.00" in finnish.body
    assert f"{api.container.config.settings.api.public_url}/substitutes/{a['id']}#extend-title" in finnish.body
    assert "substitute at Hervannan koulu" in mails["vararehtori@tampere.fi"].body


async def test_a_code_is_prepared_ahead_and_starts_with_the_period(api: Api) -> None:
    sub = (await api.request(starts=timedelta(days=3), days=2)).json()
    assert sub["status"] == "scheduled"

    r = await api.client.post(f"/v1/substitutes/{sub['id']}/access-pass", headers=api.principal())

    assert r.status_code == 200, r.text
    out = r.json()
    assert datetime.fromisoformat(out["valid_from"]) == datetime.fromisoformat(sub["starts_at"])
    assert datetime.fromisoformat(out["valid_until"]) <= datetime.fromisoformat(sub["ends_at"])
    user = api.emulator.state.user_by_upn(api.tenant(), sub["user_principal_name"])
    assert user is not None and not user.account_enabled  # enabled at the start, by activate
    tap = api.emulator.state.tenant(api.tenant()).taps[user.id]
    assert tap.start_date_time == datetime.fromisoformat(sub["starts_at"]).astimezone(UTC)
    assert out["is_usable_once"] is tap.is_usable_once is False


async def hand_over_page(api: Api, period_id: str) -> str:
    """The code page as a principal gets it: the substitute's page, then its "give the code" form."""
    page = (await api.client.get(f"/substitutes/{period_id}")).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    once = re.search(r'name="once" value="([^"]+)"', page)
    assert csrf and once, page
    r = await api.client.post(f"/substitutes/{period_id}/sign-in-code",
                              data={"csrf": csrf.group(1), "once": once.group(1)})
    assert r.status_code == 200, r.text
    return r.text


async def test_the_hand_over_page_says_what_the_pass_graph_made_is(api: Api) -> None:
    ahead = (await api.request(starts=timedelta(days=3), days=2)).json()
    await demo_sign_in(api.client, f"principal:{SCHOOL}")

    page = await hand_over_page(api, ahead["id"])

    assert "Koodi toimii vasta, kun sijaisuus alkaa." in page
    assert "useita kertoja" in page and "Kertakäyttöinen" not in page and "vain kerran" not in page
    # the tenant's TAP policy is made one-time in the Entra portal (idops' cached copy does not know yet)
    with api.emulator.state.lock:
        api.emulator.state.tenant(api.tenant()).tap_policy.is_usable_once = True
    now = (await api.request(given="Bertta", surname="Björk", days=2)).json()

    page = await hand_over_page(api, now["id"])

    assert "<h1>Kertakäyttöinen kirjautumiskoodi</h1>" in page and "vain kerran" in page
    assert "useita kertoja" not in page and "Koodi toimii vasta" not in page


async def test_validation_errors_come_in_finnish(api: Api) -> None:
    r = await api.client.post("/v1/substitutes", json={"school": SCHOOL, "given_name": "Aino", "surname": "Ä",
                                                       "starts_at": "2026-12-01T08:00:00", "ends_at": "x"},
                              headers=api.principal())
    assert r.status_code == 422
    assert "aikavyöhyke" in r.json()["errors"][0]["msg"] and "Input should" not in r.text

