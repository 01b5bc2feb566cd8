"""Page sessions are held by the server: the cookie names a session, the record says who signed in.

A cookie signed with the real secret gets nowhere without a live record; a record's tenant must be one
of the region's; sign-out ends the record (the old cookie is worthless); "sign out everywhere" — on the
help page, or ``POST /v1/me/sessions/end-all`` — ends the user's sessions in every browser.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from itsdangerous import Signer, URLSafeTimedSerializer

from idops.container import Container
from idops.sessions import service as sessions
from idops.web.session import COOKIE
from tests.conftest import TokenFactory, bearer, demo_sign_in

SCHOOL = "tampere/hervanta"
FOREIGN_TENANT = "00000000-0000-4000-8000-000000000000"


def container_of(client: httpx.AsyncClient) -> Container:
    c: Container = client.app.state.container  # type: ignore[attr-defined]
    return c


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found.group(1)


def signed(c: Container, raw_id: str) -> str:
    assert c.session_secret is not None
    return Signer(c.session_secret.get_secret_value(), salt="idops.web.session").sign(raw_id).decode()


def session_id_of(c: Container, cookie: str) -> str:
    """The session id a cookie carries (checked against the real secret)."""
    assert c.session_secret is not None
    return Signer(c.session_secret.get_secret_value(), salt="idops.web.session").unsign(cookie).decode()


def browser(app: Any, cookie: str | None = None) -> httpx.AsyncClient:
    """Another browser on the same app, holding only ``cookie`` (if any)."""
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://idops.test",
                               cookies={COOKIE: cookie} if cookie is not None else None)
    client.app = app  # type: ignore[attr-defined]
    return client


async def is_signed_in(client: httpx.AsyncClient) -> bool:
    """Whether ``client``'s session is a signed-in one (the page offers to sign out)."""
    response = await client.get("/ohje")
    assert response.status_code == 200
    return 'action="/sign-out"' in response.text


async def cookie_signs_in(app: Any, cookie: str) -> bool:
    async with browser(app, cookie) as client:
        return await is_signed_in(client)


@pytest.fixture
async def second_browser(api: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    async with browser(api.app) as other:  # type: ignore[attr-defined]
        yield other


async def test_the_cookie_carries_only_the_signed_session_id(api: httpx.AsyncClient) -> None:
    await api.get("/sign-in")  # the sign-in form's CSRF token starts a visitor's session
    visitor = api.cookies[COOKIE]
    await demo_sign_in(api, f"principal:{SCHOOL}")
    c = container_of(api)
    cookie = api.cookies[COOKIE]
    assert cookie != visitor and not await cookie_signs_in(api.app, visitor)  # type: ignore[attr-defined]
    raw = session_id_of(c, cookie)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", raw)  # 32 random bytes, nothing else
    live = await sessions.find(c.uow(), raw, datetime.now(UTC))
    assert live is not None and live.user is not None
    assert live.user.roles == ("Principal",) and live.user.tid == c.config.region.school(SCHOOL)[0].tenant_id  # type: ignore[index]


async def test_a_forged_cookie_is_refused_even_when_signed_with_the_real_secret(api: httpx.AsyncClient) -> None:
    c = container_of(api)
    assert c.session_secret is not None
    secret = c.session_secret.get_secret_value()
    muni = c.config.region.municipalities[0]
    # The old cookie's shape (claims in the cookie), a region admin of a tenant outside the region:
    claims = {"oid": "a" * 8, "tid": FOREIGN_TENANT, "roles": ["RegionAdmin"], "signed_in_at": 2_000_000_000}
    old_style = URLSafeTimedSerializer(secret, salt="idops.web.session").dumps({"user": claims})
    assert not await cookie_signs_in(api.app, old_style)  # type: ignore[attr-defined]
    # A session id nobody issued, correctly signed:
    assert not await cookie_signs_in(api.app, signed(c, "x" * 43))  # type: ignore[attr-defined]
    # A record whose tenant is not one of the region's (however it got there), named by a signed cookie:
    raw, _ = await sessions.start(c.uow(), datetime.now(UTC), claims=claims)
    async with browser(api.app, signed(c, raw)) as forged:  # type: ignore[attr-defined]
        refused = await forged.get("/admin/region")
    assert refused.status_code == 403
    assert await sessions.find(c.uow(), raw, datetime.now(UTC)) is None  # and the session is ended
    # The same record with a region tenant would have been a region admin (the check is the tenant):
    raw, _ = await sessions.start(c.uow(), datetime.now(UTC), claims={**claims, "tid": muni.tenant_id})
    async with browser(api.app, signed(c, raw)) as region_admin:  # type: ignore[attr-defined]
        assert (await region_admin.get("/admin/region")).status_code == 200


async def test_a_cookie_from_before_sign_out_is_refused(api: httpx.AsyncClient) -> None:
    await demo_sign_in(api, f"principal:{SCHOOL}")
    before = api.cookies[COOKIE]
    home = await api.get(f"/schools/{SCHOOL}/mfa")  # a page that needs no Graph
    assert home.status_code == 200
    out = await api.post("/sign-out", data={"csrf": csrf_of(home.text)})
    assert out.status_code == 303 and out.headers["location"] == "/sign-in?signed_out=1"
    async with browser(api.app, before) as replay:  # type: ignore[attr-defined]
        refused = await replay.get(f"/schools/{SCHOOL}/mfa")
    assert refused.status_code == 303 and refused.headers["location"] == "/sign-in"


async def test_sign_out_everywhere_ends_another_browsers_session(
    api: httpx.AsyncClient, second_browser: httpx.AsyncClient
) -> None:
    who = "itadmin:tampere"
    await demo_sign_in(api, who)
    await demo_sign_in(second_browser, who)
    async with browser(api.app) as third:  # type: ignore[attr-defined]
        await demo_sign_in(third, f"principal:{SCHOOL}")  # someone else
        other_user = third.cookies[COOKIE]
    assert await is_signed_in(api) and await is_signed_in(second_browser)

    help_page = await api.get("/ohje")
    assert 'action="/sign-out/everywhere"' in help_page.text
    done = await api.post("/sign-out/everywhere", data={"csrf": csrf_of(help_page.text)})
    assert done.status_code == 303 and done.headers["location"] == "/sign-in?signed_out=all"
    assert "kaikilta laitteilta" in (await api.get(done.headers["location"])).text

    assert not await is_signed_in(second_browser)
    assert not await is_signed_in(api)
    assert await cookie_signs_in(api.app, other_user)  # type: ignore[attr-defined] # another user's: untouched


async def test_the_api_ends_the_callers_page_sessions(
    api: httpx.AsyncClient, second_browser: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    await demo_sign_in(second_browser, f"principal:{SCHOOL}")
    await demo_sign_in(api, "itadmin:tampere")
    token = make_token("Principal", school=SCHOOL)
    ended = await api.post("/v1/me/sessions/end-all", headers=bearer(token))
    assert ended.status_code == 200 and ended.json() == {"ended": 1}
    assert not await is_signed_in(second_browser)
    assert await is_signed_in(api)  # the IT admin's own session is untouched
    assert (await api.post("/v1/me/sessions/end-all")).status_code == 401


async def test_a_region_admin_ends_another_users_page_sessions_and_it_is_audited(
    api: httpx.AsyncClient, second_browser: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    await demo_sign_in(second_browser, f"principal:{SCHOOL}")
    c = container_of(api)
    live = await sessions.find(c.uow(), session_id_of(c, second_browser.cookies[COOKIE]), datetime.now(UTC))
    assert live is not None and live.user is not None
    path = f"/v1/users/{live.user.tid}/{live.user.oid}/sessions/end-all"
    for role, kwargs in (("ItAdmin", {"municipality": "tampere"}), ("Principal", {"school": SCHOOL})):
        refused = await api.post(path, headers=bearer(make_token(role, **kwargs)))
        assert refused.status_code == 403, role
    assert await is_signed_in(second_browser)
    assert (await api.post("/v1/users/not-a-uuid/x/sessions/end-all",
                           headers=bearer(make_token("RegionAdmin")))).status_code == 422

    ended = await api.post(path, headers=bearer(make_token("RegionAdmin")))
    assert ended.status_code == 200 and ended.json() == {"ended": 1}
    assert not await is_signed_in(second_browser)
    async with c.uow() as uow:
        [event] = await uow.audit.events_of("user", live.user.oid)
    assert event.action == "page_sessions_ended" and event.actor.startswith("RegionAdmin:")
    assert event.details == {"tenant": live.user.tid, "ended": 1}
