"""One structured access-log line per request (method, route template, status, duration, request id, caller
role — never the token or the query), and an unexpected error's answer and every log line written while
handling it carry the request's id."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import structlog

from idops.app import create_app
from idops.config import Config
from idops.container import Container
from idops.kit.logging import configure_logging
from tests.conftest import TokenFactory, bearer
from tests.integration.observability.conftest import SCHOOL, Harness, insert_period

SECRET_QUERY = "tap-code-ABCD-EFGH"


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """The service's own JSON logging into a buffer; the test process's logging restored afterwards."""
    root = logging.getLogger()
    handlers, level, config = root.handlers[:], root.level, structlog.get_config()
    out = io.StringIO()
    configure_logging("json", "INFO", stream=out)
    try:
        yield out
    finally:
        structlog.contextvars.clear_contextvars()
        structlog.configure(**config)
        root.handlers[:] = handlers
        root.setLevel(level)


def events(out: io.StringIO, name: str | None = None) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    return [e for e in lines if name is None or e["event"] == name]


@pytest.fixture
async def client_with_a_failing_route(container: Container, config: Config) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(config, container_factory=lambda: container, start_scheduler=False)

    async def boom() -> None:
        structlog.get_logger("idops.test").info("about_to_fail")
        raise RuntimeError("an unexpected bug")

    app.add_api_route("/v1/boom/{thing}", boom)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://idops.test"
    ) as client:
        yield client


async def test_one_access_line_per_request_with_route_template_role_and_request_id_and_no_token(
    harness: Harness, log_lines: io.StringIO, make_token: TokenFactory
) -> None:
    h = harness
    period_id, _ = await h.add_active(ends_in=timedelta(days=3))
    token = make_token("ItAdmin", municipality="tampere")

    got = await h.client.get(f"/v1/substitutes/{period_id}", params={"code": SECRET_QUERY},
                             headers={**bearer(token), "x-request-id": "req-1"})
    missing = await h.client.get("/v1/substitutes/no-such-period", headers=bearer(token))
    anonymous = await h.client.get("/healthz")

    assert got.status_code == 200 and missing.status_code == 404 and anonymous.status_code == 200
    lines = events(log_lines, "http_request")
    assert len(lines) == 3
    first, second, third = lines
    assert {k: first[k] for k in ("method", "route", "status", "request_id", "caller_role", "logger")} == {
        "method": "GET", "route": "/v1/substitutes/{substitute_id}", "status": 200, "request_id": "req-1",
        "caller_role": "ItAdmin", "logger": "idops.access",
    }
    assert isinstance(first["duration_ms"], float) and first["duration_ms"] >= 0
    assert second["status"] == 404 and second["request_id"] == missing.headers["x-request-id"]
    assert second["route"] == "/v1/substitutes/{substitute_id}"  # the template, never the id asked for
    assert third["caller_role"] == "anonymous" and third["route"] == "/healthz"
    text = log_lines.getvalue()
    assert token not in text and token.split(".")[2] not in text and SECRET_QUERY not in text
    assert "no-such-period" not in text


async def test_an_unexpected_error_answers_with_the_request_id_and_every_line_of_it_carries_it(
    client_with_a_failing_route: httpx.AsyncClient, log_lines: io.StringIO, make_token: TokenFactory,
    container: Container,
) -> None:
    r = await client_with_a_failing_route.get("/v1/boom/x", headers=bearer(make_token("RegionAdmin")))

    assert r.status_code == 500
    rid = r.headers["x-request-id"]
    assert r.headers["content-type"] == "application/problem+json" and r.json()["request_id"] == rid
    assert "an unexpected bug" not in r.text  # the cause stays in the log
    lines = events(log_lines)
    assert {e["event"] for e in lines} >= {"about_to_fail", "unhandled_error", "http_request"}
    assert all(e.get("request_id") == rid for e in lines if e["event"] != "service_started"), lines
    failed = next(e for e in lines if e["event"] == "unhandled_error")
    assert "RuntimeError: an unexpected bug" in failed["exception"]
    access = next(e for e in lines if e["event"] == "http_request")
    assert access["status"] == 500 and access["route"] == "/v1/boom/{thing}"
    assert container.metrics.registry.get_sample_value(
        "idops_http_requests_total", {"method": "GET", "route": "/v1/boom/{thing}", "status": "500"}) == 1


async def test_a_page_request_logs_the_signed_in_role(harness: Harness, log_lines: io.StringIO) -> None:
    await harness.sign_in("itadmin:tampere")
    await insert_period(harness.c, school=SCHOOL, person_id="p-1", entra_user_id=None, upn=None, name="Eino",
                        starts_at=harness.clock.now(), ends_at=harness.clock.now() + timedelta(days=1))
    page = await harness.client.get("/admin/substitutes")
    assert page.status_code == 200
    [line] = [e for e in events(log_lines, "http_request") if e["route"] == "/admin/substitutes"]
    assert line["caller_role"] == "ItAdmin" and line["status"] == 200
