"""A scan of the whole database and the log output for personal values: every table, every column.

The schema is reflected from the database itself (not from the models), so a table or column
added later is scanned without anyone remembering to add it here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import MetaData, create_engine, select

from idops.substitutes.names import search_key


@dataclass
class Subject:
    """The values that identify one person (or one orphan account) — what must be gone."""

    label: str
    values: set[str] = field(default_factory=set)

    def add(self, *values: str | None) -> None:
        for v in values:
            if v and len(v) >= 3:
                self.values.add(v.lower())

    def add_name(self, given: str, surname: str) -> None:
        self.add(given, surname, *search_key(given, surname).split(), search_key(given, surname))


@dataclass(frozen=True)
class Hit:
    where: str  # "table.column" or "log"
    subject: str
    value: str


def _text(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str).lower()
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace").lower()
    return str(value).lower()


def scan_database(url: str, subjects: Iterable[Subject]) -> list[Hit]:
    """Every value of every column of every table, as text, searched for every subject's values."""
    subjects = list(subjects)
    engine = create_engine(url.replace("+aiosqlite", "").replace("+asyncpg", "+psycopg"))
    hits: list[Hit] = []
    try:
        meta = MetaData()
        meta.reflect(engine)
        assert "substitute_persons" in meta.tables and "audit_events" in meta.tables, sorted(meta.tables)
        with engine.connect() as conn:
            for table in meta.sorted_tables:
                for row in conn.execute(select(table)).mappings():
                    for column, value in row.items():
                        if value is None:
                            continue
                        text = _text(value)
                        hits += [Hit(f"{table.name}.{column}", s.label, v) for s in subjects for v in s.values
                                 if v in text]
    finally:
        engine.dispose()
    return hits


def scan_log(output: str, subjects: Iterable[Subject]) -> list[Hit]:
    low = output.lower()
    return [Hit("log", s.label, v) for s in subjects for v in s.values if v in low]
