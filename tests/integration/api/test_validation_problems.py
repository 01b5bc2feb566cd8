"""Request validation in the caller's words: problem+json with a Finnish ``detail`` and per-field ``errors``
in Finnish and English — never pydantic's own English ("Input should have timezone info")."""

from __future__ import annotations

import httpx

from tests.conftest import TokenFactory, bearer

BAD = {
    "school": "Tampere/Hervanta",
    "given_name": "",
    "surname": "Äijälä",
    "starts_at": "2026-11-30T08:00:00",
    "ends_at": "huomenna",
    "contact": {"email": "ei-osoite"},
    "colour": "blue",
}


async def test_a_bad_request_body_is_answered_in_finnish_per_field(api: httpx.AsyncClient,
                                                                    make_token: TokenFactory) -> None:
    r = await api.post("/v1/substitutes", json=BAD, headers=bearer(make_token("Principal", school="tampere/hervanta")))

    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    out = r.json()
    assert out["title"] == "Virheellisiä tietoja"
    assert out["detail"] == (
        "Pyynnön tiedoissa on virheitä: school, given_name, starts_at, ends_at, contact.email, colour."
    )
    by_field = {e["field"]: e for e in out["errors"]}
    assert by_field["starts_at"]["msg"] == "Ajasta puuttuu aikavyöhyke: anna aika muodossa 2026-11-30T08:00:00+02:00."
    assert by_field["starts_at"]["msg_en"] == "The time has no time zone: give it as 2026-11-30T08:00:00+02:00."
    assert by_field["starts_at"]["type"] == "timezone_aware" and by_field["starts_at"]["loc"] == ["body", "starts_at"]
    assert by_field["school"]["msg"] == "Koulu annetaan muodossa kunta/koulu, esim. tampere/hervanta."
    assert by_field["given_name"]["msg"] == "Tieto ei saa olla tyhjä."
    assert by_field["contact.email"]["msg"] == "Sähköpostiosoite ei kelpaa."
    assert by_field["colour"]["msg"] == "Tuntematon kenttä."
    assert "Input should" not in r.text and "String should" not in r.text


async def test_the_same_in_english_on_request(api: httpx.AsyncClient, make_token: TokenFactory) -> None:
    headers = {**bearer(make_token("Principal", school="tampere/hervanta")), "Accept-Language": "en"}
    r = await api.post("/v1/substitutes", json={**BAD, "starts_at": "2026-11-30T08:00:00+02:00"}, headers=headers)
    out = r.json()
    assert out["detail"] == "The request has invalid fields: school, given_name, ends_at, contact.email, colour."
    assert {e["field"]: e["msg"] for e in out["errors"]}["ends_at"] == (
        "Not a valid time: give it as 2026-11-30T08:00:00+02:00."
    )


async def test_query_parameters_are_answered_alike(api: httpx.AsyncClient, make_token: TokenFactory) -> None:
    r = await api.get("/v1/substitutes", params={"limit": 0}, headers=bearer(make_token("RegionAdmin")))
    [error] = r.json()["errors"]
    assert (error["field"], error["msg"], error["msg_en"]) == (
        "limit", "Pienin sallittu arvo on 1.", "The smallest allowed value is 1.")
