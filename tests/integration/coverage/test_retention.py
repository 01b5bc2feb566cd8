"""Stored runs keep the names of persons with several accounts only for the retention period: the
``purge`` job then scrubs names and UPNs, per municipality's own retention, and every count stays."""

from __future__ import annotations

import dataclasses
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from idops.bootstrap import bootstrap
from idops.config import Config
from idops.config.region import RegionConfig
from idops.coverage import service
from idops.kit.clock import FrozenClock
from idops.kit.db import Database
from idops.uow import UnitOfWork
from jobs import purge
from tests.conftest import TokenFactory, bearer
from tests.integration.coverage.conftest import Person, write_mirror

TAMPERE = "2b9fbc3d-6284-566a-9f9c-8c8e78852612"
PIRKKALA = "d7b3331e-f1bd-5948-b90a-98052fad4f2a"
NOW = datetime(2026, 11, 20, 5, 0, tzinfo=UTC)


def uid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


# Anna is staff in both municipalities with two enabled accounts: her name is listed under both.
PEOPLE = [
    Person(TAMPERE, uid(1), "Anna Aalto", "anna.aalto@edu.tampere.fi", employee_id="E1",
           schools=[("tampere", "hervanta", "staff")]),
    Person(PIRKKALA, uid(2), "Anna Aalto", "anna.aalto@edu.pirkkala.fi", employee_id="E1",
           schools=[("pirkkala", "killo", "staff")]),
    Person(TAMPERE, uid(3), "Bert Berg", "bert.berg@edu.tampere.fi", employee_id="E2",
           schools=[("tampere", "hervanta", "staff")]),
]


def with_pirkkala_retention(config: Config, days: int) -> Config:
    region = tomllib.loads((Path(config.config_dir) / "region.toml").read_text())
    for m in region["municipalities"]:
        if m["key"] == "pirkkala":
            m.setdefault("policy", {})["retention_days"] = days
    return dataclasses.replace(config, region=RegionConfig.model_validate(region))


def persons(body: dict[str, Any], municipality: str) -> list[dict[str, Any]]:
    (m,) = [m for m in body["municipalities"] if m["key"] == municipality]
    return list(m["multi_account_persons"])


async def runs(uow: UnitOfWork) -> dict[datetime, Any]:
    async with uow:
        out = {}
        for age in (100, 60, 0):
            row = await uow.coverage.latest_on(service.report_day(NOW - timedelta(days=age)))
            assert row is not None
            out[row.generated_at] = (row.body, row.names_scrubbed_at, row.staff_persons)
        return out


async def test_purge_scrubs_names_of_old_runs_per_municipality_retention_and_keeps_counts(
    config: Config, db: Database, uow: UnitOfWork
) -> None:
    config = with_pirkkala_retention(config, 30)  # Tampere keeps the default 90 days
    async with db.session() as s:
        await write_mirror(s, PEOPLE)
    for age in (100, 60, 0):
        await service.generate(uow, config, None, NOW - timedelta(days=age))
    before = await runs(uow)

    c = bootstrap(config, clock=FrozenClock(NOW), graph_base_url="http://127.0.0.1:9/v1.0")
    try:
        counts = await purge.run(c)
        again = await purge.run(c)
    finally:
        await c.directories.aclose()
        await c.database.dispose()
    after = await runs(uow)

    assert counts["report_names_scrubbed"] == 3  # 100 days: Tampere and Pirkkala; 60 days: Pirkkala
    assert again["report_names_scrubbed"] == 0
    old, mid, new = (after[NOW - timedelta(days=age)] for age in (100, 60, 0))
    for body in (old[0], mid[0]):
        (scrubbed,) = persons(body, "pirkkala")
        assert scrubbed["name"] is None
        assert {a["user_principal_name"] for a in scrubbed["accounts"]} == {None}
        assert scrubbed["enabled_accounts"] == 2 and len(scrubbed["accounts"]) == 2
    assert persons(old[0], "tampere")[0]["name"] is None
    assert persons(mid[0], "tampere")[0]["name"] == "Anna Aalto"  # 60 < 90 days: kept
    assert persons(new[0], "pirkkala")[0]["name"] == "Anna Aalto"
    assert "anna.aalto" not in str(old[0])
    # finished runs are marked (and not read again); a run with names still kept is not
    assert (old[1], mid[1], new[1]) == (NOW, None, None)
    # every number is as it was
    for at, (body, _, staff) in after.items():
        assert body["region"] == before[at][0]["region"] and staff == before[at][2]
        for m, m_before in zip(body["municipalities"], before[at][0]["municipalities"], strict=True):
            assert m["numbers"] == m_before["numbers"] and m["schools"] == m_before["schools"]


async def test_a_scrubbed_run_still_renders_for_the_it_admin(
    config: Config, db: Database, uow: UnitOfWork, api: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    today = datetime.now(UTC).replace(microsecond=0)
    old = today - timedelta(days=120)
    async with db.session() as s:
        await write_mirror(s, PEOPLE)
    await service.generate(uow, config, None, old)
    assert await service.scrub_names(uow, config, today) == 2
    token = make_token("ItAdmin", municipality="tampere")
    path = f"/v1/reports/single-login/{service.report_day(old).isoformat()}"
    page = await api.get(path, params={"format": "html"}, headers=bearer(token))
    assert page.status_code == 200
    assert "Anna Aalto" not in page.text and "nimi poistettu" in page.text
    body = (await api.get(path, headers=bearer(token))).json()
    (tampere,) = [m for m in body["municipalities"] if m["key"] == "tampere"]
    assert tampere["multi_account_persons"][0]["name"] is None
    assert tampere["numbers"]["multi_account_persons"] == 1
