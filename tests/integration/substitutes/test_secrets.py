"""No secret is ever stored or logged: TAP codes, fallback one-time passwords and the random initial
passwords idops gives new accounts appear in no log event and in no column of any table."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import structlog
from sqlalchemy import create_engine, inspect, select

from idops.kit.db import Base
from tests.integration.substitutes.conftest import OTHER_SCHOOL, SCHOOL, Api
from tests.integration.substitutes.invariants import sync_url


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name} {record.getMessage()} {record.__dict__!r}")


@pytest.fixture
def stdlib_logs() -> Iterator[Collect]:
    """Everything any stdlib logger says (uvicorn, httpx, SQLAlchemy with its parameters, kiota), at DEBUG."""
    root = logging.getLogger()
    handler, level = Collect(), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    noisy = {name: logging.getLogger(name).level for name in ("sqlalchemy.engine", "httpx", "httpcore")}
    for name in noisy:
        logging.getLogger(name).setLevel(logging.DEBUG)  # SQL parameters would show a stored secret
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        for name, lvl in noisy.items():
            logging.getLogger(name).setLevel(lvl)


def database_text(database_url: str) -> str:
    """Every value of every column of every table, as text (JSON columns serialised)."""
    engine = create_engine(sync_url(database_url))
    out: list[str] = []
    try:
        with engine.connect() as conn:
            existing = set(inspect(conn).get_table_names())
            for table in Base.metadata.sorted_tables:
                if table.name not in existing:
                    continue
                for row in conn.execute(select(table)):
                    for value in row:
                        out.append(value if isinstance(value, str) else json.dumps(value, default=str))
    finally:
        engine.dispose()
    return "\n".join(out)


async def issue(api: Api, period_id: str, school: str = SCHOOL) -> dict[str, Any]:
    r = await api.client.post(f"/v1/substitutes/{period_id}/access-pass", headers=api.principal(school))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_no_access_pass_or_password_is_logged_or_stored(api: Api, stdlib_logs: Collect) -> None:
    tenant = api.emulator.state.tenant(api.tenant())
    secrets: list[str] = []
    with structlog.testing.capture_logs() as events:
        subs = []
        for given, surname, school in [("Aino", "Äijälä", SCHOOL), ("Pär", "Öhman", OTHER_SCHOOL),
                                       ("Liisa", "Laine", SCHOOL)]:
            r = await api.request(given=given, surname=surname, school=school)
            assert r.status_code == 201, r.text
            subs.append((r.json()["id"], school))
        # the random initial passwords of the created accounts are secrets too
        secrets += [u.password_profile["password"] for u in tenant.users.values()
                    if u.employee_type and u.password_profile]
        for period_id, school in subs[:2]:
            secrets.append((await issue(api, period_id, school))["temporary_access_pass"])
        secrets.append((await issue(api, subs[0][0]))["temporary_access_pass"])  # a second pass, same person

        tenant.tap_policy.state = "disabled"  # this tenant switched TAP off: the fallback takes over
        api.clock.advance(timedelta(minutes=11))  # past idops' cached view of the TAP policy
        for period_id, school in subs:
            got = await issue(api, period_id, school)
            assert "temporary_access_pass" not in got
            secrets.append(got["one_time_password"])

    assert len(secrets) == 3 + 3 + 3 and all(len(s) >= 8 for s in secrets)
    assert len(set(secrets)) == len(secrets)

    logged = [json.dumps(e, default=str) for e in events] + stdlib_logs.lines
    assert any(e["event"] == "credential_issued" for e in events)  # the capture saw idops' events
    assert any("sqlalchemy.engine" in line for line in stdlib_logs.lines)  # and SQL with its parameters
    stored = database_text(api.container.config.settings.database.url)
    assert "temporary_access_pass_issued" in stored and "one_time_password_issued" in stored
    for secret in secrets:
        assert not [line for line in logged if secret in line], "a secret was logged"
        assert secret not in stored, "a secret was stored"
