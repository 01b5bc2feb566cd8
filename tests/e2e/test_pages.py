"""Pages anyone may read, and errors as a browser and as an API client see them: the help page and the
accessibility statement, HTML error pages (404, 403, 401) in the site's layout for browsers, problem+json
for API clients at the very same addresses. Every page fits 360 px and passes axe-core."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server
from tests.e2e.helpers import A11y, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_help_and_accessibility_statement_are_public_and_linked_from_every_page(page: Page, a11y: A11y) -> None:
    page.goto("/sign-in")
    footer = page.locator("footer")
    expect(footer).to_contain_text("tuki@seutu.example.fi")  # [contact] of config/idops.toml
    footer.get_by_role("link", name="Saavutettavuusseloste").click()
    expect(page).to_have_url(re.compile("/saavutettavuus$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Saavutettavuusseloste")
    expect(page.locator("#a11y-conformance")).to_have_text("Täyttää saavutettavuusvaatimukset osittain.")
    expect(page.locator("#a11y-contact")).to_contain_text("saavutettavuus@seutu.example.fi")
    expect(page.locator("main")).to_contain_text("Liikenne- ja viestintävirasto Traficom")
    a11y.page(page, "accessibility statement")

    page.goto("/ohje#app-coverage")
    for term in ("mfa-registered", "mfa-capable", "mfa-used", "account-coverage", "app-coverage", "headline"):
        expect(page.locator(f"#{term}")).to_be_visible()
    a11y.page(page, "help page")
    page.goto("/saavutettavuus?lang=en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Accessibility statement")
    page.goto("/ohje?lang=fi")


def test_a_browser_gets_html_error_pages_and_an_api_client_problem_json(page: Page, server: Server, a11y: A11y) -> None:
    for path in ("/no/such/page", "/v1/no-such-thing"):
        response = page.goto(path)
        assert response is not None and response.status == 404
        assert response.headers["content-type"].startswith("text/html")
        assert (
            response.headers["x-frame-options"] == "DENY"
            and "frame-ancestors 'none'" in response.headers["content-security-policy"]
        )
        expect(page.get_by_role("heading", level=1)).to_have_text("Sivua ei löytynyt")
        expect(page.locator("#request-id code")).to_have_text(response.headers["x-request-id"])
        api = httpx.get(server.url + path, timeout=10)
        assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"
        assert api.json()["status"] == 404
    a11y.page(page, "404 page (anonymous)")

    # An API address without a token: the browser is told to sign in, not handed a WWW-Authenticate JSON.
    response = page.goto("/v1/mfa/summary")
    assert response is not None and response.status == 401
    assert "www-authenticate" not in response.headers
    expect(page.get_by_role("link", name="Kirjaudu sisään")).to_be_visible()
    a11y.page(page, "401 page")

    # A form post without its CSRF token: a 403 page in the layout, in English when asked.
    sign_in(page, "principal:tampere/hervanta")
    page.goto("/ohje?lang=en")
    with page.expect_navigation():
        page.evaluate(
            """() => { const f = document.createElement('form'); f.method = 'post'; f.action = '/sign-out';
                       document.body.append(f); f.submit(); }"""
        )
    expect(page.get_by_role("heading", level=1)).to_have_text("No access")
    expect(page.locator("#error-message")).to_contain_text("security token")
    expect(page.locator("nav.main")).to_be_visible()  # still signed in: the menu is the way back
    a11y.page(page, "403 page (en)")
    page.goto("/ohje?lang=fi")
