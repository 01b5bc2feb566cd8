"""A principal's morning, in a real browser and with the keyboard alone: request a substitute, see it
scheduled, let time pass, extend it, hand over the sign-in code once, end the account. Every page is
checked at 1280 and 360 px (no sideways scrolling) and passes axe-core with no violation of any impact;
every error of a form submit is shown at its field, all at once, and announced."""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from idops.kit.clock import HELSINKI
from tests.e2e.conftest import Server
from tests.e2e.helpers import A11y, focused_id, screenshot, sign_in, tab_to, type_into

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

SCHOOL = "tampere/hervanta"
PRINCIPAL = f"principal:{SCHOOL}"


def service_now(page: Page) -> datetime:
    page.goto("/_demo/clock")
    iso = page.locator("#clock-now").get_attribute("data-iso")
    assert iso
    return datetime.fromisoformat(iso)


def fi_date(d: datetime) -> str:
    return f"{d.day}.{d.month}.{d.year}"


def submit_with_keyboard(page: Page, selector: str = "main form[method=post] button[type=submit]") -> None:
    tab_to(page, selector)
    page.keyboard.press("Enter")
    page.wait_for_load_state()


def assert_error_at(page: Page, field: str, message: str | re.Pattern[str]) -> None:
    """The field is invalid, described by its message (what a screen reader says on focus), and the
    summary links to it."""
    control = page.locator(f"#f-{field}")
    expect(control).to_have_attribute("aria-invalid", "true")
    expect(control).to_have_accessible_description(
        message if isinstance(message, re.Pattern) else re.compile(re.escape(message))
    )
    expect(page.locator(f'.error-summary a[href="#f-{field}"]')).to_have_count(1)


def test_principal_requests_activates_hands_over_code_once_and_ends(page: Page, server: Server, a11y: A11y) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/sign-in$"))
    assert page.locator("html").get_attribute("lang") == "fi"
    a11y.page(page, "sign-in (demo)")
    sign_in(page, PRINCIPAL)
    expect(page).to_have_url(re.compile(f"/schools/{SCHOOL}$"))

    # Someone already at work (requested through the API, starting now on the service's clock, which
    # other tests may have moved), for a realistic list.
    now = service_now(page)
    a11y.page(page, "demo clock")
    token = server.token("--role", "Principal", "--school", SCHOOL)
    with server.api(token) as api:
        at_work = api.post(
            "/v1/substitutes",
            json={
                "school": SCHOOL,
                "given_name": "Mikko",
                "surname": "Öhman-Ström",
                "starts_at": now.isoformat(),
                "ends_at": (now + timedelta(days=3)).isoformat(),
            },
        )
        assert at_work.status_code == 201, at_work.text

    # Tomorrow (service time) 8.00 – the day after 16.00: a future period, so it is scheduled.
    start_day = now.astimezone(HELSINKI) + timedelta(days=1)
    starts = start_day.replace(hour=8, minute=0, second=0, microsecond=0)
    end_day = start_day + timedelta(days=1)

    # The whole request with the keyboard alone: from the list's link to the submit button.
    page.goto(f"/schools/{SCHOOL}")
    a11y.page(page, "school list")
    tab_to(page, "a.button[href$='/new']")
    expect(page.locator("a.button[href$='/new']")).to_have_text("Pyydä sijaistunnus")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Pyydä sijaistunnus")
    expect(page.locator("#limits")).to_contain_text("enintään 30 päivää")
    a11y.page(page, "request form")
    type_into(page, "#f-given_name", "Aino")
    type_into(page, "#f-surname", "Äijälä")
    type_into(page, "#f-start_date", fi_date(start_day))
    type_into(page, "#f-start_time", "8.00")
    type_into(page, "#f-end_date", fi_date(end_day))
    type_into(page, "#f-end_time", "16.00")
    submit_with_keyboard(page)

    expect(page).to_have_url(re.compile(r"/substitutes/[0-9a-f-]{36}$"))
    detail_url = page.url
    expect(page.locator("#status")).to_have_attribute("data-status", "scheduled")
    expect(page.locator("#status")).to_contain_text("tulossa")
    expect(page.locator("#starts")).to_have_text(f"{fi_date(start_day)} klo 8.00")
    expect(page.get_by_role("status").first).to_have_text(
        f"Sijaistunnus luotu: Aino Äijälä (sijainen). Voimassa {fi_date(start_day)} klo 8.00 – "
        f"{fi_date(end_day)} klo 16.00."
    )
    upn = page.locator("#upn").inner_text()
    assert upn.endswith("@sijaiset.tampere.fi")
    page.locator("details summary").click()  # the audit trail in words, by role: no codes, no ids
    expect(page.locator("#events")).to_contain_text("Tunnus pyydetty")
    expect(page.locator("#events")).to_contain_text("Rehtori")
    expect(page.locator("#events")).not_to_contain_text("requested")
    a11y.page(page, "substitute (scheduled)")

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
    a11y.page(page, "substitute (active)")

    # Extend with the keyboard: a wrong time and a too-late date come back together, at their fields.
    too_late = starts + timedelta(days=31)
    type_into(page, "#f-end_date", fi_date(too_late))
    type_into(page, "#f-end_time", "25.00")
    submit_with_keyboard(page, "form[action$='/extend'] button[type=submit]")
    expect(page.locator(".error-summary")).to_be_focused()
    expect(page.locator(".error-summary li")).to_have_count(1)
    assert_error_at(page, "end_time", "Anna kellonaika muodossa 8.15.")
    type_into(page, "#f-end_time", "16.00")
    submit_with_keyboard(page, "form[action$='/extend'] button[type=submit]")
    expect(page.locator(".error-summary")).to_be_focused()
    assert_error_at(page, "end_date", re.compile("Sijaisuusjakso voi olla enintään 30 päivää"))
    a11y.page(page, "substitute (extend refused)")
    new_end = end_day + timedelta(days=1)
    type_into(page, "#f-end_date", fi_date(new_end))
    submit_with_keyboard(page, "form[action$='/extend'] button[type=submit]")
    expect(page.locator("#ends")).to_have_text(f"{fi_date(new_end)} klo 16.00")
    expect(page.get_by_role("status").first).to_contain_text("Voimassaoloa jatkettu")

    # The code: shown once, in the POST response, never cached; a reload does not show it again.
    with page.expect_response(lambda r: r.request.method == "POST" and "sign-in-code" in r.url) as posted:
        page.get_by_role("button", name="Anna kirjautumiskoodi").click()
    assert posted.value.headers.get("cache-control") == "no-store"
    code = page.locator("#code").get_attribute("data-code") or ""
    assert len(code) >= 8
    groups = page.locator("#code .code-group").all_inner_texts()
    assert "".join(groups) == code and all(len(g) <= 4 for g in groups)  # grouped for reading aloud
    expect(page.locator("#validity")).to_contain_text("Voimassa")
    expect(page.locator("#handover li")).to_have_count(4)
    expect(page.locator("#handover a")).to_have_attribute("href", "https://myaccount.microsoft.com")
    a11y.page(page, "sign-in code")
    page.reload()
    assert code not in page.content()
    page.goto(detail_url)
    assert code not in page.content()
    page.go_back()
    assert code not in page.content()

    # End now, through the confirmation step.
    page.goto(detail_url)
    expect(page.get_by_role("heading", name="Päätä sijaistunnus", exact=True)).to_be_visible()
    page.get_by_role("link", name="Päätä nyt").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Päätä sijaistunnus nyt")
    a11y.page(page, "end confirmation")
    page.get_by_role("button", name="Kyllä, päätä tunnus nyt").click()
    expect(page).to_have_url(detail_url)
    expect(page.locator("#status")).to_have_attribute("data-status", "revoked")
    expect(page.get_by_role("status").first).to_contain_text("Sijaistunnus päätetty")


def test_every_error_of_a_request_is_at_its_field_at_once_and_announced(page: Page, a11y: A11y) -> None:
    sign_in(page, PRINCIPAL)
    page.goto(f"/schools/{SCHOOL}/new")

    # A one-letter search: the Finnish hint shows (the browser's own tooltip does not block the form).
    type_into(page, "#f-q", "a")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"\?q=a$"))
    expect(page.locator("#f-q-error")).to_have_text("Kirjoita vähintään kaksi merkkiä.")
    expect(page.locator("#f-q")).to_have_accessible_description(re.compile("Kirjoita vähintään kaksi merkkiä"))
    type_into(page, "#f-q", "zzzz")
    page.keyboard.press("Enter")
    expect(page.locator("#search-none")).to_have_text("Haulla ”zzzz” ei löytynyt aiempia sijaisia.")

    # No given name, a bad e-mail, an end before the start: one submit, three errors, each at its field.
    type_into(page, "#f-given_name", "")
    type_into(page, "#f-surname", "Virtanen")
    type_into(page, "#f-email", "ei-osoite")
    type_into(page, "#f-start_date", "2.2.2030")
    type_into(page, "#f-end_date", "1.2.2030")
    submit_with_keyboard(page)
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_have_attribute("role", "alert")
    expect(summary.locator("li")).to_have_count(4)
    assert_error_at(page, "given_name", "Anna etunimi.")
    assert_error_at(page, "email", "Sähköpostiosoite ei kelpaa")
    assert_error_at(page, "start_date", "Tunnusta voi pyytää enintään 60 päivää etukäteen")
    assert_error_at(page, "end_date", "Päättymisajan on oltava alkamisajan jälkeen.")
    expect(page.locator("#f-surname")).to_have_value("Virtanen")
    expect(page.locator("#f-surname")).not_to_have_attribute("aria-invalid", "true")
    expect(page).to_have_title(re.compile("^Virhe:"))
    a11y.page(page, "request form with errors")
    page.set_viewport_size({"width": 360, "height": 740})
    screenshot(page, "request-form-phone.png")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.locator(".error-summary").focus()
    # From the summary, a link takes the keyboard to its field.
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert focused_id(page) == "f-given_name"

    # The same in English.
    page.goto(f"/schools/{SCHOOL}/new?lang=en")
    type_into(page, "#f-given_name", "Ville")
    type_into(page, "#f-surname", "Virtanen")
    type_into(page, "#f-mobile_phone", "call me")
    type_into(page, "#f-end_date", "1.1.2099")
    type_into(page, "#f-end_time", "8")
    submit_with_keyboard(page)
    expect(page.locator(".error-summary")).to_be_focused()
    assert_error_at(page, "mobile_phone", "The phone number is not valid.")
    assert_error_at(page, "end_date", "A substitution period can last at most 30 days")
    a11y.page(page, "request form with errors (en)")
    page.goto(f"/schools/{SCHOOL}?lang=fi")


def test_principal_cannot_reach_another_schools_pages(page: Page, server: Server, a11y: A11y) -> None:
    # A substitute at Kaleva, requested through the API by Kaleva's principal.
    kaleva = server.token("--role", "Principal", "--school", "tampere/kaleva")
    start = datetime.now(HELSINKI).replace(hour=8, minute=0, second=0, microsecond=0) + timedelta(days=12)
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
        "/schools/tampere/kaleva/mfa",
        f"/substitutes/{other_id}",
        f"/substitutes/{other_id}/end",
        "/schools/nokia/harjuniitty",
        "/schools/tampere/nosuch",
        "/admin/mfa",
        "/admin/jobs",
    ):
        response = page.goto(path)
        assert response is not None and response.status == 404, path
        expect(page.locator("#error-message")).to_contain_text("Sivua ei löytynyt.")
    expect(page.locator("#request-id")).to_contain_text("Virhetunniste")
    a11y.page(page, "404 page (signed in)")
    response = page.goto(f"/schools/{SCHOOL}")
    assert response is not None and response.status == 200


def test_principal_sees_their_schools_mfa_numbers(page: Page, server: Server, a11y: A11y) -> None:
    token = server.token("--role", "Principal", "--school", SCHOOL)
    with server.api(token) as api:
        rows = api.get("/v1/mfa/summary", params={"school": SCHOOL, "group_by": "role"}).json()["rows"]
        missing = api.get("/v1/mfa/users", params={"school": SCHOOL, "role": "staff", "format": "csv"}).content
    sign_in(page, PRINCIPAL)
    page.get_by_role("link", name="MFA-tilanne").click()
    expect(page).to_have_url(re.compile(f"/schools/{SCHOOL}/mfa$"))
    for row in rows:
        if row["role"] in ("staff", "pupil"):
            card = page.locator(f'.kpi[data-role="{row["role"]}"]')
            expect(card).to_have_attribute("data-total", str(row["total"]))
            expect(card).to_have_attribute("data-capable", str(row["capable"]))
    a11y.page(page, "MFA of a school (principal)")
    assert page.request.get(f"/schools/{SCHOOL}/mfa/unregistered.csv").body() == missing


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
    a11y.page(page, "request form with search results")
    page.get_by_role("link", name="Valitse: Ritva Rönkä").click()
    expect(page.locator("main form[method=post]")).to_contain_text("Palaava sijainen: Ritva Rönkä")
    later = (first_start + timedelta(days=7)).date()
    page.get_by_label("Alkamispäivä").fill(f"{later.day}.{later.month}.{later.year}")
    page.get_by_label("Päättymispäivä").fill(f"{later.day}.{later.month}.{later.year}")
    page.get_by_role("button", name="Pyydä sijaistunnus").click()
    expect(page).to_have_url(re.compile(r"/substitutes/[0-9a-f-]{36}$"))
    expect(page.locator("#upn")).to_have_text(upn)  # one person, one account

    # The same person again for the same day: the refusal is at the chosen person, not only on top.
    page.goto(f"/schools/{SCHOOL}/new?q=r%C3%B6nk%C3%A4&person={first.json()['person_id']}")
    page.get_by_label("Alkamispäivä").fill(f"{later.day}.{later.month}.{later.year}")
    page.get_by_label("Päättymispäivä").fill(f"{later.day}.{later.month}.{later.year}")
    page.get_by_role("button", name="Pyydä sijaistunnus").click()
    expect(page.locator(".error-summary")).to_be_focused()
    expect(page.locator('.error-summary a[href="#f-person"]')).to_have_count(1)
    expect(page.locator("#f-person-error")).to_contain_text("Samalle henkilölle on jo sijaistunnus")


def test_several_substitutes_from_a_spreadsheet_paste_with_a_result_per_row(page: Page, a11y: A11y) -> None:
    """The bulk form: "add row" adds a row in place; rows copied from a spreadsheet (tab-separated) and
    pasted into the first name cell fill the rows below, adding one where needed; each row gets its result."""
    sign_in(page, PRINCIPAL)
    page.goto(f"/schools/{SCHOOL}/bulk")
    rows = page.locator("#bulk-grid tbody tr")
    expect(rows).to_have_count(5)
    page.get_by_role("button", name="Lisää rivi").click()
    expect(rows).to_have_count(6)
    expect(page).to_have_url(re.compile(r"/bulk$"))  # in place, no post
    start = datetime.now(HELSINKI) + timedelta(days=20)
    day = fi_date(start)
    names = ("Ulla Uusitalo", "Veikko Vuori", "Wilma Wirtanen", "Xenia Xu", "Yrjö Ylönen", "Zacharias Zetterberg",
             "Åke Åberg")
    sheet = "\n".join(f"{name}\t{day}\t{day}" for name in names) + "\n"
    page.get_by_label("Nimi, rivi 1", exact=True).evaluate(
        """(input, text) => { const data = new DataTransfer(); data.setData('text', text);
           input.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true,
                                                            cancelable: true})); }""",
        sheet,
    )
    expect(rows).to_have_count(7)
    expect(page.get_by_label("Nimi, rivi 7", exact=True)).to_have_value("Åke Åberg")
    expect(page.get_by_label("Päättyy, rivi 2", exact=True)).to_have_value(day)
    a11y.page(page, "bulk form filled from a paste")
    page.get_by_role("button", name="Pyydä tunnukset").click()
    results = page.locator("#bulk-results tbody tr")
    expect(results).to_have_count(7)
    expect(results.nth(6)).to_contain_text("Åke Åberg")
    expect(page.locator("#bulk-results a[href^='/substitutes/']")).to_have_count(7)
    a11y.page(page, "bulk results")
