"""All SQL of the directory mirror: bulk upserts in chunks, and the end-of-run clean-up.

Upserts use ``INSERT … ON CONFLICT`` of the session's dialect (SQLite or PostgreSQL) with rows as
plain tuples: the driver's ``executemany`` on SQLite, SQLAlchemy Core on PostgreSQL; no ORM objects,
one round trip per chunk.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from itertools import chain
from typing import Any, Protocol

from sqlalchemy import Table, bindparam, case, delete, func, or_, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from idops.directory.models import DirectoryMembership, DirectoryUserRow
from idops.graph.parse import parse_datetime
from idops.kit.db import upsert_insert
from idops.kit.uow import Transactional

USERS: Table = DirectoryUserRow.__table__  # type: ignore[assignment]
MEMBERSHIPS: Table = DirectoryMembership.__table__  # type: ignore[assignment]

#: Layout of every ``directory_users`` row tuple the sync writes: the user's columns, then the report's.
USER_ROW = (
    "tenant_id",
    "user_id",
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
    "is_mfa_registered",
    "is_mfa_capable",
    "is_passwordless_capable",
    "methods_registered",
    "report_updated_at",
    "report_run",
    "registration_source",
    "is_admin",
)
USER_COLUMNS = USER_ROW[2:13]
REPORT_COLUMNS = USER_ROW[13:]
MEMBERSHIP_ROW = ("tenant_id", "user_id", "municipality", "school", "role", "excluded_reason", "sync_run")
MEMBERSHIP_COLUMNS = MEMBERSHIP_ROW[4:]
USER_KEY = ("tenant_id", "user_id")
MEMBERSHIP_KEY = MEMBERSHIP_ROW[:4]


class Encoder:
    """Turns Graph values into what the session's driver stores, once per value and in the sync's
    hot loop, so the rows go to the driver as plain tuples (no per-row SQLAlchemy processing).

    SQLite: datetimes as SQLAlchemy's ``DateTime`` text (UTC, microseconds), JSON as text.
    PostgreSQL: aware datetimes and lists (SQLAlchemy Core binds them)."""

    def __init__(self, dialect: str) -> None:
        self.sqlite = dialect == "sqlite"
        self._json: dict[tuple[str, ...], Any] = {}

    def time(self, value: datetime | None) -> Any:
        if value is None or not self.sqlite:
            return value
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

    def graph_time(self, value: Any) -> Any:
        """A Graph DateTimeOffset string; None if empty or unparsable."""
        if not value:
            return None
        if self.sqlite and isinstance(value, str) and len(value) == 20 and value[19] == "Z" and value[10] == "T":
            return f"{value[:10]} {value[11:19]}.000000"  # the common whole-second UTC form
        return self.time(parse_datetime(value))

    def stored_time(self, value: Any) -> datetime | None:
        """Back from ``time``/``graph_time`` to an aware datetime."""
        if value is None or isinstance(value, datetime):
            return value
        return datetime.fromisoformat(value).replace(tzinfo=UTC)

    def methods(self, value: Any) -> Any:
        key = value if type(value) is tuple else tuple(str(m) for m in value or ())
        out = self._json.get(key)
        if out is None:  # a tenant has a handful of distinct method sets
            out = self._json[key] = json.dumps(list(key)) if self.sqlite else list(key)
        return out


#: Bound parameters per statement: SQLite's default limit (32 766 from 3.32 on, 999 before).
_SQLITE_MAX_PARAMS = 32_766 if sqlite3.sqlite_version_info >= (3, 32) else 999


@lru_cache(maxsize=64)
def _sqlite_upsert(
    table: str, names: tuple[str, ...], keys: tuple[str, ...], columns: tuple[str, ...], rows: int
) -> str:
    """An upsert of ``rows`` rows in one multi-row ``VALUES`` statement.

    Few statements per batch instead of one per row: the driver binds a whole chunk, then SQLite
    inserts it without the GIL (the driver only drops it around each statement). With ``executemany``
    the driver's thread takes the GIL back for every row and, beside the sync's busy event loop,
    wrote 3–4× slower than alone."""
    sets = ", ".join(f"{c} = excluded.{c}" for c in columns)
    # Names come from this module's constant column lists, never from input.
    row = f"({', '.join('?' * len(names))})"
    values = ", ".join([row] * rows)
    return (
        f"INSERT INTO {table} ({', '.join(names)}) VALUES {values} "  # noqa: S608
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets}"
    )


class DirectoryRepository:
    """The directory mirror: upserts of users, registrations and memberships; clean-up after a run."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def encoder(self) -> Encoder:
        return Encoder(self.session.get_bind().dialect.name)

    def _insert(self, table: Table) -> Any:
        return upsert_insert(self.session, table)

    async def _upsert(
        self,
        table: Table,
        names: tuple[str, ...],
        rows: Sequence[tuple[Any, ...]],
        keys: tuple[str, ...],
        columns: tuple[str, ...],
    ) -> None:
        """Insert ``rows`` (tuples laid out as ``names``, values from ``Encoder``), updating ``columns``
        where ``keys`` exist."""
        if not rows:
            return
        if self.session.get_bind().dialect.name == "sqlite":
            # Straight to the driver: SQLAlchemy's per-row parameter processing cost more than SQLite's work.
            # Equal chunks, all in one driver call (no trip through the event loop between them). The
            # last chunk is padded by repeating its last row: upserting a row twice writes it once.
            conn = await self.session.connection()
            n = len(rows)
            chunks = -(-n // (_SQLITE_MAX_PARAMS // len(names)))
            size = -(-n // chunks)
            padded = [*rows, *(rows[-1],) * (chunks * size - n)]
            params = [tuple(chain.from_iterable(padded[i : i + size])) for i in range(0, len(padded), size)]
            await conn.exec_driver_sql(_sqlite_upsert(table.name, names, keys, columns, size), params)
            return
        stmt = self._insert(table)
        stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_={c: stmt.excluded[c] for c in columns})
        await self.session.execute(stmt, [dict(zip(names, r, strict=True)) for r in rows])

    async def upsert_users(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert or update whole ``USER_ROW`` rows: directory attributes and registration together."""
        await self._upsert(USERS, USER_ROW, rows, USER_KEY, USER_COLUMNS + REPORT_COLUMNS)

    async def upsert_user_attributes(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert ``USER_ROW`` rows, or update only their directory attributes (the registration
        columns of an existing row are left alone)."""
        await self._upsert(USERS, USER_ROW, rows, USER_KEY, USER_COLUMNS)

    async def upsert_registrations(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert ``USER_ROW`` rows, or update only their registration columns. A row for a user the
        user stream has not written yet is inserted with the report's UPN and name; the user stream
        then fills in the rest (or the run's clean-up deletes it, if the user no longer exists)."""
        await self._upsert(USERS, USER_ROW, rows, USER_KEY, REPORT_COLUMNS)

    async def upsert_memberships(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert or update ``MEMBERSHIP_ROW`` rows."""
        await self._upsert(MEMBERSHIPS, MEMBERSHIP_ROW, rows, MEMBERSHIP_KEY, MEMBERSHIP_COLUMNS)

    async def finish_run(self, tenant_id: str, run: str, *, report_complete: bool) -> int:
        """Delete what run ``run`` did not see: users who left (and report rows of users who no longer
        exist) and memberships that ended. With ``report_complete``, users the report did not list count
        as not registered (source ``report``); without (no report for this tenant), registration columns
        stay as they are (read per user, or unknown). Returns the number of users removed. Call only
        after every stream of the run succeeded."""
        gone = await self.session.execute(
            delete(USERS).where(
                USERS.c.tenant_id == tenant_id, or_(USERS.c.sync_run.is_(None), USERS.c.sync_run != run)
            )
        )
        await self.session.execute(
            delete(MEMBERSHIPS).where(MEMBERSHIPS.c.tenant_id == tenant_id, MEMBERSHIPS.c.sync_run != run)
        )
        if report_complete:
            await self.session.execute(
                update(USERS)
                .where(USERS.c.tenant_id == tenant_id, or_(USERS.c.report_run.is_(None), USERS.c.report_run != run))
                .values(
                    is_mfa_registered=False,
                    is_mfa_capable=False,
                    is_passwordless_capable=False,
                    methods_registered=[],
                    report_updated_at=None,
                    report_run=run,
                    registration_source="report",
                    is_admin=False,
                )
            )
        return int(gone.rowcount or 0)  # type: ignore[attr-defined]

    async def scan_candidates(self, tenant_id: str) -> list[tuple[str, int, str | None, datetime | None]]:
        """Every included user of the tenant for a per-user method scan: (user id, role rank — 0 staff,
        1 substitute, 2 pupil, 3 counted at no school —, registration source, when last read)."""
        rank = case(
            (MEMBERSHIPS.c.role == "staff", 0), (MEMBERSHIPS.c.role == "substitute", 1),
            (MEMBERSHIPS.c.role == "pupil", 2), else_=3,
        )
        best = (
            select(MEMBERSHIPS.c.user_id, func.min(rank).label("rank"))
            .where(MEMBERSHIPS.c.tenant_id == tenant_id, MEMBERSHIPS.c.excluded_reason.is_(None))
            .group_by(MEMBERSHIPS.c.user_id)
            .subquery()
        )
        stmt = (
            select(USERS.c.user_id, func.coalesce(best.c.rank, 3), USERS.c.registration_source,
                   USERS.c.report_updated_at)
            .outerjoin(best, best.c.user_id == USERS.c.user_id)
            .where(USERS.c.tenant_id == tenant_id, USERS.c.excluded_reason.is_(None))
        )
        out = []
        for uid, r, source, at in (await self.session.execute(stmt)).all():
            if isinstance(at, str):  # SQLite through Core without the ORM's type: the stored text
                at = datetime.fromisoformat(at)
            out.append((uid, int(r), source, at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at))
        return out

    async def write_method_scans(self, tenant_id: str, rows: Sequence[tuple[str, bool, bool, bool, list[str]]],
                                 scanned_at: datetime) -> None:
        """Registration read from users' authentication methods: (user id, registered, capable,
        passwordless, methods in the report's words). Only existing users are updated."""
        if not rows:
            return
        stmt = (
            update(USERS)
            .where(USERS.c.tenant_id == bindparam("t"), USERS.c.user_id == bindparam("u"))
            .values(
                is_mfa_registered=bindparam("reg"),
                is_mfa_capable=bindparam("cap"),
                is_passwordless_capable=bindparam("pl"),
                methods_registered=bindparam("methods", type_=USERS.c.methods_registered.type),
                report_updated_at=bindparam("at", type_=USERS.c.report_updated_at.type),
                registration_source="per_user_scan",
            )
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(
            stmt,
            [{"t": tenant_id, "u": uid, "reg": reg, "cap": cap, "pl": pl, "methods": m, "at": scanned_at}
             for uid, reg, cap, pl, m in rows],
        )

    async def account(self, tenant_id: str, user_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """One mirrored account and its school memberships (a data subject's export)."""
        ids = sorted({user_id, user_id.lower()})
        user = (
            await self.session.execute(select(USERS).where(USERS.c.tenant_id == tenant_id, USERS.c.user_id.in_(ids)))
        ).mappings().first()
        memberships = (
            await self.session.execute(
                select(MEMBERSHIPS).where(MEMBERSHIPS.c.tenant_id == tenant_id, MEMBERSHIPS.c.user_id.in_(ids))
            )
        ).mappings().all()
        return (dict(user) if user is not None else None), [dict(m) for m in memberships]

    async def forget_user(self, tenant_id: str, user_id: str) -> int:
        """Delete one account from the mirror (the person was scrubbed or erased; the next sync would
        only do it if the account is gone from Entra). Returns the number of user rows removed."""
        ids = sorted({user_id, user_id.lower()})
        await self.session.execute(
            delete(MEMBERSHIPS).where(MEMBERSHIPS.c.tenant_id == tenant_id, MEMBERSHIPS.c.user_id.in_(ids))
        )
        gone = await self.session.execute(delete(USERS).where(USERS.c.tenant_id == tenant_id, USERS.c.user_id.in_(ids)))
        return int(gone.rowcount or 0)  # type: ignore[attr-defined]

    async def forget_stale(self, before: datetime) -> int:
        """Delete users no sync has refreshed since ``before`` (and their memberships): the mirror's own
        retention, for a tenant whose sync keeps failing or that left the configuration. Returns the
        number of users removed."""
        # Rows without ``synced_at`` are a running sync's registration rows: its clean-up handles them.
        stale = select(USERS.c.tenant_id, USERS.c.user_id).where(USERS.c.synced_at < before)
        await self.session.execute(
            delete(MEMBERSHIPS).where(tuple_(MEMBERSHIPS.c.tenant_id, MEMBERSHIPS.c.user_id).in_(stale))
        )
        gone = await self.session.execute(delete(USERS).where(USERS.c.synced_at < before))
        return int(gone.rowcount or 0)  # type: ignore[attr-defined]

    async def count_users(self, tenant_id: str) -> int:
        return int(
            await self.session.scalar(select(func.count()).select_from(USERS).where(USERS.c.tenant_id == tenant_id))
            or 0
        )

    async def planned_users(self, tenant_id: str) -> int:
        """How many users of the tenant PostgreSQL's planner expects (its statistics' estimate)."""
        plan = await self.session.scalar(
            text("EXPLAIN (FORMAT JSON) SELECT 1 FROM directory_users WHERE tenant_id = :t").bindparams(t=tenant_id)
        )
        return int(plan[0]["Plan"]["Plan Rows"])

    async def analyze(self) -> None:
        """Refresh PostgreSQL's statistics of the mirror (a sample of each table)."""
        await self.session.execute(text("ANALYZE directory_users, directory_memberships"))

    async def tune_for_bulk_writes(self) -> None:
        """SQLite, on a pinned connection: a 32 MB page cache and no automatic checkpoint at commits
        (``checkpoint`` copies the WAL once at the end of the sync)."""
        await self.session.execute(text("PRAGMA cache_size = -32768"))
        await self.session.execute(text("PRAGMA wal_autocheckpoint = 0"))

    async def restore_after_bulk_writes(self, autocheckpoint: int) -> None:
        await self.session.execute(text(f"PRAGMA wal_autocheckpoint = {int(autocheckpoint)}"))

    async def checkpoint(self) -> None:
        """Copy the WAL into the database file beside other readers and writers (SQLite only)."""
        await self.session.execute(text("PRAGMA wal_checkpoint(PASSIVE)"))


class DirectoryUnitOfWork(Transactional, Protocol):
    """The unit of work the directory services receive (``idops.uow.UnitOfWork`` is one)."""

    directory: DirectoryRepository
