"""One structlog configuration for idops, uvicorn, SQLAlchemy and APScheduler.

JSON lines in production, a readable console in development. Never log secrets: the
``redact`` processor masks known secret-bearing keys as a second line of defence.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

SECRET_KEYS = frozenset(
    {
        "password",
        "temporary_access_pass",
        "one_time_password",
        "tap",
        "access_token",
        "authorization",
        "client_secret",
        "token",
        "secret",
        "cookie",
    }
)


def redact(_logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
    for key in list(event):
        if key.lower() in SECRET_KEYS:
            event[key] = "[redacted]"
    return event


class NoQueryStrings(logging.Filter):
    """Access-log lines (uvicorn's: client, method, path, version, status) without the query string:
    a person search (``/v1/substitute-persons?q=aino``) carries a name, and logs are kept by the
    platform, not by idops' retention (docs/data-protection.md). The path's ids stay."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


def configure_logging(fmt: str = "json", level: str = "INFO", stream: Any = None) -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact,
    ]
    # JSON logs carry the traceback as text (the console renderer formats it itself).
    tail: list[Any] = [structlog.processors.format_exc_info] if fmt == "json" else []
    renderer: Any = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *tail, renderer],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "apscheduler", "sqlalchemy", "alembic"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
    access = logging.getLogger("uvicorn.access")
    access.filters[:] = [f for f in access.filters if not isinstance(f, NoQueryStrings)] + [NoQueryStrings()]
    # Drivers and the engine log statements with their bound parameters at DEBUG/INFO: names, e-mails
    # and UPNs of real people. Never below WARNING, whatever the service's level (docs/data-protection.md).
    for name in ("sqlalchemy.engine", "aiosqlite", "asyncpg", "psycopg"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("azure").setLevel(logging.WARNING)
