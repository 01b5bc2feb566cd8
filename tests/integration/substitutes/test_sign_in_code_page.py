"""The sign-in code page shows a code once: its one-shot token is recorded on the server and spent at
the first use, so neither a reloaded form nor a replayed request — with the cookie as it was before —
gets a second code (the token used to live in the cookie, where a replay could spend it again)."""

from __future__ import annotations

import re

from idops.web.session import COOKIE
from tests.integration.substitutes.conftest import SCHOOL, Api


def form_value(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', html)
    assert found, name
    return found.group(1)


def passes_created(api: Api) -> int:
    return sum(1 for e in api.emulator.log.snapshot()
               if e.method == "POST" and e.path.endswith("/temporaryAccessPassMethods"))


async def test_the_code_is_shown_once_and_a_replay_gets_none(api: Api) -> None:
    made = await api.request()
    assert made.status_code == 201, made.text
    period_id = made.json()["id"]
    page = await api.client.get("/sign-in")
    signed = await api.client.post("/sign-in/demo",
                                   data={"csrf": form_value(page.text, "csrf"), "who": f"principal:{SCHOOL}"})
    assert signed.status_code == 303
    detail = await api.client.get(f"/substitutes/{period_id}")
    form = {"csrf": form_value(detail.text, "csrf"), "once": form_value(detail.text, "once")}
    cookie_before = api.client.cookies[COOKIE]

    shown = await api.client.post(f"/substitutes/{period_id}/sign-in-code", data=form)
    assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"
    assert passes_created(api) == 1

    reloaded = await api.client.post(f"/substitutes/{period_id}/sign-in-code", data=form)
    assert reloaded.status_code == 303 and reloaded.headers["location"] == f"/substitutes/{period_id}"
    api.client.cookies.set(COOKIE, cookie_before)  # the request replayed as it was first sent
    again = await api.client.post(f"/substitutes/{period_id}/sign-in-code", data=form)
    assert again.status_code == 303
    assert passes_created(api) == 1  # no second pass was made
    notice = await api.client.get(f"/substitutes/{period_id}")
    assert "Kirjautumiskoodi on jo näytetty" in notice.text
