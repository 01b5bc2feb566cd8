"""A principal's morning, in a real browser: request a substitute, see it scheduled, let time pass,
hand over the sign-in code once, end the account. Every page passes axe-core."""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from idops.kit.clock import HELSINKI
from tests.e2e.conftest import Server
from tests.e2e.helpers import A11y, screenshot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

SCHOOL = "tampere/hervanta"
PRINCIPAL = f"principal:{SCHOOL}"


def service_now(page: Page) -> datetime:
    page.goto("/_demo/clock")
    iso = page.locator("#clock-now").get_attribute("data-iso")
    assert iso
    return datetime.fromisoformat(iso)


def test_principal_requests_activates_hands_over_code_once_and_ends(page: Page, server: Server, a11y: A11y) -> None:
    # Someone already at work (requested through the API, starting now), for a realistic list.
    token = server.token("--role", "Principal", "--school", SCHOOL)
    with server.api(token) as api:
        at_work = api.post(
            "/v1/substitutes",
            json={
                "school": SCHOOL,
                "given_name": "Mikko",
                "surname": "Öhman-Ström",
                "starts_at": datetime.now(HELSINKI).isoformat(),
                "ends_at": (datetime.now(HELSINKI) + timedelta(days=3)).replace(hour=16, minute=0).isoformat(),
            },
        )
        assert at_work.status_code == 201, at_work.text

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/sign-in$"))
    assert page.locator("html").get_attribute("lang") == "fi"
    a11y.check(page, "sign-in (demo)")
    sign_in(page, PRINCIPAL)
    expect(page).to_have_url(re.compile(f"/schools/{SCHOOL}$"))
    a11y.check(page, "school list (empty)")

    # Tomorrow (service time) 8.00 – the day after 16.00: a future period, so it is scheduled.
    now = service_now(page)
    a11y.check(page, "demo clock")
    start_day = now.astimezone(HELSINKI).date() + timedelta(days=1)
    starts = datetime(start_day.year, start_day.month, start_day.day, 8, 0, tzinfo=HELSINKI)

    page.goto(f"/schools/{SCHOOL}")
    page.get_by_role("link", name="Pyydä tunnus").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Pyydä sijaistunnus")
    expect(page.locator("#limits")).to_contain_text("enintään 30 päivää")
    a11y.check(page, "request form")
    page.get_by_label("Etunimi").fill("Aino")
    page.get_by_label("Sukunimi").fill("Äijälä")
    end_day = start_day + timedelta(days=1)
    page.get_by_label("Alkamispäivä").fill(f"{start_day.day}.{start_day.month}.{start_day.year}")
    page.get_by_label("Alkamisaika").fill("8.00")
    page.get_by_label("Päättymispäivä").fill(f"{end_day.day}.{end_day.month}.{end_day.year}")
    page.get_by_label("Päättymisaika").fill("16.00")
    page.get_by_role("button", name="Pyydä tunnus").click()

    expect(page).to_have_url(re.compile(r"/substitutes/[0-9a-f-]{36}$"))
    detail_url = page.url
    expect(page.locator("#status")).to_have_attribute("data-status", "scheduled")
    expect(page.locator("#status")).to_contain_text("tulossa")
    expect(page.locator("#starts")).to_have_text(f"{start_day.day}.{start_day.month}.{start_day.year} klo 8.00")
    expect(page.get_by_role("status").first).to_contain_text("Sijaistunnus pyydetty")
    upn = page.locator("#upn").inner_text()
    assert upn.endswith("@sijaiset.tampere.fi")
    a11y.check(page, "substitute (scheduled)")

    page.goto(f"/schools/{SCHOOL}")
    expect(page.locator("#upcoming .card")).to_have_count(1)
    screenshot(page, "principal-list.png")

    # Let the service's clock pass the start; the clock page runs the activate job.
    page.goto("/_demo/clock")
    hours = math.ceil((starts - now).total_seconds() / 3600) + 1
    page.get_by_label("Siirrä eteenpäin (tuntia)").fill(str(hours))
    page.get_by_role("button", name=re.compile("Siirrä kelloa")).click()
    expect(page.get_by_role("status").first).to_contain_text("Aktivointi: onnistui")

    page.goto(detail_url)
    expect(page.locator("#status")).to_have_attribute("data-status", "active")
    expect(page.locator("#status")).to_contain_text("voimassa")
    a11y.check(page, "substitute (active)")

    # Extend by a day, within policy.
    new_end = end_day + timedelta(days=1)
    page.get_by_label("Uusi päättymispäivä").fill(f"{new_end.day}.{new_end.month}.{new_end.year}")
    page.get_by_label("Uusi päättymisaika").fill("16.00")
    page.get_by_role("button", name="Jatka voimassaoloa").click()
    expect(page.locator("#ends")).to_have_text(f"{new_end.day}.{new_end.month}.{new_end.year} klo 16.00")
    expect(page.get_by_role("status").first).to_contain_text("Voimassaoloa jatkettu")

    # The code: shown once, in the POST response, never cached; a reload does not show it again.
    with page.expect_response(lambda r: r.request.method == "POST" and "sign-in-code" in r.url) as posted:
        page.get_by_role("button", name="Anna kirjautumiskoodi").click()
    assert posted.value.headers.get("cache-control") == "no-store"
    code = page.locator("#code").inner_text().strip()
    assert len(code) >= 8
    expect(page.locator("#validity")).to_contain_text("Voimassa")
    a11y.check(page, "sign-in code")
    page.reload()
    assert code not in page.content()
    page.goto(detail_url)
    assert code not in page.content()
    page.go_back()
    assert code not in page.content()

    # End now, through the confirmation step.
    page.goto(detail_url)
    page.get_by_role("link", name="Päätä nyt").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Päätä sijaistunnus nyt")
    a11y.check(page, "end confirmation")
    page.get_by_role("button", name="Kyllä, päätä tunnus nyt").click()
    expect(page).to_have_url(detail_url)
    expect(page.locator("#status")).to_have_attribute("data-status", "revoked")
    expect(page.get_by_role("status").first).to_contain_text("Sijaistunnus päätetty")
    a11y.check(page, "substitute (revoked)")


def test_request_form_on_a_phone_and_in_english(page: Page, a11y: A11y) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    sign_in(page, PRINCIPAL)
    page.goto(f"/schools/{SCHOOL}/new")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, "the request form scrolls sideways on a 360 px screen"
    screenshot(page, "request-form-phone.png")
    a11y.check(page, "request form 360 px")

    # Validation messages come back in Finnish, next to the fields, with the entered values kept.
    page.get_by_label("Sukunimi").fill("Virtanen")
    page.get_by_label("Päättymispäivä").fill("")
    page.get_by_role("button", name="Pyydä tunnus").click()
    expect(page.locator(".error-summary")).to_contain_text("Anna etunimi.")
    expect(page.locator(".error-summary")).to_contain_text("Anna päivämäärä muodossa pp.kk.vvvv")
    expect(page.get_by_label("Sukunimi")).to_have_value("Virtanen")
    a11y.check(page, "request form with errors")

    # A policy refusal from the service, in words a principal understands.
    page.get_by_label("Etunimi").fill("Ville")
    page.get_by_label("Päättymispäivä").fill("1.1.2099")
    page.get_by_role("button", name="Pyydä tunnus").click()
    expect(page.locator("#service-error")).to_contain_text("enintään 30 päivää")

    page.goto(f"/schools/{SCHOOL}?lang=en")
    assert page.locator("html").get_attribute("lang") == "en"
    expect(page.get_by_role("heading", level=1)).to_contain_text("Substitute accounts")
    page.goto(f"/schools/{SCHOOL}/new")  # the choice sticks (cookie)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Request a substitute account")
    a11y.check(page, "request form (en)")


def test_principal_cannot_reach_another_schools_pages(page: Page, server: Server, a11y: A11y) -> None:
    # A substitute at Kaleva, requested through the API by Kaleva's principal.
    kaleva = server.token("--role", "Principal", "--school", "tampere/kaleva")
    start = datetime.now(HELSINKI).replace(hour=8, minute=0, second=0, microsecond=0) + timedelta(days=4)
    with server.api(kaleva) as api:
        created = api.post(
            "/v1/substitutes",
            json={
                "school": "tampere/kaleva",
                "given_name": "Kalle",
                "surname": "Kalevala",
                "starts_at": start.isoformat(),
                "ends_at": (start + timedelta(hours=8)).isoformat(),
            },
        )
        assert created.status_code == 201, created.text
        other_id = created.json()["id"]

    sign_in(page, PRINCIPAL)
    for path in (
        "/schools/tampere/kaleva",
        "/schools/tampere/kaleva/new",
        f"/substitutes/{other_id}",
        f"/substitutes/{other_id}/end",
        "/schools/nokia/harjuniitty",
        "/schools/tampere/nosuch",
        "/admin/mfa",
        "/admin/jobs",
    ):
        response = page.goto(path)
        assert response is not None and response.status == 404, path
        expect(page.locator("#error-message")).to_have_text("Sivua ei löytynyt.")
    a11y.check(page, "404 page")
    response = page.goto(f"/schools/{SCHOOL}")
    assert response is not None and response.status == 200


def test_a_returning_substitute_is_found_and_gets_the_same_account(page: Page, server: Server, a11y: A11y) -> None:
    token = server.token("--role", "Principal", "--school", SCHOOL)
    first_start = datetime.now(HELSINKI).replace(hour=8, minute=0, second=0, microsecond=0) + timedelta(days=10)
    with server.api(token) as api:
        first = api.post(
            "/v1/substitutes",
            json={
                "school": SCHOOL,
                "given_name": "Ritva",
                "surname": "Rönkä",
                "starts_at": first_start.isoformat(),
                "ends_at": (first_start + timedelta(hours=8)).isoformat(),
            },
        )
        assert first.status_code == 201, first.text
    upn = first.json()["user_principal_name"]

    sign_in(page, PRINCIPAL)
    page.goto(f"/schools/{SCHOOL}/new")
    page.get_by_label("Nimi tai sähköposti").fill("rönkä")
    page.get_by_role("button", name="Hae").click()
    expect(page.locator("#search-results")).to_contain_text(upn)
    a11y.check(page, "request form with search results")
    page.get_by_role("link", name="Valitse: Ritva Rönkä").click()
    expect(page.locator("main form[method=post]")).to_contain_text("Palaava sijainen: Ritva Rönkä")
    later = (first_start + timedelta(days=7)).date()
    page.get_by_label("Alkamispäivä").fill(f"{later.day}.{later.month}.{later.year}")
    page.get_by_label("Päättymispäivä").fill(f"{later.day}.{later.month}.{later.year}")
    page.get_by_role("button", name="Pyydä tunnus").click()
    expect(page).to_have_url(re.compile(r"/substitutes/[0-9a-f-]{36}$"))
    expect(page.locator("#upn")).to_have_text(upn)  # one person, one account
