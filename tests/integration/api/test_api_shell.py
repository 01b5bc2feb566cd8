"""The API shell: health, readiness, metrics, problem+json everywhere, request ids, body limits."""

from __future__ import annotations

import httpx

from tests.conftest import TokenFactory, bearer


async def test_healthz_answers_ok(api: httpx.AsyncClient) -> None:
    r = await api.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


async def test_readyz_reports_database_and_migrations(api: httpx.AsyncClient) -> None:
    r = await api.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json()["checks"] == {"database": "ok", "migrations": "ok"}


async def test_openapi_and_docs_are_served(api: httpx.AsyncClient) -> None:
    schema = (await api.get("/openapi.json")).json()
    assert schema["info"]["title"] == "idops"
    assert "/v1/jobs" in schema["paths"]
    assert (await api.get("/docs")).status_code == 200


async def test_unknown_path_is_problem_json_in_finnish_by_default(api: httpx.AsyncClient) -> None:
    r = await api.get("/v1/nothing-here")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == 404 and body["title"] == "Ei löytynyt" and body["instance"] == "/v1/nothing-here"


async def test_english_is_available(api: httpx.AsyncClient) -> None:
    r = await api.get("/v1/nothing-here", headers={"Accept-Language": "en-GB,en;q=0.9,fi;q=0.5"})
    assert r.json()["title"] == "Not found"


async def test_request_id_is_echoed_or_made(api: httpx.AsyncClient) -> None:
    r = await api.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    hostile = await api.get("/healthz", headers={"X-Request-ID": "evil\tvalue with spaces"})
    assert hostile.headers["x-request-id"] != "evil\tvalue with spaces"
    assert len(hostile.headers["x-request-id"]) == 32


async def test_metrics_are_prometheus_text(api: httpx.AsyncClient) -> None:
    await api.get("/healthz")
    r = await api.get("/metrics")
    assert r.status_code == 200
    assert "idops_http_requests_total" in r.text
    assert 'route="/healthz"' in r.text


async def test_oversized_body_is_refused_with_413(api: httpx.AsyncClient, make_token: TokenFactory) -> None:
    token = make_token("RegionAdmin")
    r = await api.post("/v1/jobs/housekeeping/run", content=b"x" * (70 * 1024),
                       headers={**bearer(token), "Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"


async def test_validation_errors_are_problem_json(api: httpx.AsyncClient, make_token: TokenFactory) -> None:
    r = await api.post("/v1/jobs/housekeeping/run?wait=maybe", headers=bearer(make_token("RegionAdmin")))
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["loc"] == ["query", "wait"]
