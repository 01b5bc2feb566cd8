"""Logs are JSON events with tracebacks as text, and known secret-bearing keys are masked."""

from __future__ import annotations

import io
import json
import logging

import structlog

from idops.kit.logging import configure_logging


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
    configure_logging("json", "DEBUG", stream=out)
    access = logging.getLogger("uvicorn.access")
    access.disabled = False
    access.info('%s - "%s %s HTTP/%s" %d', "10.0.0.1:5000", "GET", "/v1/substitute-persons?q=aino+aijala", "1.1", 200)
    logging.getLogger("aiosqlite").debug("executing %s", "INSERT ... ('Aino', 'Äijälä')")
    text = out.getvalue()
    assert "/v1/substitute-persons" in text and "GET" in text
    assert "aino" not in text.lower() and "Äijälä" not in text
