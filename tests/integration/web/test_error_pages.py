"""One error mapping, two answers: a browser (or any page) gets an HTML page in the site's layout with
the request id; an API client gets problem+json — for 404s, unexpected errors and Graph's errors alike.
Nothing from inside (exception text, Graph's error) reaches either."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from idops.graph.errors import GraphUnavailable
from idops.kit.errors import FieldProblem, Message, PolicyViolation
from idops.web.render import CSP
from idops.web.routing import PageRoute

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
SECRET = "assign_licence: HTTP 400 Request_BadRequest token=abc"


def _failing_routes(app: FastAPI) -> None:
    pages = APIRouter(route_class=PageRoute)
    api = APIRouter()

    async def boom() -> None:
        raise RuntimeError(SECRET)

    async def graph() -> None:
        raise GraphUnavailable(SECRET, status=503)

    async def policy() -> None:
        raise PolicyViolation(
            problems=[
                FieldProblem("starts_at", Message("Alku liian kaukana.", "Start too far.")),
                FieldProblem("ends_at", Message("Loppu ennen alkua.", "End before start.")),
            ]
        )

    pages.add_api_route("/test/boom", boom)
    pages.add_api_route("/test/graph", graph)
    api.add_api_route("/v1/test/boom", boom)
    api.add_api_route("/v1/test/policy", policy)
    app.include_router(pages)
    app.include_router(api)


@pytest.fixture
async def client(api: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = api.app  # type: ignore[attr-defined]
    _failing_routes(app)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://idops.test") as c:
        yield c


async def test_an_unexpected_error_is_a_friendly_page_for_a_browser_and_problem_json_for_a_client(
    client: httpx.AsyncClient,
) -> None:
    for path, headers in (("/test/boom", {}), ("/v1/test/boom", BROWSER)):
        r = await client.get(path, headers=headers)
        assert r.status_code == 500 and r.headers["content-type"].startswith("text/html"), path
        assert "<h1>Jotain meni vikaan</h1>" in r.text
        assert r.headers["x-request-id"] in r.text  # support can find the log lines
        assert "RuntimeError" not in r.text and "assign_licence" not in r.text
        assert r.headers["content-security-policy"] == CSP and r.headers["x-frame-options"] == "DENY"
    r = await client.get("/v1/test/boom")
    assert r.status_code == 500 and r.headers["content-type"] == "application/problem+json"
    assert "assign_licence" not in r.text and r.json()["request_id"] == r.headers["x-request-id"]


async def test_graph_trouble_on_a_page_is_told_in_words(client: httpx.AsyncClient) -> None:
    r = await client.get("/test/graph?lang=en")
    assert r.status_code == 503 and "Microsoft&#39;s service is not answering" in r.text
    assert "HTTP 400" not in r.text


async def test_unknown_addresses_answer_browsers_in_html_and_clients_in_json(client: httpx.AsyncClient) -> None:
    page = await client.get("/nothing/here", headers=BROWSER)
    assert page.status_code == 404 and '<html lang="fi">' in page.text and "Sivua ei löytynyt" in page.text
    json = await client.get("/nothing/here", headers={"Accept": "application/json"})
    assert json.status_code == 404 and json.json()["type"].endswith("/http-404")
    both = await client.get("/nothing/here", headers={"Accept": "application/json, text/html"})
    assert both.headers["content-type"] == "application/problem+json"  # the first listed wins a tie


async def test_a_policy_refusal_lists_each_field_like_a_validation_error(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/test/policy", headers={"Accept-Language": "en"})
    body = r.json()
    assert r.status_code == 422 and body["detail"] == "Start too far."
    assert body["errors"] == [
        {"loc": ["body", "starts_at"], "msg": "Start too far.", "type": "policy-violation"},
        {"loc": ["body", "ends_at"], "msg": "End before start.", "type": "policy-violation"},
    ]
