"""Logs are JSON events with tracebacks as text (no frame locals), and secrets are masked: secret-bearing
keys at any depth, registered secret values and secret patterns anywhere in the text."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import structlog
from pydantic import SecretStr

from idops.graph.port import AccessPass, NewUser, UserPatch
from idops.kit.logging import REDACTOR, Redactor, configure_logging, register_secret
from idops.substitutes.access_pass import IssuedCredential


def test_json_logs_carry_tracebacks_and_mask_secret_keys() -> None:
    out = io.StringIO()
    configure_logging("json", "INFO", stream=out)
    log = structlog.get_logger("idops.test")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed", password="hunter2", code="Request_BadRequest")
    stdlib = logging.getLogger("idops.test.stdlib")  # any stdlib logger (uvicorn, APScheduler …)
    stdlib.disabled, stdlib.propagate = False, True
    stdlib.warning("routed through structlog")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    failed = next(e for e in lines if e["event"] == "failed")
    assert "Traceback" in failed["exception"] and "ValueError: boom" in failed["exception"]
    assert failed["password"] == "[redacted]"
    assert failed["code"] == "Request_BadRequest"  # Graph error codes stay readable
    assert any(e["event"] == "routed through structlog" and e["logger"] == "idops.test.stdlib" for e in lines)
    assert "hunter2" not in out.getvalue()


def test_access_log_lines_carry_no_query_string_nor_statement_parameters() -> None:
    """A person search puts a name in the query string, and drivers log statements with their bound
    values at DEBUG: neither may reach the log, whatever level the service runs at."""
    out = io.StringIO()
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)  # as an earlier uvicorn.Config(log_level=…) does
    configure_logging("json", "DEBUG", stream=out)
    access = logging.getLogger("uvicorn.access")
    access.disabled = False
    access.info('%s - "%s %s HTTP/%s" %d', "10.0.0.1:5000", "GET", "/v1/substitute-persons?q=aino+aijala", "1.1", 200)
    logging.getLogger("aiosqlite").debug("executing %s", "INSERT ... ('Aino', 'Äijälä')")
    logging.getLogger("sqlalchemy.orm.mapper.Mapper").info("mapper noise")  # SQLAlchemy's own WARN level stays
    text = out.getvalue()
    assert "/v1/substitute-persons" in text and "GET" in text
    assert "aino" not in text.lower() and "Äijälä" not in text
    assert "mapper noise" not in text


# ------------------------------------------------------------------------------ the redactor, unit by unit

SECRET = "registered-secret-Qm7~Tz2.Vb8_Lp4"


@pytest.fixture
def redactor() -> Redactor:
    r = Redactor()
    r.register(SECRET, SecretStr("a-secret-str-value-9x8y7z"), None, "", "short")
    return r


def test_registered_values_are_masked_anywhere_in_a_string(redactor: Redactor) -> None:
    assert redactor.scrub(f"connect failed for {SECRET}!") == "connect failed for [redacted]!"
    assert redactor.scrub("x a-secret-str-value-9x8y7z y") == "x [redacted] y"
    assert redactor.scrub("a short word stays") == "a short word stays"  # too short to register


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abcdefghijklmnop.qrstuvwx", "Authorization: [redacted]"),
        ("sent bearer abcdefghijklmnopqrstu", "sent bearer [redacted]"),
        ("the bearer token is missing", "the bearer token is missing"),  # prose stays
        ("Basic dXNlcjpwYXNzd29yZDEyMzQ1Ng==", "Basic [redacted]"),
        ("got eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl end", "got [redacted] end"),
        ("form: password=c3?t6q#TThJx&next=1", "form: password=[redacted]"),  # a pass may hold '&'
        ("form: password=c3?t6q#TThJx next=1", "form: password=[redacted] next=1"),
        ("{'tap': 'Xy7#kLm2', 'id': '1'}", "{'tap': '[redacted]', 'id': '1'}"),
        ('{"temporaryAccessPass": "Xy7#kLm2", "id": "1"}', '{"temporaryAccessPass": "[redacted]", "id": "1"}'),
        ('{"one_time_password": "a\\"b", "x": 1}', '{"one_time_password": "[redacted]", "x": 1}'),
        ("client_secret=abc123def456, code_verifier=zzz", "client_secret=[redacted], code_verifier=[redacted]"),
        ('"{\\"password\\": \\"x\\\\\\"y\\"}"', '"{\\"password\\": \\"[redacted]\\"}"'),  # in a JSON line
        ("Cookie: idops_session=abc.def; lang=fi", "Cookie: [redacted]"),
        ("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----", "[redacted]"),
        ("Password does not meet complexity requirements", "Password does not meet complexity requirements"),
        ("code=Request_BadRequest tap_policy=enabled", "code=Request_BadRequest tap_policy=enabled"),
    ],
)
def test_secret_patterns_are_masked_and_ordinary_text_is_not(redactor: Redactor, text: str, expected: str) -> None:
    assert redactor.scrub(text) == expected
    assert redactor.scrub(expected) == expected  # masking twice changes nothing


def test_events_are_cleaned_at_any_depth(redactor: Redactor) -> None:
    event = {
        "event": f"failed with {SECRET}",
        "request": {"headers": {"Authorization": "Bearer x", "Accept": "*/*"}, "body": {"clientSecret": "s"}},
        "items": [{"password": "p"}, ("tap", f"note {SECRET}")],
        "count": 3,
        "password": None,  # nothing to hide: stays None
        "_record": object(),
    }
    cleaned = redactor(None, "error", dict(event))
    assert cleaned["event"] == "failed with [redacted]"
    assert cleaned["request"] == {"headers": {"Authorization": "[redacted]", "Accept": "*/*"},
                                  "body": {"clientSecret": "[redacted]"}}
    assert cleaned["items"] == [{"password": "[redacted]"}, ["tap", "note [redacted]"]]
    assert cleaned["count"] == 3 and cleaned["password"] is None
    assert cleaned["_record"] is event["_record"]  # structlog's own fields are left alone


@pytest.fixture
def registered() -> Iterator[None]:
    register_secret(SECRET)
    yield
    REDACTOR.forget_all()


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_tracebacks_have_no_locals_and_exception_text_is_masked(fmt: str, registered: None) -> None:
    out = io.StringIO()
    configure_logging(fmt, "INFO", stream=out)
    try:
        kept_in_a_local = "local-only-value-Hn3~Wq8"  # noqa: F841 — what a locals-printing traceback shows
        raise RuntimeError(f"token request failed: client_secret={SECRET[::-1]} and {SECRET}")
    except RuntimeError:
        structlog.get_logger("idops.test").exception("failed", nested={"deeper": [SECRET]})
    text = out.getvalue()
    assert "Traceback (most recent call last)" in text and "RuntimeError: token request failed" in text
    assert "local-only-value" not in text
    assert SECRET not in text and SECRET[::-1] not in text
    if fmt == "json":
        event = json.loads(text.splitlines()[-1])  # still one valid JSON object per line
        assert event["nested"] == {"deeper": ["[redacted]"]}


def test_values_holding_a_secret_never_show_it_in_their_repr() -> None:
    """What a log line or a traceback could print of them by accident (``repr``) holds no secret."""
    when = datetime(2026, 12, 1, tzinfo=UTC)
    secret = "Secret-Value-9x7"
    holders = [
        NewUser("u@x", "U", "u", "U", "X", True, password=secret),
        UserPatch(password=secret, display_name="U"),
        AccessPass("id", secret, when, 60, False),
        IssuedCredential("temporary_access_pass", secret, when, when, False),
        SecretStr(secret),
    ]
    for holder in holders:
        assert secret not in repr(holder) and secret not in str(holder), type(holder).__name__
