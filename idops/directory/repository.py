"""All SQL of the directory mirror: bulk upserts in chunks, and the end-of-run clean-up.

Upserts use ``INSERT … ON CONFLICT`` of the session's dialect (SQLite or PostgreSQL) through
SQLAlchemy Core ``executemany``: no ORM objects, one round trip per chunk.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from idops.directory.models import DirectoryMembership, DirectoryUserRow

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


async def _upsert(
    session: AsyncSession,
    table: Table,
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    columns: Sequence[str],
) -> None:
    if not rows:
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
    await _upsert(
        session, MEMBERSHIPS, rows, ("tenant_id", "user_id", "municipality", "school"), MEMBERSHIP_COLUMNS
    )


async def finish_run(session: AsyncSession, tenant_id: str, run: str, *, report_complete: bool) -> int:
    """Delete what run ``run`` did not see: users who left (and report rows of users who no longer
    exist) and memberships that ended. Users the report did not list count as not registered.
    Returns the number of users removed. Call only after every stream of the run succeeded."""
    gone = await session.execute(
        delete(USERS).where(
            USERS.c.tenant_id == tenant_id, or_(USERS.c.sync_run.is_(None), USERS.c.sync_run != run)
        )
    )
    await session.execute(
        delete(MEMBERSHIPS).where(MEMBERSHIPS.c.tenant_id == tenant_id, MEMBERSHIPS.c.sync_run != run)
    )
    if report_complete:
        await session.execute(
            update(USERS)
            .where(
                USERS.c.tenant_id == tenant_id, or_(USERS.c.report_run.is_(None), USERS.c.report_run != run)
            )
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
    return int(
        await session.scalar(select(func.count()).select_from(USERS).where(USERS.c.tenant_id == tenant_id))
        or 0
    )
