"""Database leases: at most one holder per job name across all processes."""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, update
from sqlalchemy.exc import IntegrityError

from idops.jobruntime.models import JobLease
from idops.kit.db import Database


def make_holder_id() -> str:
    """Host, pid and a random part: unique even when a pid is reused after a crash."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def acquire(db: Database, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take the lease if free or expired. Atomic on SQLite and PostgreSQL (insert, else conditional update)."""
    try:
        async with db.session() as s:
            await s.execute(
                insert(JobLease).values(name=name, holder=holder, acquired_at=now, expires_at=now + ttl)
            )
        return True
    except IntegrityError:
        pass
    async with db.session() as s:
        result = await s.execute(
            update(JobLease)
            .where(JobLease.name == name, JobLease.expires_at < now)
            .values(holder=holder, acquired_at=now, expires_at=now + ttl)
        )
        return (result.rowcount or 0) == 1  # type: ignore[attr-defined]


async def renew(db: Database, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    async with db.session() as s:
        result = await s.execute(
            update(JobLease)
            .where(JobLease.name == name, JobLease.holder == holder)
            .values(expires_at=now + ttl)
        )
        return (result.rowcount or 0) == 1  # type: ignore[attr-defined]


async def release(db: Database, name: str, holder: str) -> None:
    async with db.session() as s:
        await s.execute(delete(JobLease).where(JobLease.name == name, JobLease.holder == holder))
