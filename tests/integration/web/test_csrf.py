"""Every form the pages accept needs this session's CSRF token: a POST to any page route without it,
with an empty one, or with another session's (the same user's, in another browser) is refused with
403 before its handler runs, and nothing changes."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

import httpx

from idops.web.pages import router as pages
from idops.web.routing import PageRoute
from tests.conftest import demo_sign_in
from tests.integration.web.test_page_sessions import browser, csrf_of, is_signed_in

SCHOOL = "tampere/hervanta"


def routes_of(routes: Sequence[Any]) -> Iterator[Any]:
    """Every route, through included routers (FastAPI keeps an included router as one entry)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        yield from routes_of(included.routes) if included is not None else [route]


def page_posts() -> list[str]:
    """The path of every page route that takes a POST, its parameters filled in."""
    routes = [r for r in routes_of(pages.routes) if isinstance(r, PageRoute) and "POST" in (r.methods or ())]
    return sorted(re.sub(r"\{[^}]+\}", "x", r.path_format) for r in routes)


async def test_no_page_form_is_accepted_without_this_sessions_token(api: httpx.AsyncClient) -> None:
    app = api.app  # type: ignore[attr-defined]
    paths = page_posts()
    assert {"/sign-in/demo", "/sign-out", "/sign-out/everywhere"} <= set(paths) and len(paths) >= 8, paths
    await demo_sign_in(api, f"principal:{SCHOOL}")
    async with browser(app) as other:
        await demo_sign_in(other, f"principal:{SCHOOL}")  # the same user, another browser: another token
        others_token = csrf_of((await other.get("/ohje")).text)
    mine = csrf_of((await api.get("/ohje")).text)
    assert others_token != mine

    refused = []
    for path in paths:
        for form in ({}, {"csrf": ""}, {"csrf": others_token}, {"csrf": mine[:-1]}):
            response = await api.post(path, data=form)
            refused.append(response.status_code == 403 and "CSRF" not in response.headers.get("location", ""))
    assert all(refused) and len(refused) == 4 * len(paths)
    assert await is_signed_in(api)  # the refused sign-outs changed nothing

    done = await api.post("/sign-out", data={"csrf": mine})  # the right token works
    assert done.status_code == 303 and not await is_signed_in(api)
