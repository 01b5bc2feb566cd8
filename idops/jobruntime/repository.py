"""All SQL of the job runtime: leases (one holder per job name across processes) and run records."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from idops.jobruntime.models import JobLease, JobRun
from idops.kit.db import savepoint
from idops.kit.uow import Transactional


class JobRepository:
    """Leases and run records. Lease changes are single conditional statements, so two processes
    racing for one lease see exactly one winner on SQLite and PostgreSQL alike."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def acquire_lease(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        """Take the lease if free or expired (insert, else a conditional update of an expired row)."""
        try:
            async with savepoint(self.session):
                await self.session.execute(
                    insert(JobLease).values(name=name, holder=holder, acquired_at=now, expires_at=now + ttl)
                )
            return True
        except IntegrityError:
            pass
        result = await self.session.execute(
            update(JobLease)
            .where(JobLease.name == name, JobLease.expires_at < now)
            .values(holder=holder, acquired_at=now, expires_at=now + ttl)
        )
        return (result.rowcount or 0) == 1  # type: ignore[attr-defined]

    async def renew_lease(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        """Extend our lease; False when it is no longer ours (expired and taken by another holder)."""
        result = await self.session.execute(
            update(JobLease).where(JobLease.name == name, JobLease.holder == holder).values(expires_at=now + ttl)
        )
        return (result.rowcount or 0) == 1  # type: ignore[attr-defined]

    async def release_lease(self, name: str, holder: str) -> None:
        await self.session.execute(delete(JobLease).where(JobLease.name == name, JobLease.holder == holder))

    async def lease_holder(self, name: str, now: datetime) -> JobLease | None:
        """The live lease of ``name`` (None when free or expired)."""
        lease = await self.session.get(JobLease, name)
        return lease if lease is not None and lease.expires_at >= now else None

    def add_run(self, run: JobRun) -> None:
        self.session.add(run)

    async def get_run(self, run_id: str) -> JobRun | None:
        return await self.session.get(JobRun, run_id)

    async def finish_run(
        self, run_id: str, *, outcome: str, counts: dict[str, int], error: str | None, now: datetime
    ) -> JobRun:
        await self.session.execute(
            update(JobRun)
            .where(JobRun.id == run_id)
            .values(outcome=outcome, counts=counts, error=error, finished_at=now)
            .execution_options(synchronize_session=False)
        )
        return (await self.session.execute(select(JobRun).where(JobRun.id == run_id))).scalar_one()

    async def mark_abandoned(self, name: str, holder: str, current_run: str, now: datetime) -> None:
        """Runs still 'running' while we hold the lease belong to a holder that died (its lease expired)."""
        await self.session.execute(
            update(JobRun)
            .where(JobRun.name == name, JobRun.outcome == "running", JobRun.id != current_run, JobRun.holder != holder)
            .values(outcome="abandoned", error="the process running it stopped (lease expired)", finished_at=now)
            .execution_options(synchronize_session=False)
        )

    async def running(self, name: str) -> JobRun | None:
        """The newest run of ``name`` still recorded as running."""
        q = (
            select(JobRun)
            .where(JobRun.name == name, JobRun.outcome == "running")
            .order_by(JobRun.started_at.desc())
            .limit(1)
        )
        return (await self.session.execute(q)).scalars().first()

    async def last_runs(self) -> dict[str, JobRun]:
        """The latest run of each job (by start time)."""
        latest = select(JobRun.name, func.max(JobRun.started_at).label("started")).group_by(JobRun.name).subquery()
        rows = (
            await self.session.execute(
                select(JobRun).join(latest, (JobRun.name == latest.c.name) & (JobRun.started_at == latest.c.started))
            )
        ).scalars()
        return {r.name: r for r in rows}

    async def last_successes(self) -> dict[str, datetime]:
        """When each job last finished with outcome ``succeeded``."""
        q = select(JobRun.name, func.max(JobRun.finished_at)).where(JobRun.outcome == "succeeded").group_by(JobRun.name)
        return {name: at for name, at in (await self.session.execute(q)).all() if at is not None}

    async def forget_runs_before(self, cutoff: datetime) -> int:
        result = await self.session.execute(delete(JobRun).where(JobRun.started_at < cutoff))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


class JobsUnitOfWork(Transactional, Protocol):
    """The unit of work the jobruntime services receive (``idops.uow.UnitOfWork`` is one)."""

    jobs: JobRepository
