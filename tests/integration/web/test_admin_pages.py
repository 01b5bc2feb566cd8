"""Admin pages in process over a stored single-login report: the page shows the service's numbers,
the embedded full report and CSV are the coverage package's own, principals get 404."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from idops.config import Config
from idops.coverage import service as coverage
from idops.kit.db import Database
from idops.kit.i18n import percent
from idops.uow import UnitOfWork
from idops.web.render import CSP
from tests.conftest import TokenFactory, bearer, demo_sign_in
from tests.integration.coverage.conftest import Person, write_mirror

TAMPERE = "2b9fbc3d-6284-566a-9f9c-8c8e78852612"
PEOPLE = [
    Person(
        TAMPERE,
        "00000000-0000-4000-8000-000000000001",
        "Anna Aalto",
        "anna.aalto@edu.tampere.fi",
        employee_id="E1",
        schools=[("tampere", "hervanta", "staff")],
    ),
    Person(TAMPERE, "00000000-0000-4000-8000-000000000002", "Anna Aalto", "anna.a@edu.tampere.fi", employee_id="E1"),
    Person(
        TAMPERE,
        "00000000-0000-4000-8000-000000000003",
        "Bert Berg",
        "bert.berg@edu.tampere.fi",
        employee_id="E2",
        schools=[("tampere", "kaleva", "staff")],
    ),
]


@pytest.fixture
async def report(config: Config, clean_db: str) -> AsyncIterator[None]:
    db = Database(clean_db)
    async with db.session() as s:
        await write_mirror(s, PEOPLE)
    await coverage.generate(UnitOfWork(db), config, None, datetime.now(UTC))
    yield
    await db.dispose()


async def test_coverage_page_shows_the_services_headline_and_links_the_full_report(
    api: httpx.AsyncClient, make_token: TokenFactory, report: None
) -> None:
    from_api = (
        await api.get("/v1/reports/single-login", headers=bearer(make_token("ItAdmin", municipality="tampere")))
    ).json()
    await demo_sign_in(api, "itadmin:tampere")
    page = await api.get("/admin/single-login")
    assert page.status_code == 200
    share = from_api["headline"]["headline_share"]
    assert f'data-share="{share}"' in page.text
    assert percent(share, "fi") in page.text
    assert "Hervannan koulu" in page.text and "Kalevan koulu" in page.text
    # each headline number explained in one sentence on the page, linked to its term in the help
    for term in ("staff-persons", "account-coverage", "app-coverage", "headline"):
        assert f'<a href="/ohje#{term}">' in page.text and f'data-term="{term}"' in page.text, term
    explained = re.search(r'<dd data-term="headline">([^<]*)</dd>', page.text)
    assert explained and percent(share, "fi") in explained.group(1)

    full = await api.get("/admin/single-login/report")
    assert full.status_code == 200 and full.headers["content-type"].startswith("text/html")
    assert '<html lang="fi">' in full.text
    # In the site's layout (menu, way back, landmarks), under the pages' own headers: no inline styles.
    for landmark in ('<header class="site">', '<nav class="main"', '<nav class="crumbs"', "<main", "<footer"):
        assert landmark in full.text, landmark
    assert 'href="/admin/single-login"' in full.text and "<style" not in full.text
    from_api_html = await api.get(
        "/v1/reports/single-login",
        params={"format": "html"},
        headers=bearer(make_token("ItAdmin", municipality="tampere")),
    )
    for response in (full, from_api_html):
        assert response.headers["content-security-policy"] == CSP
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
    assert '<nav class="main"' in from_api_html.text and "Kalevan koulu" in from_api_html.text
    csv = await api.get("/admin/single-login/report.csv")
    from_api_csv = await api.get(
        "/v1/reports/single-login",
        params={"format": "csv"},
        headers=bearer(make_token("ItAdmin", municipality="tampere")),
    )
    assert csv.content == from_api_csv.content


async def test_principals_do_not_reach_admin_pages(api: httpx.AsyncClient, report: None) -> None:
    await demo_sign_in(api, "principal:tampere/hervanta")
    for path in (
        "/admin/mfa",
        "/admin/mfa/unregistered.csv",
        "/admin/single-login",
        "/admin/single-login/report",
        "/admin/substitutes",
        "/admin/jobs",
        "/admin/region",
    ):
        assert (await api.get(path)).status_code == 404, path


async def test_it_admins_start_jobs_for_their_municipality_only_from_the_page(api: httpx.AsyncClient,
                                                                             report: None) -> None:
    """The IT admin's jobs page says their runs are limited to their municipality and offers no button for a
    job with a region-wide step; posting that form anyway starts nothing and says why."""
    await demo_sign_in(api, "itadmin:tampere")
    page = await api.get("/admin/jobs")
    assert page.status_code == 200
    assert 'id="jobs-limited"' in page.text
    assert "/admin/jobs/housekeeping/run" not in page.text and "/admin/jobs/expire/run" in page.text
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    pressed = await api.post("/admin/jobs/housekeeping/run", data={"csrf": csrf})
    assert pressed.status_code == 303
    after = (await api.get("/admin/jobs")).text
    assert "koskee koko aluetta" in after and "käynnistetty" not in after

    await demo_sign_in(api, "region")
    page = await api.get("/admin/jobs")
    assert 'id="jobs-limited"' not in page.text and "/admin/jobs/housekeeping/run" in page.text


async def test_region_comparison_lists_every_municipality(api: httpx.AsyncClient, config: Config, report: None) -> None:
    await demo_sign_in(api, "region")
    page = await api.get("/admin/region")
    assert page.status_code == 200
    for m in config.region.municipalities:
        assert f'data-municipality="{m.key}"' in page.text
