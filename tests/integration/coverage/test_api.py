"""The report over HTTP: scope matrix, formats (JSON, CSV, HTML in Finnish and English), dates, deltas."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest

from idops.config import Config
from idops.coverage import service
from idops.kit.db import Database
from idops.uow import UnitOfWork
from tests.conftest import TokenFactory, bearer
from tests.integration.coverage.conftest import Person, write_mirror

TAMPERE = "2b9fbc3d-6284-566a-9f9c-8c8e78852612"
PIRKKALA = "d7b3331e-f1bd-5948-b90a-98052fad4f2a"
NOW = datetime.now(UTC).replace(microsecond=0)
YESTERDAY = NOW - timedelta(days=1)


def uid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


FIRST = [
    # Anna is staff at Hervanta and also holds an enabled account in Pirkkala's tenant: two logins
    Person(TAMPERE, uid(1), "Anna Aalto", "anna.aalto@edu.tampere.fi", employee_id="E1",
           schools=[("tampere", "hervanta", "staff")]),
    Person(PIRKKALA, uid(2), "Anna Aalto", "anna.aalto@edu.pirkkala.fi", employee_id="E1"),
    Person(TAMPERE, uid(3), "Bert Berg", "bert.berg@edu.tampere.fi", employee_id="E2",
           schools=[("tampere", "hervanta", "staff")]),
    Person(TAMPERE, uid(4), "Cecilia Cede", "cecilia.cede@edu.tampere.fi", employee_id="E3",
           schools=[("tampere", "kaleva", "staff")]),
    Person(PIRKKALA, uid(5), "Frida Forss", "frida.forss@edu.pirkkala.fi", employee_id="E4",
           schools=[("pirkkala", "killo", "staff")]),
]
SECOND = [*FIRST, Person(PIRKKALA, uid(6), "Gustav Grön", "gustav.gron@edu.pirkkala.fi", employee_id="E5",
                         schools=[("pirkkala", "killo", "staff")])]


@pytest.fixture
async def two_runs(config: Config, db: Database, uow: UnitOfWork) -> None:
    """Yesterday's run without Gustav, today's with him."""
    async with db.session() as s:
        await write_mirror(s, FIRST)
    await service.generate(uow, config, None, YESTERDAY)
    async with db.session() as s:
        await write_mirror(s, SECOND[-1:])
    await service.generate(uow, config, None, NOW)


async def get(api: httpx.AsyncClient, token: str, path: str = "", **params: str) -> httpx.Response:
    return await api.get(f"/v1/reports/single-login{path}", params=params, headers=bearer(token))


async def test_no_report_yet_is_a_404_problem(api: httpx.AsyncClient, make_token: TokenFactory) -> None:
    r = await get(api, make_token("RegionAdmin"))
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


async def test_region_admin_sees_everything_counts_only_and_the_change(
    api: httpx.AsyncClient, make_token: TokenFactory, two_runs: None
) -> None:
    body = (await get(api, make_token("RegionAdmin"))).json()
    n = body["region"]["numbers"]
    assert (n["staff_persons"], n["single_account_persons"], n["multi_account_persons"]) == (5, 4, 1)
    assert (n["headline_persons"], n["headline_share"]) == (2, pytest.approx(0.4))  # Frida, Gustav (Pirkkala)
    assert body["region"]["change"]["staff_persons"] == 1
    assert body["headline"] == {"staff_persons": 5, "headline_persons": 2, "headline_share": pytest.approx(0.4)}
    assert body["previous"]["report_date"] == service.report_day(YESTERDAY).isoformat()
    assert len(body["municipalities"]) == 8
    assert all(m["multi_account_persons"] is None for m in body["municipalities"])  # no names
    tampere = body["municipalities"][0]
    assert tampere["numbers"]["multi_account_persons"] == 1
    assert body["separate_apps"][0]["users"] >= body["separate_apps"][-1]["users"]
    assert "helmi" in {a["key"] for a in body["separate_apps"]}


async def test_it_admin_sees_own_municipality_with_names(
    api: httpx.AsyncClient, make_token: TokenFactory, two_runs: None
) -> None:
    body = (await get(api, make_token("ItAdmin", municipality="tampere"))).json()
    assert body["region"] is None
    assert [m["key"] for m in body["municipalities"]] == ["tampere"]
    (anna,) = body["municipalities"][0]["multi_account_persons"]
    assert anna["name"] == "Anna Aalto"
    assert {a["user_principal_name"] for a in anna["accounts"]} == {
        "anna.aalto@edu.tampere.fi", "anna.aalto@edu.pirkkala.fi"}
    assert body["headline"]["staff_persons"] == 3


async def test_it_admin_of_another_municipality_gets_404_for_tampere_and_no_names(
    api: httpx.AsyncClient, make_token: TokenFactory, two_runs: None
) -> None:
    token = make_token("ItAdmin", municipality="pirkkala")
    body = (await get(api, token)).json()
    assert [m["key"] for m in body["municipalities"]] == ["pirkkala"]
    assert body["municipalities"][0]["multi_account_persons"] == []  # Anna is not staff in Pirkkala
    out_of_scope = await get(api, token, municipality="tampere")
    unknown = await get(api, token, municipality="atlantis")
    assert out_of_scope.status_code == unknown.status_code == 404
    assert out_of_scope.json()["detail"] == unknown.json()["detail"]
    assert (await get(api, token, school="tampere/hervanta")).status_code == 404


async def test_principal_sees_only_their_school_and_no_names(
    api: httpx.AsyncClient, make_token: TokenFactory, two_runs: None
) -> None:
    token = make_token("Principal", school="tampere/hervanta")
    body = (await get(api, token)).json()
    (m,) = body["municipalities"]
    assert m["numbers"] is None and m["multi_account_persons"] is None and m["apps"] is None
    assert [s["path"] for s in m["schools"]] == ["tampere/hervanta"]
    assert m["schools"][0]["numbers"]["multi_account_persons"] == 1
    assert body["region"] is None and body["unknown_apps"] == []
    assert body["headline"]["staff_persons"] == 2
    for school in ("tampere/kaleva", "pirkkala/killo", "nowhere/none"):
        assert (await get(api, token, school=school)).status_code == 404
    csv_text = (await get(api, token, format="csv")).text
    assert "kaleva" not in csv_text and "pirkkala" not in csv_text


async def test_a_report_by_date(api: httpx.AsyncClient, make_token: TokenFactory, two_runs: None) -> None:
    token = make_token("RegionAdmin")
    old = (await get(api, token, "/" + service.report_day(YESTERDAY).isoformat())).json()
    assert old["region"]["numbers"]["staff_persons"] == 4 and old["previous"] is None
    assert (await get(api, token, "/2001-01-01")).status_code == 404
    assert (await get(api, token, "/not-a-date")).status_code in (400, 422)


async def test_csv_is_one_row_per_observation(api: httpx.AsyncClient, make_token: TokenFactory,
                                              two_runs: None) -> None:
    r = await get(api, make_token("RegionAdmin"), format="csv")
    assert r.headers["content-type"].startswith("text/csv")
    lines = r.text.lstrip("\ufeff").strip().split("\r\n")
    assert lines[0].split(",")[:5] == ["report_date", "generated_at", "level", "municipality", "school"]
    # region + 8 municipalities + every school
    assert len(lines) - 1 == 1 + 8 + sum(len(m.schools) for m in (await _region(api)).municipalities)


async def _region(api: httpx.AsyncClient) -> Any:
    return api.app.state.container.config.region  # type: ignore[attr-defined]


class Page(HTMLParser):
    """Collects the headline, and the ``data-key`` cells of every row by row kind."""

    def __init__(self) -> None:
        super().__init__()
        self.headline: dict[str, str] = {}
        self.headline_text = ""
        self.rows: list[tuple[dict[str, str], dict[str, str]]] = []
        self._row: dict[str, str] | None = None
        self._cell: str | None = None
        self._in_headline = False
        self.lang = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.lang = a.get("lang", "")
        if a.get("id") == "headline":
            self.headline, self._in_headline = a, True
        if tag == "tr":
            self._row = a
            self.rows.append((a, {}))
        if tag == "td" and "data-key" in a:
            self._cell = a["data-key"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self._in_headline = False
        if tag == "td":
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._in_headline:
            self.headline_text += data
        if self._cell is not None:
            cells = self.rows[-1][1]
            cells[self._cell] = cells.get(self._cell, "") + data


def staff(rows: list[tuple[dict[str, str], dict[str, str]]], attr: str, value: str | None = None) -> list[int]:
    return [int(c["staff_persons"]) for a, c in rows if attr in a and (value is None or a[attr] == value)]


async def test_html_page_in_finnish_has_the_headline_and_totals_that_add_up(
    api: httpx.AsyncClient, make_token: TokenFactory, two_runs: None
) -> None:
    r = await get(api, make_token("RegionAdmin"), format="html")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "Yhden tunnuksen kattavuus" in r.text and "http" not in r.text.split("<body>")[0].replace(
        "http-equiv", "")  # no external assets
    page = Page()
    page.feed(r.text)
    assert page.lang == "fi"
    assert page.headline_text.strip() == "40,0\u00a0%"
    assert page.headline["data-persons"] == "2" and page.headline["data-staff"] == "5"
    region_total = staff(page.rows, "data-total", "region")
    assert region_total == [5]
    assert sum(staff(page.rows, "data-municipality")) == region_total[0]
    for m in ("tampere", "pirkkala"):
        schools = [int(c["staff_persons"]) for a, c in page.rows if a.get("data-school", "").startswith(m + "/")]
        assert sum(schools) == staff(page.rows, "data-total", m)[0]
    assert "+1" in r.text  # the change since yesterday


async def test_html_page_in_english_on_request(api: httpx.AsyncClient, make_token: TokenFactory,
                                               two_runs: None) -> None:
    token = make_token("ItAdmin", municipality="tampere")
    r = await api.get("/v1/reports/single-login", headers={**bearer(token), "Accept": "text/html",
                                                           "Accept-Language": "en-GB,en;q=0.9"})
    page = Page()
    page.feed(r.text)
    assert page.lang == "en" and "Single-login coverage" in r.text
    assert page.headline_text.strip() == "0.0\u00a0%"  # Tampere's staff still need Helmi etc.
    assert "Anna Aalto" in r.text  # the IT admin of Tampere sees names
    r_fi = await get(api, token, format="html", lang="fi")
    assert "Henkilöt, joilla on useita käytössä olevia tunnuksia" in r_fi.text


async def test_names_never_reach_principals_or_region_admins_in_any_format(
    api: httpx.AsyncClient, make_token: TokenFactory, two_runs: None
) -> None:
    for token in (make_token("RegionAdmin"), make_token("Principal", school="tampere/hervanta")):
        for fmt in ("json", "csv", "html"):
            assert "Anna Aalto" not in (await get(api, token, format=fmt)).text
