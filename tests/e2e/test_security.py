"""The session cookie's flags and CSRF, seen from a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.helpers import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

SCHOOL = "tampere/hervanta"


def session_cookie(context: BrowserContext) -> dict[str, object]:
    found = [c for c in context.cookies() if c["name"] == "idops_session"]
    assert len(found) == 1
    return dict(found[0])


def test_session_cookie_is_httponly_samesite_lax_and_not_secure_only_in_demo(page: Page) -> None:
    sign_in(page, f"principal:{SCHOOL}")
    cookie = session_cookie(page.context)
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert cookie["secure"] is False  # demo auth over http on loopback; Secure elsewhere (unit test)
    assert cookie["path"] == "/"
    assert page.evaluate("document.cookie").find("idops_session") == -1  # scripts cannot read it


def test_a_form_post_without_the_csrf_token_is_refused(page: Page) -> None:
    # Not even the sign-in form works without it.
    refused = page.request.post("/sign-in/demo", form={"who": f"principal:{SCHOOL}"}, max_redirects=0)
    assert refused.status == 403
    sign_in(page, f"principal:{SCHOOL}")
    before = page.goto(f"/schools/{SCHOOL}")
    assert before is not None
    count = page.locator(".card[data-id]").count()

    form = {
        "given_name": "Eve",
        "surname": "Forger",
        "start_date": "2030-01-01",
        "start_time": "08:00",
        "end_date": "2030-01-02",
        "end_time": "16:00",
    }
    for token in (None, "", "not-the-token"):
        data = dict(form) if token is None else {**form, "csrf": token}
        response = page.request.post(f"/schools/{SCHOOL}/new", form=data, max_redirects=0)
        assert response.status == 403
        assert "turvatarkiste" in response.text()
    page.goto(f"/schools/{SCHOOL}")
    expect(page.locator(".card[data-id]")).to_have_count(count)

    # Sign-out is a form post too: without the token the session survives.
    assert page.request.post("/sign-out", form={}, max_redirects=0).status == 403
    page.goto(f"/schools/{SCHOOL}")
    expect(page).to_have_url(re.compile(f"/schools/{SCHOOL}$"))
    page.get_by_role("button", name="Kirjaudu ulos").click()
    expect(page).to_have_url(re.compile(r"/sign-in\?signed_out=1$"))
    page.goto(f"/schools/{SCHOOL}")
    expect(page).to_have_url(re.compile(r"/sign-in$"))
