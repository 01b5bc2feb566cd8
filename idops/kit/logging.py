"""One structlog configuration for idops, uvicorn, SQLAlchemy and APScheduler.

JSON lines in production, a readable console in development. No secret reaches a log in either
format (``tests/integration/substitutes/test_secrets_in_logs.py``), by three layers:

1. Tracebacks are plain text **without frame locals** in both formats. (structlog's
   ``ConsoleRenderer`` otherwise prints every frame's locals through rich: a credential's
   constructor arguments, a request's headers, a dict holding a Temporary Access Pass — and cuts
   long strings, so a shortened secret would even escape the masking below.)
2. The ``Redactor`` walks every event — nested dicts and lists, and the formatted exception
   text — masking values under secret-bearing keys and, in every string, registered secret values
   and secret patterns (JWTs, ``Bearer``/``Basic`` credentials, ``password=…`` or
   ``"temporaryAccessPass": "…"`` fields, PEM private keys).
3. The rendered line is scrubbed once more (whatever an object's ``repr`` let through).

Registered values are the process's own long-lived secrets — the pages' session secret, the OIDC
client secret, Graph client secrets — which ``bootstrap()`` hands to ``register_secret``. The
registry is process-wide, like the logging configuration it serves.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from collections.abc import MutableMapping
from typing import Any

import structlog
from pydantic import SecretStr

REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 8  # a shorter registered value would mask ordinary words (real secrets are longer)


def _norm(key: str) -> str:
    return key.lower().replace("_", "").replace("-", "")


#: Event keys (at any depth, any spelling: ``client_secret``, ``clientSecret``) whose values are masked.
SECRET_KEYS = frozenset(
    _norm(k)
    for k in (
        "password",
        "new_password",
        "temporary_access_pass",
        "one_time_password",
        "tap",
        "secret",
        "client_secret",
        "session_secret",
        "access_token",
        "refresh_token",
        "id_token",
        "token",
        "code_verifier",
        "authorization",
        "cookie",
        "set_cookie",
    )
)

# Token-like values after a secret-bearing field name: ``password=x``, ``'tap': 'x'``,
# ``"temporaryAccessPass": "x"`` — a quoted value to its closing quote, also JSON-escaped inside a
# string of a JSON line (``\"x\"``); an unquoted one up to a space, a delimiter, a quote or a
# backslash (a JSON line's escapes stay intact), ``&`` included (a pass may hold one: a query
# string's rest is masked too).
_FIELD = re.compile(
    r"""(?ix)
    (?P<key>\b(?:new_?password|password|temporary_?access_?pass|one_?time_?password|tap
              |client_?secret|session_?secret|secret|access_?token|refresh_?token|id_?token
              |code_?verifier)\b)
    (?P<sep>\\?["']?\s*[:=]\s*)
    (?!\\?["']?\[redacted\])  # already masked
    (?P<value>\\".*?(?<!\\)\\"|"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*\'|[^\s,;}\])\\"']+)
    """
)
# Header-like fields whose whole value is a credential (``Cookie: a=b; c=d``): to the closing
# quote, or to the end of the line.
_HEADER = re.compile(
    r"""(?ix)
    (?P<key>\b(?:authorization|proxy-authorization|cookie|set-cookie)\b)
    (?P<sep>\\?["']?\s*[:=]\s*)
    (?P<value>\\".*?(?<!\\)\\"|"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*\'|[^\r\n"'\\]+)
    """
)


def _mask_field(match: re.Match[str]) -> str:
    """The field with its value masked and its quotes (plain or JSON-escaped) kept."""
    value = match["value"]
    quote = '\\"' if value.startswith('\\"') else value[0] if value[0] in "\"'" else ""
    return f"{match['key']}{match['sep']}{quote}{REDACTED}{quote}"


_PATTERNS: tuple[tuple[re.Pattern[str], Any], ...] = (
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S), REDACTED),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*"), REDACTED),  # a JWT (JWS)
    # credentials in an Authorization header's form (16+ characters: prose like "bearer token" stays)
    (re.compile(r"\b([Bb]earer|BEARER|Basic)(\s+)[A-Za-z0-9._~+/=-]{16,}"), rf"\1\2{REDACTED}"),
    (_HEADER, _mask_field),
    (_FIELD, _mask_field),
)


class Redactor:
    """Masks secrets in log events (a structlog processor) and in rendered lines (``scrub``).

    ``register`` adds secret values to mask wherever they appear; values shorter than
    ``MIN_SECRET_LENGTH`` are ignored. Thread-safe; registering is rare, scrubbing is hot."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()
        self._known: re.Pattern[str] | None = None
        self._stale = False

    def register(self, *values: str | SecretStr | None) -> None:
        forms: set[str] = set()
        for value in values:
            raw = value.get_secret_value() if isinstance(value, SecretStr) else value
            if raw and len(raw) >= MIN_SECRET_LENGTH:
                # as written, and as a JSON string shows it (a secret with a quote or a backslash)
                forms |= {raw, json.dumps(raw)[1:-1], json.dumps(raw, ensure_ascii=False)[1:-1]}
        with self._lock:
            if not forms <= self._values:
                self._values |= forms
                self._stale = True  # compiled at the next scrub: registering stays cheap

    def forget_all(self) -> None:
        """Drop every registered value (tests that register their own)."""
        with self._lock:
            self._values.clear()
            self._known, self._stale = None, False

    def _pattern(self) -> re.Pattern[str] | None:
        if self._stale:
            with self._lock:
                ordered = sorted(self._values, key=len, reverse=True)  # the longest form first
                self._known = re.compile("|".join(re.escape(v) for v in ordered)) if ordered else None
                self._stale = False
        return self._known

    def scrub(self, text: str) -> str:
        """``text`` with registered values and secret patterns masked."""
        known = self._pattern()
        if known is not None:
            text = known.sub(REDACTED, text)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def clean(self, value: Any, key: str | None = None) -> Any:
        """``value`` with secrets masked at any depth: a secret-bearing key's value becomes
        ``[redacted]``, strings are scrubbed, dicts, lists, tuples and sets walked; anything else
        is left to the rendered line's scrub."""
        if key is not None and value is not None and _norm(key) in SECRET_KEYS:
            return REDACTED
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, dict):
            return {k: self.clean(v, k if isinstance(k, str) else None) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.clean(v) for v in value]  # rendered alike (JSON arrays, console reprs)
        return value

    def __call__(self, _logger: Any, _method: str, event: MutableMapping[str, Any]) -> dict[str, Any]:
        """The processor: every field but structlog's own (``_record``, ``exc_info``) cleaned."""
        return {
            k: v if k.startswith("_") or k == "exc_info" else self.clean(v, k) for k, v in event.items()
        }

    def scrub_rendered(self, _logger: Any, _method: str, line: Any) -> Any:
        """The processor after the renderer: the finished line scrubbed once more."""
        return self.scrub(line) if isinstance(line, str) else line


#: The process's redactor: ``configure_logging`` puts it in the chain, ``register_secret`` feeds it.
REDACTOR = Redactor()


def register_secret(*values: str | SecretStr | None) -> None:
    """Mask these values wherever they would appear in a log line, from now on (``bootstrap()``
    registers the secrets it reads). ``None``, empty and very short values are ignored."""
    REDACTOR.register(*values)


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
    ]
    # Both formats turn the exception into plain text (no locals) *before* redaction, so its text is
    # scrubbed like any other value; the console renderer then prints that text as it is.
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            REDACTOR,
            renderer,
            REDACTOR.scrub_rendered,
        ],
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
        if name.startswith("uvicorn"):
            lg.setLevel(logging.NOTSET)  # an earlier uvicorn.Config(log_level=…) in this process set its own
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

