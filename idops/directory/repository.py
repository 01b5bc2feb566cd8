"""All SQL of the directory mirror: bulk upserts in chunks, and the end-of-run clean-up.

Upserts use ``INSERT … ON CONFLICT`` of the session's dialect (SQLite or PostgreSQL) through
SQLAlchemy Core ``executemany``: no ORM objects, one round trip per chunk.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, Boolean, Table, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from idops.directory.models import DirectoryMembership, DirectoryUserRow
from idops.kit.db import UTCDateTime

USERS: Table = DirectoryUserRow.__table__  # type: ignore[assignment]
MEMBERSHIPS: Table = DirectoryMembership.__table__  # type: ignore[assignment]

USER_COLUMNS = (
    "upn",
    "display_name",
    "employee_id",
    "mail",
    "account_enabled",
    "user_type",
    "employee_type",
    "employee_hire_date",
    "excluded_reason",
    "synced_at",
    "sync_run",
)
REPORT_COLUMNS = (
    "is_mfa_registered",
    "is_mfa_capable",
    "is_passwordless_capable",
    "methods_registered",
    "report_updated_at",
    "report_run",
)
MEMBERSHIP_COLUMNS = ("role", "excluded_reason", "sync_run")


def _insert(session: AsyncSession, table: Table) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"upsert is not implemented for {dialect}")


def _sqlite_datetime(value: datetime | None) -> str | None:
    """The text SQLAlchemy's SQLite ``DateTime`` stores (UTC, microseconds), so it reads it back."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _sqlite_bool(value: Any) -> int | None:
    return None if value is None else int(bool(value))


def _sqlite_json(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _sqlite_converter(column: Any) -> Callable[[Any], Any] | None:
    if isinstance(column.type, UTCDateTime):
        return _sqlite_datetime
    if isinstance(column.type, Boolean):
        return _sqlite_bool
    if isinstance(column.type, JSON):
        return _sqlite_json
    return None


@lru_cache(maxsize=64)
def _sqlite_upsert(
    table: Table, names: tuple[str, ...], keys: tuple[str, ...], columns: tuple[str, ...]
) -> tuple[str, tuple[Callable[[Any], Any] | None, ...]]:
    """SQL text and per-column value converters of a SQLite ``INSERT … ON CONFLICT DO UPDATE``."""
    sets = ", ".join(f"{c} = excluded.{c}" for c in columns)
    # Names come from the table's own metadata and the caller's constant column lists, never input.
    cols, marks = ", ".join(names), ", ".join("?" * len(names))
    sql = f"INSERT INTO {table.name} ({cols}) VALUES ({marks}) ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets}"  # noqa: S608
    return sql, tuple(_sqlite_converter(table.c[n]) for n in names)


async def _upsert(
    session: AsyncSession,
    table: Table,
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    columns: Sequence[str],
) -> None:
    """Insert ``rows`` (dicts with the same keys), updating ``columns`` where ``keys`` exist."""
    if not rows:
        return
    if session.get_bind().dialect.name == "sqlite":
        # Fast path: the driver's executemany, values converted by a per-column function chosen once.
        # SQLAlchemy's generic per-row parameter processing cost more than SQLite's own work.
        names = tuple(rows[0])
        sql, converters = _sqlite_upsert(table, names, tuple(keys), tuple(columns))
        params = [
            tuple(v if conv is None else conv(v) for v, conv in zip(r.values(), converters, strict=True))
            for r in rows
        ]
        conn = await session.connection()
        await conn.exec_driver_sql(sql, params)
        return
    stmt = _insert(session, table)
    stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_={c: stmt.excluded[c] for c in columns})
    await session.execute(stmt, list(rows))


async def upsert_users(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert or update the directory attributes of users; registration columns are left alone."""
    await _upsert(session, USERS, rows, ("tenant_id", "user_id"), USER_COLUMNS)


async def upsert_registrations(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert or update registration columns. A row for a user the user stream has not reached yet
    is inserted with the report's UPN and name; the user stream then fills in the rest (or the
    run's clean-up deletes it, if the user no longer exists)."""
    await _upsert(session, USERS, rows, ("tenant_id", "user_id"), REPORT_COLUMNS)


async def upsert_memberships(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    await _upsert(session, MEMBERSHIPS, rows, ("tenant_id", "user_id", "municipality", "school"), MEMBERSHIP_COLUMNS)


async def finish_run(session: AsyncSession, tenant_id: str, run: str, *, report_complete: bool) -> int:
    """Delete what run ``run`` did not see: users who left (and report rows of users who no longer
    exist) and memberships that ended. Users the report did not list count as not registered.
    Returns the number of users removed. Call only after every stream of the run succeeded."""
    gone = await session.execute(
        delete(USERS).where(USERS.c.tenant_id == tenant_id, or_(USERS.c.sync_run.is_(None), USERS.c.sync_run != run))
    )
    await session.execute(
        delete(MEMBERSHIPS).where(MEMBERSHIPS.c.tenant_id == tenant_id, MEMBERSHIPS.c.sync_run != run)
    )
    if report_complete:
        await session.execute(
            update(USERS)
            .where(USERS.c.tenant_id == tenant_id, or_(USERS.c.report_run.is_(None), USERS.c.report_run != run))
            .values(
                is_mfa_registered=False,
                is_mfa_capable=False,
                is_passwordless_capable=False,
                methods_registered=[],
                report_updated_at=None,
                report_run=run,
            )
        )
    return int(gone.rowcount or 0)  # type: ignore[attr-defined]


async def count_users(session: AsyncSession, tenant_id: str) -> int:
    return int(await session.scalar(select(func.count()).select_from(USERS).where(USERS.c.tenant_id == tenant_id)) or 0)
