"""``kit.db.savepoint`` on SQLite: Python's sqlite3 driver opens a transaction only before a write, so a
bare SAVEPOINT sent first opened the transaction itself and its RELEASE committed — a rolled-back caller
kept the job lease it took (the bug this catches; it fails with ``session.begin_nested()``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from idops.jobruntime.models import JobLease
from idops.jobruntime.repository import JobRepository
from idops.kit.db import create_engine

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


async def test_a_lease_taken_in_a_rolled_back_transaction_is_not_kept(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'idops.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(lambda c: JobLease.__table__.create(c))
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    try:
        async with sessions() as session:
            jobs = JobRepository(session)
            await session.execute(select(JobLease))  # reads first: no transaction yet in sqlite3's eyes
            assert await jobs.acquire_lease("expire", "a", NOW, timedelta(minutes=5))
            await session.rollback()
        async with sessions() as session:
            jobs = JobRepository(session)
            assert await jobs.lease_holder("expire", NOW) is None
            # and inside a transaction that commits, the savepoint's work is kept; a second holder loses
            assert await jobs.acquire_lease("expire", "a", NOW, timedelta(minutes=5))
            assert not await jobs.acquire_lease("expire", "b", NOW, timedelta(minutes=5))
            await session.commit()
        async with sessions() as session:
            holder = await JobRepository(session).lease_holder("expire", NOW)
            assert holder is not None and holder.holder == "a"
    finally:
        await engine.dispose()
