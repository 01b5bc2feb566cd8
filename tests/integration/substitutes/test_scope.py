"""Scope: a school outside the caller's scope is indistinguishable from one that does not exist (404),
on every substitute endpoint; lists and person search never show what the caller may not see."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import bearer
from tests.integration.substitutes.conftest import OTHER_SCHOOL, SCHOOL, Api

FOREIGN_SCHOOL = "pirkkala/killo"  # another municipality (and tenant)


async def create(api: Api, school: str, given: str, surname: str) -> dict[str, Any]:
    r = await api.request(school=school, given=given, surname=surname, days=5)
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


def by_id_calls(sub_id: str, ends_at: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Every endpoint that names one substitute: (method, path, json body)."""
    base = f"/v1/substitutes/{sub_id}"
    return [
        ("GET", base, None),
        ("PATCH", base, {"ends_at": ends_at}),
        ("POST", f"{base}/revoke", None),
        ("POST", f"{base}/access-pass", None),
        ("GET", f"{base}/events", None),
    ]


def shape(r: httpx.Response) -> dict[str, Any]:
    """The problem body without what necessarily differs (the request id and the path of the request)."""
    assert r.status_code == 404, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    body.pop("request_id", None)
    body.pop("instance", None)
    return body


async def call(
    api: Api, method: str, path: str, body: dict[str, Any] | None, headers: dict[str, str]
) -> httpx.Response:
    return await api.client.request(method, path, json=body, headers=headers)


@pytest.fixture
async def subs(api: Api) -> dict[str, dict[str, Any]]:
    """One active substitute at hervanta (A), kaleva (B, same municipality) and killo (other municipality)."""
    return {
        SCHOOL: await create(api, SCHOOL, "Aino", "Äijälä"),
        OTHER_SCHOOL: await create(api, OTHER_SCHOOL, "Björn", "Sjöberg"),
        FOREIGN_SCHOOL: await create(api, FOREIGN_SCHOOL, "Máret", "Guttorm"),
    }


@pytest.mark.parametrize("target", [OTHER_SCHOOL, FOREIGN_SCHOOL], ids=["same-municipality", "other-municipality"])
@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_a_principal_gets_the_same_404_as_for_a_missing_id_on_every_endpoint(
    api: Api, subs: dict[str, dict[str, Any]], target: str, lang: str
) -> None:
    sub = subs[target]
    headers = {**api.principal(SCHOOL), "Accept-Language": lang}
    ends_at = (api.clock.now() + timedelta(days=6)).isoformat()
    missing = str(uuid.uuid4())
    for (method, path, body), (_, missing_path, _) in zip(
        by_id_calls(sub["id"], ends_at), by_id_calls(missing, ends_at), strict=True
    ):
        hidden = await call(api, method, path, body, headers)
        absent = await call(api, method, missing_path, body, headers)
        assert shape(hidden) == shape(absent), (method, path)
        assert (
            shape(absent)["detail"]
            == {"fi": "Sijaistunnusta ei löytynyt.", "en": "Substitute account not found."}[lang]
        )
    # nothing happened to the hidden substitute
    owner = api.principal(target)
    got = (await api.client.get(f"/v1/substitutes/{sub['id']}", headers=owner)).json()
    assert got["status"] == "active" and got["ends_at"] == sub["ends_at"]
    user = api.emulator.state.user_by_upn(api.tenant(target), sub["user_principal_name"])
    assert user is not None and user.account_enabled is True
    assert user.id not in api.emulator.state.tenant(api.tenant(target)).taps
    events = (await api.client.get(f"/v1/substitutes/{sub['id']}/events", headers=owner)).json()["items"]
    assert [e["action"] for e in events] == ["requested", "account_created", "provisioned"]


async def test_an_it_admin_of_another_municipality_gets_404_on_every_endpoint(
    api: Api, subs: dict[str, dict[str, Any]]
) -> None:
    ends_at = (api.clock.now() + timedelta(days=6)).isoformat()
    missing = str(uuid.uuid4())
    for admin, target in ((api.admin("tampere"), FOREIGN_SCHOOL), (api.admin("pirkkala"), SCHOOL)):
        for (method, path, body), (_, missing_path, _) in zip(
            by_id_calls(subs[target]["id"], ends_at), by_id_calls(missing, ends_at), strict=True
        ):
            assert shape(await call(api, method, path, body, admin)) == shape(
                await call(api, method, missing_path, body, admin)
            ), (method, path)
    # and within their own municipality they see every school
    for sub_id in (subs[SCHOOL]["id"], subs[OTHER_SCHOOL]["id"]):
        assert (await api.client.get(f"/v1/substitutes/{sub_id}", headers=api.admin("tampere"))).status_code == 200


async def test_requests_for_an_out_of_scope_school_are_404_like_an_unknown_school(api: Api) -> None:
    hidden = await api.request(school=OTHER_SCHOOL, headers=api.principal(SCHOOL))
    unknown = await api.request(school="tampere/olematon", headers=api.principal(SCHOOL))
    assert shape(hidden) == shape(unknown)
    foreign = await api.request(school=FOREIGN_SCHOOL, headers=api.admin("tampere"))
    assert shape(foreign) == shape(unknown)
    assert not api.emulator.state.users_with_marker(api.tenant(OTHER_SCHOOL), "extensionAttribute15", "idops-managed")
    for school in (OTHER_SCHOOL, "tampere/olematon"):
        r = await api.client.get("/v1/substitutes", params={"school": school}, headers=api.principal(SCHOOL))
        assert shape(r) == shape(unknown)


async def test_a_person_of_another_municipality_cannot_be_named_in_a_request(
    api: Api, subs: dict[str, dict[str, Any]]
) -> None:
    person_id = subs[SCHOOL]["person_id"]
    hidden = await api.request(school=FOREIGN_SCHOOL, person_id=person_id, given="Aino", surname="Äijälä")
    unknown = await api.request(school=FOREIGN_SCHOOL, person_id=str(uuid.uuid4()), given="Aino", surname="Äijälä")
    assert shape(hidden) == shape(unknown)


async def test_lists_never_include_out_of_scope_rows(api: Api, subs: dict[str, dict[str, Any]]) -> None:
    async def listed(headers: dict[str, str], **params: str) -> set[str]:
        r = await api.client.get("/v1/substitutes", params=params, headers=headers)
        assert r.status_code == 200, r.text
        return {s["school"] for s in r.json()["items"]}

    assert await listed(api.principal(SCHOOL)) == {SCHOOL}
    assert await listed(api.principal(OTHER_SCHOOL)) == {OTHER_SCHOOL}
    assert await listed(api.principal(FOREIGN_SCHOOL)) == {FOREIGN_SCHOOL}
    assert await listed(api.admin("tampere")) == {SCHOOL, OTHER_SCHOOL}
    assert await listed(api.admin("pirkkala")) == {FOREIGN_SCHOOL}
    region = bearer(api.token("RegionAdmin"))
    assert await listed(region) == {SCHOOL, OTHER_SCHOOL, FOREIGN_SCHOOL}
    # a filter on someone else's person finds nothing
    assert await listed(api.principal(SCHOOL), person_id=subs[FOREIGN_SCHOOL]["person_id"]) == set()
    assert await listed(api.principal(SCHOOL), person_id=subs[OTHER_SCHOOL]["person_id"]) == set()


async def test_person_search_finds_only_persons_of_the_callers_municipality(
    api: Api, subs: dict[str, dict[str, Any]]
) -> None:
    async def found(headers: dict[str, str], q: str) -> set[str]:
        r = await api.client.get("/v1/substitute-persons", params={"q": q}, headers=headers)
        assert r.status_code == 200, r.text
        return {p["person_id"] for p in r.json()["items"]}

    tampere_person, foreign_person = subs[SCHOOL]["person_id"], subs[FOREIGN_SCHOOL]["person_id"]
    assert await found(api.principal(OTHER_SCHOOL), "aijala") == {tampere_person}
    assert await found(api.principal(FOREIGN_SCHOOL), "aijala") == set()
    assert await found(api.principal(SCHOOL), "guttorm") == set()
    assert await found(api.principal(FOREIGN_SCHOOL), "guttorm") == {foreign_person}
    assert await found(api.admin("pirkkala"), "Äijälä") == set()
    assert await found(api.admin("tampere"), "Máret") == set()
    region = bearer(api.token("RegionAdmin"))
    assert await found(region, "aijala") == {tampere_person}
    assert await found(region, "guttorm") == {foreign_person}


async def test_a_region_admin_sees_every_substitute(api: Api, subs: dict[str, dict[str, Any]]) -> None:
    region = bearer(api.token("RegionAdmin"))
    for sub in subs.values():
        got = await api.client.get(f"/v1/substitutes/{sub['id']}", headers=region)
        assert got.status_code == 200 and got.json()["id"] == sub["id"]
        events = await api.client.get(f"/v1/substitutes/{sub['id']}/events", headers=region)
        assert events.status_code == 200


async def test_every_endpoint_needs_a_token(api: Api, subs: dict[str, dict[str, Any]]) -> None:
    sub_id = subs[SCHOOL]["id"]
    ends_at = (api.clock.now() + timedelta(days=6)).isoformat()
    request = {
        "school": SCHOOL,
        "given_name": "Eino",
        "surname": "Virtanen",
        "starts_at": api.clock.now().isoformat(),
        "ends_at": ends_at,
    }
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", "/v1/substitutes", request),
        ("GET", "/v1/substitutes", None),
        ("GET", "/v1/substitute-persons?q=aino", None),
        *by_id_calls(sub_id, ends_at),
    ]
    for method, path, body in calls:
        for headers in ({}, {"Authorization": "Bearer not-a-token"}):
            r = await api.client.request(method, path, json=body, headers=headers)
            assert r.status_code == 401, (method, path, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.headers["www-authenticate"].startswith("Bearer")
            assert sub_id not in str({k: v for k, v in r.json().items() if k != "instance"})
    got = (await api.client.get(f"/v1/substitutes/{sub_id}", headers=api.principal())).json()
    assert got["status"] == "active" and got["ends_at"] == subs[SCHOOL]["ends_at"]


# --- municipalities that share one tenant (Lempäälä and Vesilahti): scope is by municipality ----------

LEMPAALA_SCHOOL, VESILAHTI_SCHOOL = "lempaala/sisatmetsa", "vesilahti/narva"


@pytest.fixture
async def shared(api: Api) -> dict[str, dict[str, Any]]:
    assert api.tenant(LEMPAALA_SCHOOL) == api.tenant(VESILAHTI_SCHOOL)  # the premise of these tests
    return {
        LEMPAALA_SCHOOL: await create(api, LEMPAALA_SCHOOL, "Lauri", "Lempinen"),
        VESILAHTI_SCHOOL: await create(api, VESILAHTI_SCHOOL, "Veera", "Vesala"),
    }


@pytest.mark.parametrize("who", ["principal", "it_admin"])
async def test_in_a_shared_tenant_the_other_municipalitys_substitutes_are_404_on_every_endpoint(
    api: Api, shared: dict[str, dict[str, Any]], who: str
) -> None:
    headers = api.principal(LEMPAALA_SCHOOL) if who == "principal" else api.admin("lempaala")
    hidden_sub = shared[VESILAHTI_SCHOOL]
    ends_at = (api.clock.now() + timedelta(days=6)).isoformat()
    missing = str(uuid.uuid4())
    for (method, path, body), (_, missing_path, _) in zip(
        by_id_calls(hidden_sub["id"], ends_at), by_id_calls(missing, ends_at), strict=True
    ):
        assert shape(await call(api, method, path, body, headers)) == shape(
            await call(api, method, missing_path, body, headers)
        ), (who, method, path)
    listed = await api.client.get("/v1/substitutes", params={"person_id": hidden_sub["person_id"]}, headers=headers)
    assert listed.status_code == 200 and listed.json()["items"] == []
    found = await api.client.get("/v1/substitute-persons", params={"q": "vesala"}, headers=headers)
    assert found.status_code == 200 and found.json()["items"] == []
    # the Vesilahti substitute is untouched
    got = (await api.client.get(f"/v1/substitutes/{hidden_sub['id']}", headers=api.admin("vesilahti"))).json()
    assert got["status"] == "active" and got["ends_at"] == hidden_sub["ends_at"]


@pytest.mark.parametrize("who", ["principal", "it_admin"])
async def test_in_a_shared_tenant_a_person_of_the_other_municipality_cannot_be_named_or_changed(
    api: Api, shared: dict[str, dict[str, Any]], who: str
) -> None:
    headers = api.principal(LEMPAALA_SCHOOL) if who == "principal" else api.admin("lempaala")
    person_id = shared[VESILAHTI_SCHOOL]["person_id"]
    hidden = await api.request(school=LEMPAALA_SCHOOL, person_id=person_id, given="Veera", surname="Vesala",
                               contact={"email": "attacker@example.org"}, headers=headers, starts=timedelta(days=7))
    unknown = await api.request(school=LEMPAALA_SCHOOL, person_id=str(uuid.uuid4()), given="Veera",
                                surname="Vesala", headers=headers, starts=timedelta(days=7))
    assert shape(hidden) == shape(unknown)
    async with api.container.database.session() as s:
        from idops.substitutes.models import SubstitutePerson

        person = await s.get(SubstitutePerson, person_id)
    assert person is not None and person.email is None  # the contact e-mail was not overwritten


async def test_in_a_shared_tenant_each_it_admin_lists_only_their_municipality(
    api: Api, shared: dict[str, dict[str, Any]]
) -> None:
    for muni, school in (("lempaala", LEMPAALA_SCHOOL), ("vesilahti", VESILAHTI_SCHOOL)):
        r = await api.client.get("/v1/substitutes", headers=api.admin(muni))
        assert {s["school"] for s in r.json()["items"]} == {school}
