"""IT admin and region admin pages in a real browser: the MFA dashboard shows exactly what
``GET /v1/mfa/summary`` answers for the same scope; every admin page passes axe-core."""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server
from tests.e2e.helpers import A11y, screenshot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def percent_fi(share: float) -> str:
    return f"{share * 100:.1f}".replace(".", ",") + "\u00a0%"


def wait_for_mfa(server: Server, token: str, timeout: float = 45.0) -> None:
    """The demo syncs MFA once at start; wait until its snapshot is there."""
    deadline = time.monotonic() + timeout
    with server.api(token) as api:
        while time.monotonic() < deadline:
            body = api.get("/v1/mfa/summary").json()
            if body.get("totals"):
                return
            time.sleep(0.5)
    pytest.fail("the demo's first MFA sync did not finish")


def summary(server: Server, token: str, group_by: str) -> dict[str, Any]:
    with server.api(token) as api:
        response = api.get("/v1/mfa/summary", params={"group_by": group_by})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def test_it_admin_dashboard_numbers_equal_the_api(page: Page, server: Server, a11y: A11y) -> None:
    token = server.token("--role", "ItAdmin", "--municipality", "tampere")
    wait_for_mfa(server, token)
    by_role = summary(server, token, "role")
    by_school = summary(server, token, "school,role")

    sign_in(page, "itadmin:tampere")
    expect(page).to_have_url(f"{server.url}/admin/mfa")
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
    a11y.check(page, "MFA dashboard")
    screenshot(page, "mfa-dashboard.png")

    # The CSV link gives exactly the API's CSV of staff without registered MFA.
    from_page = page.request.get("/admin/mfa/unregistered.csv")
    with server.api(token) as api:
        from_api = api.get("/v1/mfa/users", params={"role": "staff", "format": "csv"})
    assert from_page.status == 200 and from_page.headers["content-type"].startswith("text/csv")
    assert from_page.body() == from_api.content

    for path, label in (
        ("/admin/single-login", "single-login coverage"),
        ("/admin/substitutes", "substitutes"),
        ("/admin/jobs", "jobs"),
    ):
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        a11y.check(page, label)
    expect(page.locator('#jobs tr[data-job="sync_mfa"]')).to_contain_text("onnistui")
    response = page.goto("/admin/region")
    assert response is not None and response.status == 404  # the comparison is for region admins


def test_region_admin_compares_municipalities(page: Page, server: Server, a11y: A11y) -> None:
    token = server.token("--role", "RegionAdmin")
    wait_for_mfa(server, token)
    by_muni = summary(server, token, "municipality,role")
    sign_in(page, "region")
    page.goto("/admin/region")
    rows = page.locator("#region-mfa-table tbody tr")
    municipalities = {r["municipality"] for r in by_muni["rows"]}
    assert rows.count() >= len(municipalities) > 1
    a11y.check(page, "municipality comparison")
    page.goto("/admin/mfa")
    a11y.check(page, "MFA dashboard (region)")
