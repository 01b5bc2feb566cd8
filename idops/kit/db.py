"""Database plumbing: declarative base, UTC timestamps, the engine, and the open-transaction guard.

Only the unit of work (``idops.uow``) opens sessions. It marks the running task while its
transaction is open, so the Graph adapter and the in-memory fake can refuse to be awaited inside one
(``assert_no_transaction``): a Graph call inside a transaction holds row locks (and SQLite's single
writer) for seconds of network time.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, TypeDecorator, event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from idops.kit.clock import as_utc

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and always hands back aware UTC (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: store aware UTC")
        return as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime()}  # noqa: RUF012 — SQLAlchemy reads a class attribute


def new_id() -> str:
    return str(uuid.uuid4())


@asynccontextmanager
async def savepoint(session: AsyncSession) -> AsyncIterator[None]:
    """``session.begin_nested()`` that is a savepoint on SQLite too. Python's sqlite3 driver begins a
    transaction only before a write, so a SAVEPOINT sent first would open the transaction itself and its
    RELEASE would commit everything so far: the caller's later rollback would undo nothing (a job lease
    or a reserved UPN would outlive a failed request). Begin the transaction first."""
    conn = await session.connection()
    if conn.dialect.name == "sqlite":
        raw = await conn.get_raw_connection()
        if not raw.driver_connection.in_transaction:  # type: ignore[union-attr]
            await conn.exec_driver_sql("BEGIN")
    async with session.begin_nested():
        yield


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=15000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def create_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> AsyncEngine:
    """An async engine; SQLite gets WAL, foreign keys and a busy timeout on every connection."""
    kwargs: dict[str, Any] = {"echo": echo, "pool_pre_ping": True}
    if url.startswith("sqlite"):
        kwargs.pop("pool_pre_ping")
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs["pool_size"] = pool_size
    return create_async_engine(url, **kwargs)


def upsert_insert(session: AsyncSession, target: Any) -> Any:
    """``INSERT … ON CONFLICT`` of the session's dialect (SQLite and PostgreSQL share the syntax)."""
    from sqlalchemy.dialects import postgresql, sqlite

    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(target)
    if name == "sqlite":
        return sqlite.insert(target)
    raise NotImplementedError(f"upsert is not implemented for {name}")


class Database:
    """Owns the engine and hands out transactional sessions."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 10) -> None:
        self.url = url
        self.engine = create_engine(url, echo=echo, pool_size=pool_size)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self._write_lock: asyncio.Lock | None = None

    @property
    def write_lock(self) -> asyncio.Lock:
        """One lock for the process's bulk writers (SQLite has one writer: the directory syncs of
        several job units take turns through it rather than through the busy timeout)."""
        if self._write_lock is None:
            self._write_lock = asyncio.Lock()
        return self._write_lock

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session that commits on success and rolls back on any error. For the unit of work and
        for plumbing below the domain (migrations, the directory sync's writer connection)."""
        async with self.sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def dispose(self) -> None:
        await self.engine.dispose()


_OPEN_TRANSACTIONS: ContextVar[int] = ContextVar("idops_open_transactions", default=0)


class TransactionOpenError(RuntimeError):
    """Graph (or another slow remote) was about to be awaited while a database transaction is open."""


def transaction_open() -> bool:
    return _OPEN_TRANSACTIONS.get() > 0


def assert_no_transaction(what: str) -> None:
    """Raise ``TransactionOpenError`` when the running task holds an open unit of work."""
    if _OPEN_TRANSACTIONS.get() > 0:
        raise TransactionOpenError(f"{what} awaited inside an open database transaction")


def enter_transaction() -> None:
    """Count an opened transaction for the running task (the unit of work calls it)."""
    _OPEN_TRANSACTIONS.set(_OPEN_TRANSACTIONS.get() + 1)


def leave_transaction() -> None:
    """Count a transaction as ended. A transaction closed by another task than the one that opened it
    (the directory sync's writer) leaves that task marked; it calls no Graph afterwards."""
    _OPEN_TRANSACTIONS.set(max(0, _OPEN_TRANSACTIONS.get() - 1))
