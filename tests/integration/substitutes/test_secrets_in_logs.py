"""No secret reaches a log line, in either log format, when things fail with secrets in play.

Every scenario forces an exception through real code — a page handler, an API handler, a job, the
Graph client — while known secrets are live: the pages' session secret, the OIDC client secret, a
Graph client secret, a Temporary Access Pass, a one-time password (and, as credentials of their
own, the PKCE verifier, the session cookie and a bearer token). The process's logging is configured
as ``idops serve`` does it, with two handlers on the root logger, one per format (``json`` and
``console``), each writing to its own stream; uvicorn and APScheduler run for real and log through
the same root. Both streams are scanned: 0 hits.

On the code before this test (structlog's ConsoleRenderer printing rich tracebacks with every
frame's locals; redaction of top-level event keys only; the built-in emulator's uvicorn replacing the
process's logging config) it failed with 15 hits. In the console stream: the one-time password (a
local of ``access_pass.issue`` when the audit write failed) and the bearer token (the request's
headers) — API handler; the Temporary Access Pass (locals ``d`` and ``code`` of the Graph response
parser) — page handler + Graph client; the Graph client secret (a parameter of azure-identity's
token request) — job; the PKCE verifier — OIDC callback page; and in both streams the OIDC client
secret, the pass, the password, the token and the session cookie in the exception text APScheduler
logged. uvicorn's "Exception in ASGI application" did not reach the streams at all (the emulator had
set ``uvicorn.error`` to CRITICAL with its own stderr handler). One console traceback was 1.2 MB.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
import structlog
import uvicorn
from apscheduler.events import EVENT_JOB_ERROR
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.exc import OperationalError

from idops.app import create_app
from idops.audit.repository import AuditRepository
from idops.bootstrap import bootstrap
from idops.config import Config
from idops.config.region import GraphConnection
from idops.container import Container
from idops.emulator import handlers as emulator_handlers
from idops.emulator.server import EmulatorServer
from idops.jobruntime.runner import run_job
from idops.kit import logging as idops_logging
from idops.kit.clock import FrozenClock
from idops.web.auth import oidc_client
from tests.conftest import NoDirectories, TokenFactory
from tests.integration.substitutes.conftest import SCHOOL, Api

SESSION_SECRET = "session-secret-" + "k9Q2" * 10
OIDC_SECRET = "oidc-client-secret-Zx81~pQ.Lm4-Vn7_Ty2"
GRAPH_SECRET = "graph-client-secret-Hb5~Rw9.Kp3_Ud6-Xe1"
GRAPH_SECRET_ENV = "IDOPS_TEST_GRAPH_SECRET"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
UNREACHABLE = "https://127.0.0.1:9"  # nothing listens on the discard port: connecting fails at once
MARK = "scenario-marker"


@dataclass
class Capture:
    """What the root logger wrote in each format, and the secrets in play (name → value)."""

    streams: dict[str, io.StringIO]
    secrets: dict[str, str] = field(default_factory=dict)

    def scenario(self, name: str) -> None:
        """Mark where a scenario's lines begin, so a hit names the scenario that leaked."""
        structlog.get_logger("test").warning(MARK, scenario=name)

    def hits(self) -> list[str]:
        """One line per (format, scenario, secret) whose value appears in the output — whole, or
        either end of a long one (a console line wraps a long value, and a cut one is still a leak)."""
        found = []
        for fmt, stream in self.streams.items():
            name = "start"
            for line in stream.getvalue().splitlines():
                if MARK in line:
                    name = re.findall(r"(?:scenario=|\"scenario\": \")(\w+)", line)[0]
                for what, value in self.secrets.items():
                    pieces = [value] if len(value) < 24 else [value[:12], value[-12:]]
                    if any(piece in line for piece in pieces):
                        found.append(f"{fmt} / {name}: {what}")
        return sorted(set(found))


@pytest.fixture
def capture(monkeypatch: pytest.MonkeyPatch) -> Iterator[Capture]:
    """Both formats at once — a handler each, as ``configure_logging`` builds it for that format —
    with the secrets set in the environment before anything is bootstrapped. The process's logging
    and registered secrets are put back afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, structlog.get_config())
    monkeypatch.setenv("IDOPS_SESSION_SECRET", SESSION_SECRET)
    monkeypatch.setenv("IDOPS_OIDC_CLIENT_SECRET", OIDC_SECRET)
    monkeypatch.setenv(GRAPH_SECRET_ENV, GRAPH_SECRET)
    streams = {"console": io.StringIO(), "json": io.StringIO()}
    handlers = []
    for fmt, stream in streams.items():
        idops_logging.configure_logging(fmt, "INFO", stream=stream)
        handlers.append(root.handlers[0])
    root.handlers[:] = handlers
    try:
        yield Capture(streams, {"session secret": SESSION_SECRET, "OIDC client secret": OIDC_SECRET,
                                "Graph client secret": GRAPH_SECRET})
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        structlog.configure(**saved[2])
        idops_logging.REDACTOR.forget_all()


@pytest.fixture
async def api(capture: Capture, container: Container, sub_config: Config, emulator: EmulatorServer,
              clock: FrozenClock, make_token: TokenFactory) -> AsyncIterator[Api]:
    """The substitutes' ``api``, built after ``capture`` (the secrets are set when it bootstraps), whose
    client gets a 500 answer where the app fails instead of the exception itself."""
    app = create_app(sub_config, container_factory=lambda: container)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=transport, base_url="http://idops.test"
    ) as client:
        yield Api(client, container, emulator, clock, make_token)


def form_value(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', html)
    assert found, name
    return found.group(1)


def with_graph_secret(config: Config, municipality: str) -> Config:
    """``config`` with one municipality's tenant reached with a client secret (from the environment)."""
    graph = GraphConnection(credential="client_secret", client_id=CLIENT_ID, client_secret_env=GRAPH_SECRET_ENV)
    munis = [m.model_copy(update={"graph": graph}) if m.key == municipality else m
             for m in config.region.municipalities]
    return dataclasses.replace(config, region=config.region.model_copy(update={"municipalities": munis}))


async def api_handler_with_a_one_time_password(capture: Capture, api: Api, monkeypatch: pytest.MonkeyPatch) -> str:
    """The tenant's TAP policy is off, so the code is a password set on the account; then the audit
    write fails (the database is locked) with the password a local of ``access_pass.issue``."""
    capture.scenario("api_one_time_password")
    made = await api.request()
    assert made.status_code == 201, made.text
    period_id: str = made.json()["id"]
    tenant = api.emulator.state.tenant(api.tenant())
    tenant.tap_policy.state = "disabled"
    headers = api.principal()
    capture.secrets["bearer token"] = headers["Authorization"].removeprefix("Bearer ")

    def database_locked(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("INSERT INTO audit_events", {}, Exception("database is locked"))

    with monkeypatch.context() as m:
        m.setattr(AuditRepository, "record", database_locked)
        failed = await api.client.post(f"/v1/substitutes/{period_id}/access-pass", headers=headers)
    assert failed.status_code == 500
    passwords = [u.password_profile["password"] for u in tenant.users.values()
                 if u.employee_type and u.password_profile]
    assert len(passwords) == 1  # the one-time password replaced the initial one
    capture.secrets["one-time password"] = passwords[0]
    tenant.tap_policy.state = "enabled"
    api.clock.advance(timedelta(minutes=11))  # past idops' cached view of the TAP policy
    return period_id


async def page_and_graph_client_with_an_access_pass(
    capture: Capture, api: Api, period_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A principal asks for the sign-in code on the page; Graph creates the pass but its answer lacks
    the method's id, so the adapter's parser fails holding the pass (``d``, ``code``)."""
    capture.scenario("page_and_graph_access_pass")
    page = await api.client.get("/sign-in")
    signed = await api.client.post("/sign-in/demo",
                                   data={"csrf": form_value(page.text, "csrf"), "who": f"principal:{SCHOOL}"})
    assert signed.status_code == 303
    capture.secrets["session cookie"] = api.client.cookies["idops_session"]
    detail = await api.client.get(f"/substitutes/{period_id}")
    assert detail.status_code == 200, detail.text
    tap_json = emulator_handlers.tap_json
    with monkeypatch.context() as m:
        m.setattr(emulator_handlers, "tap_json",
                  lambda *a, **k: {key: v for key, v in tap_json(*a, **k).items() if key != "id"})
        failed = await api.client.post(
            f"/substitutes/{period_id}/sign-in-code",
            data={"csrf": form_value(detail.text, "csrf"), "once": form_value(detail.text, "once")},
        )
    assert failed.status_code == 500
    taps = api.emulator.state.tenant(api.tenant()).taps
    assert len(taps) == 1, "Graph created the pass"
    capture.secrets["Temporary Access Pass"] = next(iter(taps.values())).code


async def job_with_a_graph_client_secret(capture: Capture, api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """``ingest_signins`` over a region where Tampere's tenant uses a client secret and the identity
    platform cannot be reached: the secret is in azure-identity's token request when it fails."""
    capture.scenario("job_graph_client_secret")
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", UNREACHABLE)
    config = with_graph_secret(api.container.config, "tampere")
    # one try per unit on any database (PostgreSQL retries a failed unit after 60 s, then 120 s)
    scheduler = config.settings.scheduler.model_copy(update={"unit_attempts": 1})
    config = dataclasses.replace(config, settings=config.settings.model_copy(update={"scheduler": scheduler}))
    container = bootstrap(config, clock=api.clock, graph_base_url=api.emulator.base_url)
    try:
        record = await run_job(container, "ingest_signins", trigger="test")
    finally:
        await container.aclose()
    # Tampere's unit failed (the other tenants' units were ingested): the run is partial and says why
    assert record.outcome == "partial" and record.error and "ServiceRequestError" in record.error


async def page_with_the_oidc_client_secret(capture: Capture, make_config: Any) -> None:
    """The Entra sign-in's callback when the token endpoint cannot be reached: the client secret
    and the PKCE verifier are in play."""
    capture.scenario("page_oidc_client_secret")
    config = make_config(
        auth={"mode": "entra", "issuer": "https://login.example.test/{tid}/v2.0",
              "jwks_url": "https://login.example.test/keys"},
        web={"oidc_authority": f"{UNREACHABLE}/organizations/v2.0", "oidc_client_id": CLIENT_ID},
    )
    app = create_app(config, container_factory=lambda: bootstrap(config, directories=NoDirectories()))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://idops.test"
    ) as client:
        oidc = oidc_client(app.state.container)
        oidc.server_metadata.update({
            "issuer": "https://login.example.test/{tenantid}/v2.0",
            "authorization_endpoint": "https://login.example.test/authorize",
            "token_endpoint": f"{UNREACHABLE}/token",
            "_loaded_at": time.time(),
        })
        fetch, verifiers = oidc.fetch_access_token, []

        async def fetch_and_note(redirect_uri: str | None = None, **kwargs: Any) -> Any:
            # (a frame of the traceback: it must hold no secret but the verifier the request carries)
            verifiers.append(kwargs["code_verifier"])
            return await fetch(redirect_uri, **kwargs)

        oidc.fetch_access_token = fetch_and_note
        start = await client.get("/sign-in/entra")
        state = parse_qs(urlparse(start.headers["location"]).query)["state"][0]
        failed = await client.get("/sign-in/callback", params={"code": "the-code", "state": state})
        assert failed.status_code == 500
    assert len(verifiers) == 1
    capture.secrets["PKCE verifier"] = verifiers[0]


async def uvicorn_and_apscheduler(capture: Capture, api: Api) -> None:
    """uvicorn and APScheduler, run for real, log an exception whose text carries credentials (a
    request's ``Authorization`` header, a form's ``password=``, Graph's ``temporaryAccessPass``)."""
    capture.scenario("uvicorn_and_apscheduler")
    text = "\n".join([
        "request failed",
        f"Authorization: Bearer {capture.secrets['bearer token']}",
        f"body: given_name=Aino&password={capture.secrets['one-time password']}&x=1",
        f"graph said: {{\"temporaryAccessPass\": \"{capture.secrets['Temporary Access Pass']}\", \"id\": \"1\"}}",
        f"cookie: idops_session={capture.secrets['session cookie']}",
        f"token request: client_id={CLIENT_ID}&client_secret={OIDC_SECRET}&code_verifier=x",
    ])

    async def broken_app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            raise RuntimeError(text)

    server = uvicorn.Server(uvicorn.Config(broken_app, host="127.0.0.1", port=0, log_config=None, lifespan="off"))
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 — uvicorn.Server offers only this flag
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"http://127.0.0.1:{port}/")).status_code == 500
    server.should_exit = True
    await serving

    def failing_job() -> None:
        raise RuntimeError(text)

    ran = asyncio.Event()
    scheduler = AsyncIOScheduler()
    scheduler.add_listener(lambda event: ran.set(), EVENT_JOB_ERROR)
    scheduler.add_job(failing_job)
    scheduler.start()
    await asyncio.wait_for(ran.wait(), 5)
    scheduler.shutdown(wait=False)


async def test_no_secret_reaches_a_log_in_either_format(
    api: Api, capture: Capture, make_config: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert api.container.session_secret is not None
    assert api.container.session_secret.get_secret_value() == SESSION_SECRET  # the one in play
    period_id = await api_handler_with_a_one_time_password(capture, api, monkeypatch)
    await page_and_graph_client_with_an_access_pass(capture, api, period_id, monkeypatch)
    await job_with_a_graph_client_secret(capture, api, monkeypatch)
    await page_with_the_oidc_client_secret(capture, make_config)
    await uvicorn_and_apscheduler(capture, api)

    hits = capture.hits()
    assert hits == [], "secrets in the log:\n" + "\n".join(hits)
    for fmt, stream in capture.streams.items():  # every scenario was logged, with its traceback
        out = stream.getvalue()
        assert out.count(MARK) == 5, fmt
        assert out.count("Traceback (most recent call last)") >= 6, fmt
        for event in ("unhandled_error", "job_unit_failed", "Exception in ASGI application", "raised an exception"):
            assert event in out, (fmt, event)
    for line in capture.streams["json"].getvalue().splitlines():
        json.loads(line)  # masking left every line valid JSON
