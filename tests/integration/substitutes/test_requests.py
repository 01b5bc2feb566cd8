"""Requesting substitute accounts through the API against the emulator: idempotency, duplicates, policy
(in Finnish and English), quota, licence seats, returning substitutes, UPN collisions, extension and
the one-time credential hand-over."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import httpx

from idops.emulator.state import User
from tests.integration.substitutes.conftest import OTHER_SCHOOL, SCHOOL, Api

MARKER = ("extensionAttribute15", "idops-managed")
UPN = "aino.aijala@sijaiset.tampere.fi"


def marked_users(api: Api, school: str = SCHOOL) -> list[User]:
    return api.emulator.state.users_with_marker(api.tenant(school), *MARKER)


def entra(api: Api, upn: str) -> User:
    user = api.emulator.state.user_by_upn(api.tenant(), upn)
    assert user is not None, f"{upn} is not in the emulator"
    return user


def groups_of(api: Api, user: User) -> set[str]:
    tenant = api.emulator.state.tenant(api.tenant())
    return {gid for gid, g in tenant.groups.items() if user.id in g.members}


def school_access(api: Api, school: str) -> tuple[set[str], set[str]]:
    found = api.container.config.region.school(school)
    assert found is not None
    return set(found[1].substitute_group_ids), set(found[1].licence_sku_ids)


def add_seats(api: Api, n: int) -> None:
    tenant = api.emulator.state.tenant(api.tenant())
    with api.emulator.state.lock:
        for sku in tenant.skus.values():
            sku.enabled_units += n


def body(
    api: Api,
    *,
    starts: timedelta = timedelta(0),
    days: float = 5,
    school: str = SCHOOL,
    given: str = "Aino",
    surname: str = "Äijälä",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "school": school,
        "given_name": given,
        "surname": surname,
        "starts_at": (api.clock.now() + starts).isoformat(),
        "ends_at": (api.clock.now() + starts + timedelta(days=days)).isoformat(),
        **extra,
    }


async def post(api: Api, payload: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
    school = payload["school"]
    return await api.client.post("/v1/substitutes", json=payload, headers={**api.principal(school), **(headers or {})})


def problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    out: dict[str, Any] = r.json()
    assert out["status"] == status
    return out


async def find_person(api: Api, q: str, school: str = SCHOOL) -> str:
    r = await api.client.get("/v1/substitute-persons", params={"q": q}, headers=api.principal(school))
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert len(items) == 1, items
    person_id: str = items[0]["person_id"]
    return person_id


# --------------------------------------------------------------------------------------------- idempotency


async def test_a_retry_with_the_same_idempotency_key_replays_the_first_result_and_never_a_second_account(
    api: Api,
) -> None:
    payload = body(api)
    first = await post(api, payload, {"Idempotency-Key": "form-1"})
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    for _ in range(3):
        again = await post(api, payload, {"Idempotency-Key": "form-1"})
        assert again.status_code == 200, again.text
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == first.json()
    assert [u.user_principal_name for u in marked_users(api)] == [UPN]


async def test_the_same_idempotency_key_with_a_different_body_is_a_conflict(api: Api) -> None:
    assert (await post(api, body(api), {"Idempotency-Key": "form-2"})).status_code == 201
    r = await post(api, body(api, days=6), {"Idempotency-Key": "form-2"})
    out = problem(r, 409)
    assert "Idempotency-Key" in out["detail"]
    assert len(marked_users(api)) == 1


async def test_a_double_submitted_form_without_a_key_points_at_the_existing_account(api: Api) -> None:
    first = await post(api, body(api, days=5))
    assert first.status_code == 201, first.text
    again = await post(api, body(api, starts=timedelta(days=1), days=5))  # overlapping period
    out = problem(again, 409)
    assert out["existing_id"] == first.json()["id"]
    assert out["detail"] == "Samalle henkilölle on jo sijaistunnus tähän kouluun samalle ajalle."
    assert len(marked_users(api)) == 1
    listed = (await api.client.get("/v1/substitutes", headers=api.principal())).json()["items"]
    assert [s["id"] for s in listed] == [first.json()["id"]]


# --------------------------------------------------------------------------------------------- policy


async def test_policy_violations_are_422_in_finnish_by_default_and_english_on_request(api: Api) -> None:
    too_long = body(api, days=31)
    fi = problem(await post(api, too_long), 422)
    assert fi["title"] == "Pyyntö ei ole sääntöjen mukainen"
    assert fi["detail"].startswith("Sijaisuusjakso voi olla enintään 30 päivää; myöhäisin sallittu päättymisaika on")
    assert fi["limit"] == "max_duration_days"
    en = problem(await post(api, too_long, {"Accept-Language": "en"}), 422)
    assert en["title"] == "The request breaks a policy"
    assert en["detail"].startswith("A substitution period can last at most 30 days; the latest allowed end is")

    too_early = body(api, starts=timedelta(days=61), days=2)
    assert "enintään 60 päivää etukäteen" in problem(await post(api, too_early), 422)["detail"]
    en = problem(await post(api, too_early, {"Accept-Language": "en-GB,en;q=0.8"}), 422)
    assert en["detail"].startswith("An account can be requested at most 60 days ahead")

    backwards = body(api, starts=timedelta(days=2), days=-1)
    assert problem(await post(api, backwards), 422)["detail"] == "Päättymisajan on oltava alkamisajan jälkeen."
    assert api.emulator.state.user_by_upn(api.tenant(), UPN) is None
    assert not marked_users(api)


async def test_the_school_quota_refuses_one_more_concurrent_substitute(api: Api) -> None:
    found = api.container.config.region.school(SCHOOL)
    assert found is not None
    quota = api.container.config.policy_for(*found).quota
    add_seats(api, quota + 5)  # the generated tenant has only 10 free seats
    for i in range(quota):
        r = await post(api, body(api, given=f"Sijainen{i}", surname="Virtanen", days=3))
        assert r.status_code == 201, r.text
    r = await post(api, body(api, given="Yksi", surname="Liikaa", starts=timedelta(days=2), days=3))
    out = problem(r, 422)
    assert out["limit"] == "quota"
    assert out["detail"] == (
        f"Hervannan koulun sijaistunnusten enimmäismäärä samalle ajalle on täynnä: {quota} tunnusta "
        f"(enintään {quota}). Valitse toinen ajankohta."
    )
    assert out["errors"] == [{"loc": ["body", "starts_at"], "msg": out["detail"], "type": "policy-violation"}]
    # a period after the others have ended fits
    later = await post(api, body(api, given="Yksi", surname="Liikaa", starts=timedelta(days=4), days=3))
    assert later.status_code == 201, later.text
    assert len(marked_users(api)) == quota + 1


async def test_a_school_out_of_licence_seats_gets_409_and_nothing_is_left_in_the_emulator(api: Api) -> None:
    _, skus = school_access(api, SCHOOL)
    tenant = api.emulator.state.tenant(api.tenant())
    with api.emulator.state.lock:
        for sku_id in skus:
            sku = tenant.skus[sku_id]
            sku.enabled_units = sku.consumed_units
    users_before = len(tenant.users)
    out = problem(await post(api, body(api)), 409)
    assert "lisenssit ovat loppuneet" in out["detail"]
    en = problem(await post(api, body(api, given="Eino"), {"Accept-Language": "en"}), 409)
    assert en["detail"].startswith("The school has no licences left")
    assert len(tenant.users) == users_before
    assert not marked_users(api)
    assert api.emulator.state.user_by_upn(api.tenant(), UPN) is None
    failed = (await api.client.get(f"/v1/substitutes/{out['period_id']}", headers=api.principal())).json()
    assert failed["status"] == "failed"


# --------------------------------------------------------------------------------------------- returning


async def test_a_returning_substitute_gets_the_same_account_back_for_a_new_period(api: Api) -> None:
    first = await post(api, body(api, days=3))
    assert first.status_code == 201, first.text
    user = entra(api, UPN)
    api.clock.advance(timedelta(days=3, minutes=1))
    await api.run_job("expire")
    assert user.account_enabled is False
    assert not groups_of(api, user) & school_access(api, SCHOOL)[0]

    person_id = await find_person(api, "äijälä", OTHER_SCHOOL)
    assert person_id == first.json()["person_id"]
    again = await post(api, body(api, school=OTHER_SCHOOL, days=4, person_id=person_id))
    assert again.status_code == 201, again.text
    sub = again.json()
    assert sub["person_id"] == person_id
    assert sub["user_principal_name"] == UPN
    assert sub["status"] == "active"
    assert [u.id for u in marked_users(api)] == [user.id]  # the same Entra account, re-enabled
    assert user.account_enabled is True
    groups, skus = school_access(api, OTHER_SCHOOL)
    assert groups <= groups_of(api, user)
    assert not groups_of(api, user) & school_access(api, SCHOOL)[0]
    assert {s for s, _ in user.licenses} == skus
    assert user.employee_leave_date_time == datetime.fromisoformat(sub["ends_at"])
    events = await api.client.get(f"/v1/substitutes/{sub['id']}/events", headers=api.principal(OTHER_SCHOOL))
    assert [e["action"] for e in events.json()["items"]][:2] == ["requested", "account_reused"]


async def test_overlapping_periods_at_two_schools_are_one_account_disabled_when_the_last_one_ends(api: Api) -> None:
    a = await post(api, body(api, days=3))
    assert a.status_code == 201, a.text
    person_id = await find_person(api, "Aino", OTHER_SCHOOL)
    b = await post(api, body(api, school=OTHER_SCHOOL, starts=timedelta(days=1), days=5, person_id=person_id))
    assert b.status_code == 201, b.text
    assert b.json()["user_principal_name"] == a.json()["user_principal_name"] == UPN
    user = entra(api, UPN)
    assert len(marked_users(api)) == 1
    groups_a, _ = school_access(api, SCHOOL)
    groups_b, _ = school_access(api, OTHER_SCHOOL)
    assert groups_a | groups_b <= groups_of(api, user)
    assert user.employee_leave_date_time == datetime.fromisoformat(b.json()["ends_at"])

    api.clock.advance(timedelta(days=3, minutes=1))  # the first period ends
    await api.run_job("expire")
    status_a = (await api.client.get(f"/v1/substitutes/{a.json()['id']}", headers=api.principal())).json()["status"]
    assert status_a == "expired"
    assert user.account_enabled is True
    assert groups_b <= groups_of(api, user)
    assert not groups_of(api, user) & (groups_a - groups_b)

    api.clock.advance(timedelta(days=3))  # the second (last) one ends
    await api.run_job("expire")
    assert user.account_enabled is False
    assert not groups_of(api, user) & (groups_a | groups_b)
    assert not user.licenses


async def test_an_account_deleted_after_its_grace_period_is_restored_under_the_same_upn(api: Api) -> None:
    first = await post(api, body(api, days=2))
    assert first.status_code == 201, first.text
    user_id = entra(api, UPN).id
    api.clock.advance(timedelta(days=2, minutes=1))
    await api.run_job("expire")
    api.clock.advance(timedelta(days=8))
    await api.run_job("purge")
    assert api.emulator.state.user_by_upn(api.tenant(), UPN) is None
    assert api.emulator.state.deleted_user(api.tenant(), user_id) is not None

    person_id = await find_person(api, "aijala")
    again = await post(api, body(api, days=2, person_id=person_id))
    assert again.status_code == 201, again.text
    assert again.json()["user_principal_name"] == UPN
    restored = entra(api, UPN)
    assert restored.id == user_id and restored.account_enabled is True
    assert len(marked_users(api)) == 1


async def test_an_account_purged_from_entra_is_recreated_under_the_same_upn(api: Api) -> None:
    first = await post(api, body(api, days=2))
    assert first.status_code == 201, first.text
    old_id = entra(api, UPN).id
    api.clock.advance(timedelta(days=2, minutes=1))
    await api.run_job("expire")
    api.clock.advance(timedelta(days=8))
    await api.run_job("purge")
    api.clock.advance(timedelta(days=31))  # Entra empties its recycle bin after 30 days
    tenant = api.emulator.state.tenant(api.tenant())
    with api.emulator.state.lock:
        tenant.deleted.pop(old_id, None)

    person_id = await find_person(api, "aijala")
    again = await post(api, body(api, days=2, person_id=person_id))
    assert again.status_code == 201, again.text
    assert again.json()["user_principal_name"] == UPN
    recreated = entra(api, UPN)
    assert recreated.id != old_id and recreated.account_enabled is True
    assert [u.id for u in marked_users(api)] == [recreated.id]


async def test_a_upn_held_in_entra_by_someone_else_gives_the_next_numbered_upn(api: Api) -> None:
    outsider = api.emulator.state.add_user(api.tenant(), UPN, "Aino Äijälä (opettaja)")
    r = await post(api, body(api))
    assert r.status_code == 201, r.text
    assert r.json()["user_principal_name"] == "aino.aijala2@sijaiset.tampere.fi"
    assert entra(api, UPN).id == outsider.id
    assert [u.user_principal_name for u in marked_users(api)] == ["aino.aijala2@sijaiset.tampere.fi"]


async def test_two_people_with_the_same_long_name_get_distinct_upns(api: Api) -> None:
    given, surname = "Aleksandra-Katariina", "Äijälä-Öhman-Ström-Kärkkäinen-Hämäläinen-Väisänen"
    a = await post(api, body(api, given=given, surname=surname))
    assert a.status_code == 201, a.text
    b = await post(api, body(api, school=OTHER_SCHOOL, given=given, surname=surname))
    assert b.status_code == 201, b.text
    assert (
        a.json()["user_principal_name"]
        == "aleksandra-kat.aijala-ohman-strom-karkkainen-hamalainen-vaisanen@sijaiset.tampere.fi"
    )
    assert (
        b.json()["user_principal_name"]
        == "aleksandra-ka.aijala-ohman-strom-karkkainen-hamalainen-vaisanen2@sijaiset.tampere.fi"
    )
    assert len(marked_users(api)) == 2


# --------------------------------------------------------------------------------------------- extend


async def test_patch_extends_within_policy_and_moves_the_leave_date(api: Api) -> None:
    r = await post(api, body(api, days=5))
    sub = r.json()
    new_end = api.clock.now() + timedelta(days=20)
    p = await api.client.patch(
        f"/v1/substitutes/{sub['id']}", json={"ends_at": new_end.isoformat()}, headers=api.principal()
    )
    assert p.status_code == 200, p.text
    assert datetime.fromisoformat(p.json()["ends_at"]) == new_end
    assert entra(api, UPN).employee_leave_date_time == new_end

    beyond = datetime.fromisoformat(sub["starts_at"]) + timedelta(days=30, minutes=1)
    p = await api.client.patch(
        f"/v1/substitutes/{sub['id']}",
        json={"ends_at": beyond.isoformat()},
        headers={**api.principal(), "Accept-Language": "en"},
    )
    assert problem(p, 422)["detail"].startswith("A substitution period can last at most 30 days")
    assert entra(api, UPN).employee_leave_date_time == new_end
    got = (await api.client.get(f"/v1/substitutes/{sub['id']}", headers=api.principal())).json()
    assert datetime.fromisoformat(got["ends_at"]) == new_end


# --------------------------------------------------------------------------------------------- credentials


async def test_a_tap_is_returned_once_valid_from_now_and_never_past_the_end(api: Api) -> None:
    r = await post(api, body(api, days=90.5 / (24 * 60)))  # ends in 90½ minutes
    sub = r.json()
    assert sub["status"] == "active"
    tap = await api.client.post(f"/v1/substitutes/{sub['id']}/access-pass", headers=api.principal())
    assert tap.status_code == 200, tap.text
    out = tap.json()
    assert tap.headers["cache-control"] == "no-store"
    assert "one_time_password" not in out
    code = out["temporary_access_pass"]
    assert datetime.fromisoformat(out["valid_from"]) == api.clock.now()
    ends_at = datetime.fromisoformat(sub["ends_at"])
    assert datetime.fromisoformat(out["valid_until"]) <= ends_at
    emulated = api.emulator.state.tenant(api.tenant()).taps[entra(api, UPN).id]
    assert emulated.code == code
    assert emulated.lifetime_in_minutes == math.floor((ends_at - api.clock.now()).total_seconds() / 60) == 90
    assert emulated.start_date_time + timedelta(minutes=emulated.lifetime_in_minutes) <= ends_at
    # returned once: never readable again through idops
    for path in (f"/v1/substitutes/{sub['id']}", f"/v1/substitutes/{sub['id']}/events"):
        assert code not in (await api.client.get(path, headers=api.principal())).text


async def test_a_long_period_gets_a_tap_capped_by_the_tenant_policy(api: Api) -> None:
    sub = (await post(api, body(api, days=5))).json()
    out = (await api.client.post(f"/v1/substitutes/{sub['id']}/access-pass", headers=api.principal())).json()
    maximum = api.emulator.state.tenant(api.tenant()).tap_policy.maximum_lifetime_in_minutes
    valid = datetime.fromisoformat(out["valid_until"]) - datetime.fromisoformat(out["valid_from"])
    assert valid == timedelta(minutes=maximum)


async def test_a_tap_needs_an_active_period(api: Api) -> None:
    sub = (await post(api, body(api, starts=timedelta(days=2), days=3))).json()
    assert sub["status"] == "scheduled"
    r = await api.client.post(f"/v1/substitutes/{sub['id']}/access-pass", headers=api.principal())
    out = problem(r, 409)
    assert out["detail"] == "Kirjautumiskoodin voi antaa vain voimassa olevalle sijaistunnukselle."
    assert entra(api, UPN).id not in api.emulator.state.tenant(api.tenant()).taps


async def test_with_tap_disabled_a_one_time_password_is_issued_and_must_be_changed(api: Api) -> None:
    tenant = api.emulator.state.tenant(api.tenant())
    with api.emulator.state.lock:
        tenant.tap_policy.state = "disabled"
    sub = (await post(api, body(api, days=3))).json()
    r = await api.client.post(f"/v1/substitutes/{sub['id']}/access-pass", headers=api.principal())
    assert r.status_code == 200, r.text
    out = r.json()
    assert "temporary_access_pass" not in out
    password = out["one_time_password"]
    assert len(password) >= 12
    assert datetime.fromisoformat(out["valid_until"]) <= datetime.fromisoformat(sub["ends_at"])
    user = entra(api, UPN)
    assert user.id not in tenant.taps
    assert user.password_profile is not None
    assert user.password_profile["password"] == password
    assert user.password_profile["forceChangePasswordNextSignIn"] is True
    events = (await api.client.get(f"/v1/substitutes/{sub['id']}/events", headers=api.principal())).text
    assert "one_time_password_issued" in events and password not in events


async def test_a_seat_refusal_is_replayed_as_409_and_a_later_request_gets_the_plain_upn(api: Api) -> None:
    tenant = api.emulator.state.tenant(api.tenant())
    with api.emulator.state.lock:
        saved = {sku_id: sku.enabled_units for sku_id, sku in tenant.skus.items()}
        for sku in tenant.skus.values():
            sku.enabled_units = sku.consumed_units
    payload = body(api)
    first = problem(await post(api, payload, {"Idempotency-Key": "seats-1"}), 409)
    again = problem(await post(api, payload, {"Idempotency-Key": "seats-1"}), 409)
    assert again["period_id"] == first["period_id"] and again["detail"] == first["detail"]
    assert not marked_users(api)

    with api.emulator.state.lock:  # seats bought; the seat cache is refreshed after its TTL
        for sku_id, units in saved.items():
            tenant.skus[sku_id].enabled_units = units
    api.clock.advance(timedelta(minutes=30))
    r = await post(api, body(api))
    assert r.status_code == 201, r.text
    assert r.json()["user_principal_name"] == UPN  # not "aino.aijala2": the refused request held no UPN


async def test_the_same_returning_person_twice_at_one_school_for_overlapping_time_is_409(api: Api) -> None:
    first = (await post(api, body(api, days=3))).json()
    dup = await post(api, body(api, starts=timedelta(days=1), days=3, person_id=first["person_id"]))
    assert problem(dup, 409)["existing_id"] == first["id"]
    later = await post(api, body(api, starts=timedelta(days=4), days=3, person_id=first["person_id"]))
    assert later.status_code == 201, later.text
    assert later.json()["status"] == "scheduled"
    assert len(marked_users(api)) == 1


async def test_a_period_ending_sooner_than_the_shortest_tap_is_refused_with_422(api: Api) -> None:
    sub = (await post(api, body(api, days=30 / (24 * 60)))).json()  # ends in 30 minutes; the policy minimum is 60
    r = await api.client.post(
        f"/v1/substitutes/{sub['id']}/access-pass", headers={**api.principal(), "Accept-Language": "en"}
    )
    assert problem(r, 422)["detail"] == "The substitution ends too soon for a sign-in code."
    assert entra(api, UPN).id not in api.emulator.state.tenant(api.tenant()).taps
