"""IT admin and region admin pages in a real browser: the MFA dashboard shows exactly what
``GET /v1/mfa/summary`` answers for the same scope; every admin page, the full single-login report (also
as the API serves it) included, fits 360 px and passes axe-core with no violation of any impact."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server
from tests.e2e.helpers import A11y, screenshot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def percent_fi(share: float) -> str:
    return f"{share * 100:.1f}".replace(".", ",") + "\u00a0%"


def wait_for_first_reports(server: Server, token: str, timeout: float = 90.0) -> None:
    """The demo syncs MFA and makes the single-login report once at start; wait for both."""
    deadline = time.monotonic() + timeout
    with server.api(token) as api:
        while time.monotonic() < deadline:
            if api.get("/v1/mfa/summary").json().get("totals") and api.get("/v1/reports/single-login").is_success:
                return
            time.sleep(0.5)
    pytest.fail("the demo's first MFA sync and single-login report did not finish")


def summary(server: Server, token: str, group_by: str) -> dict[str, Any]:
    with server.api(token) as api:
        response = api.get("/v1/mfa/summary", params={"group_by": group_by})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def second_snapshot_day(page: Page, server: Server, token: str) -> None:
    """Move the demo clock a day on and sync MFA again, so the trend has two days to draw."""
    page.goto("/_demo/clock")
    page.get_by_label("Siirrä eteenpäin (tuntia)").fill("24")
    page.get_by_role("button", name=re.compile("Siirrä kelloa")).click()
    expect(page.get_by_role("status").first).to_contain_text("Aktivointi")
    with server.api(server.token("--role", "RegionAdmin")) as api:  # jobs run region-wide: region admins
        run = api.post("/v1/jobs/sync_mfa/run", timeout=120)
        assert run.status_code == 200 and run.json()["outcome"] == "succeeded", run.text


def test_it_admin_dashboard_numbers_equal_the_api(page: Page, server: Server, a11y: A11y) -> None:
    token = server.token("--role", "ItAdmin", "--municipality", "tampere")
    wait_for_first_reports(server, token)
    sign_in(page, "itadmin:tampere")
    expect(page).to_have_url(f"{server.url}/admin/mfa")
    expect(page.locator("#trend-empty")).to_contain_text("Ei vielä tietoa")  # one day: no empty axes
    expect(page.locator("svg.chart")).to_have_count(0)
    second_snapshot_day(page, server, token)
    by_role = summary(server, token, "role")
    by_school = summary(server, token, "school,role")

    page.goto("/admin/mfa")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Monivaiheinen tunnistautuminen")
    shown = 0
    for row in by_role["rows"]:
        if row["role"] not in ("staff", "pupil"):
            continue
        card = page.locator(f'.kpi[data-role="{row["role"]}"]')
        assert card.get_attribute("data-total") == str(row["total"])
        assert card.get_attribute("data-capable") == str(row["capable"])
        assert card.get_attribute("data-registered") == str(row["registered"])
        expect(card.locator(".big")).to_have_text(percent_fi(row["capable_share"]))
        shown += 1
    assert shown == 2

    cells = page.locator("#mfa-schools td[data-school]")
    api_rows = {(r["school"], r["role"]): r for r in by_school["rows"] if r["role"] in ("staff", "pupil")}
    assert cells.count() == len(api_rows) > 0
    for i in range(cells.count()):
        cell = cells.nth(i)
        r = api_rows[(cell.get_attribute("data-school"), cell.get_attribute("data-role"))]
        assert (
            cell.get_attribute("data-total"),
            cell.get_attribute("data-capable"),
            cell.get_attribute("data-registered"),
        ) == (str(r["total"]), str(r["capable"]), str(r["registered"]))
        expect(cell).to_contain_text(percent_fi(r["capable_share"]))
    expect(page.locator("svg.chart")).to_be_visible()
    a11y.page(page, "MFA dashboard")
    screenshot(page, "mfa-dashboard.png")

    # The CSV links give exactly the API's CSV of staff without registered MFA, in both dialects.
    for dialect in ("powerbi", "excel-fi"):
        suffix = "" if dialect == "powerbi" else "?dialect=excel-fi"
        link = page.locator(f'a[href="/admin/mfa/unregistered.csv{suffix}"]')
        expect(link).to_have_text(re.compile("Power BI" if dialect == "powerbi" else "Excel \\(suomi\\)"))
        from_page = page.request.get(f"/admin/mfa/unregistered.csv{suffix}")
        with server.api(token) as api:
            from_api = api.get("/v1/mfa/users", params={"role": "staff", "format": "csv", "dialect": dialect})
        assert from_page.status == 200 and from_page.headers["content-type"].startswith("text/csv")
        assert from_page.body() == from_api.content
    with server.api(token) as api:
        excel = api.get("/v1/mfa/summary", params={"format": "csv", "dialect": "excel-fi", "group_by": "role"})
    assert excel.content.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    rows = list(csv.DictReader(io.StringIO(excel.content.decode("utf-8-sig")), delimiter=";"))
    assert rows and all("," in r["capable_share"] or r["capable_share"] in ("0", "1", "") for r in rows)

    for path, label in (
        ("/admin/single-login", "single-login coverage"),
        ("/admin/single-login/report", "full single-login report"),
        ("/admin/substitutes", "substitutes"),
        ("/admin/jobs", "jobs"),
    ):
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        a11y.page(page, label)
    expect(page.locator('#jobs [data-job="sync_mfa"]')).to_contain_text("onnistui")
    expect(page.locator('#jobs [data-job="sync_mfa"] h2')).to_have_text("MFA-synkronointi")
    # an IT admin's runs cover their municipality; a job with a region-wide step has no button
    expect(page.locator("#jobs-limited")).to_contain_text("oman kuntasi")
    expect(page.locator('#jobs [data-job="housekeeping"] form')).to_have_count(0)
    expect(page.locator('#jobs [data-job="housekeeping"] [data-region-only]')).to_contain_text("koko aluetta")
    expect(page.locator('#jobs [data-job="expire"] form')).to_have_count(1)
    response = page.goto("/admin/region")
    assert response is not None and response.status == 404  # the comparison is for region admins
    expect(page.locator("nav.main")).to_contain_text("Kunnan sijaistunnukset")


def test_region_admin_compares_municipalities(page: Page, server: Server, a11y: A11y) -> None:
    token = server.token("--role", "RegionAdmin")
    wait_for_first_reports(server, token)
    by_muni = summary(server, token, "municipality,role")
    sign_in(page, "region")
    page.goto("/admin/region")
    rows = page.locator("#region-mfa-table tbody tr")
    municipalities = {r["municipality"] for r in by_muni["rows"]}
    assert rows.count() >= len(municipalities) > 1
    nav = page.locator("nav.main")
    expect(nav).to_contain_text("Seudun sijaistunnukset")
    expect(nav).not_to_contain_text("Kunnan sijaistunnukset")
    a11y.page(page, "municipality comparison")
    page.goto("/admin/single-login/report")
    # Municipalities by name, never by key; no code names among the columns.
    expect(page.locator("#separate-apps")).not_to_contain_text("tampere,")
    expect(page.locator("main")).not_to_contain_text("preferredSingleSignOnMode")
    expect(page.locator("main")).not_to_contain_text("appId")
    a11y.page(page, "full single-login report (region)")
    page.goto("/admin/jobs")  # region admins start every job, over the whole region
    expect(page.locator("#jobs-limited")).to_have_count(0)
    page.locator('#jobs [data-job="housekeeping"] button').click()
    expect(page.get_by_role("status").first).to_have_text("Ajo ”Siivous” käynnistetty.")

    # The API's HTML is the same page in the same layout, under the same headers, for a bearer caller.
    page.context.set_extra_http_headers({"Authorization": f"Bearer {token}"})
    response = page.goto("/v1/reports/single-login?format=html")
    assert response is not None and response.status == 200
    for name in ("content-security-policy", "x-frame-options", "x-content-type-options", "referrer-policy"):
        assert response.headers[name] == page.request.get("/admin/jobs").headers[name], name
    expect(page.locator("nav.main")).to_be_visible()
    expect(page.locator("nav.crumbs a")).to_have_attribute("href", "/admin/single-login")
    a11y.page(page, "full single-login report (API)", axe_widths=(360,))  # the same template as above


def test_it_admin_downloads_and_erases_a_person_from_their_page(page: Page, server: Server, a11y: A11y) -> None:
    """From the municipality's substitutes to the person's page: the download is the API's export, the
    erasure asks to confirm ending the open substitution, and afterwards the page shows no name."""
    from tests.e2e.test_principal import service_now

    sign_in(page, "itadmin:tampere")
    now = service_now(page)
    with server.api(server.token("--role", "Principal", "--school", "tampere/hervanta")) as api:
        created = api.post("/v1/substitutes", json={
            "school": "tampere/hervanta", "given_name": "Eeva", "surname": "Poistettava",
            "starts_at": now.isoformat(), "ends_at": (now + timedelta(days=2)).isoformat(),
            "contact": {"email": "eeva.poistettava@example.org"},
        })
        assert created.status_code == 201, created.text
    person = f"/admin/persons/{created.json()['person_id']}"
    page.goto("/admin/substitutes")
    page.locator(f'a[href="{person}"]').first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Eeva Poistettava")
    expect(page.locator("#email")).to_have_text("eeva.poistettava@example.org")
    a11y.page(page, "person page")
    with page.expect_download() as download:
        page.locator("#export").click()
    exported = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert exported["person"]["email"] == "eeva.poistettava@example.org" and len(exported["periods"]) == 1

    page.locator("#erase").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Poistetaanko henkilötiedot?")
    a11y.page(page, "erasure confirmation")
    page.get_by_label("Päätä avoimet sijaisuudet nyt").check()
    page.locator("#confirm-erase").click()
    expect(page.get_by_role("status").first).to_have_text("Henkilötiedot poistettu.")
    expect(page.get_by_role("heading", level=1)).to_have_text("(henkilötiedot poistettu)")
    expect(page.locator("#email")).to_have_text("–")
    a11y.page(page, "person page after erasure")
