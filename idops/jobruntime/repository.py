"""All SQL of the job runtime: leases (one holder per name across processes), run records and units."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import delete, exists, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from idops.jobruntime.models import JobLease, JobRun, JobUnit
from idops.kit.db import upsert_insert
from idops.kit.uow import Transactional

#: Runs whose units may still be worked on ("interrupted": handed back at a shutdown, resumable).
OPEN = ("running", "interrupted")
#: Units that are done, one way or another.
ENDED_UNITS = ("succeeded", "partial", "failed", "abandoned")
#: The error of a unit taken back from a holder whose lease expired (it died, or lost the lease).
REAPED = "the process running it stopped (lease expired)"


def lease_name(job: str, key: str) -> str:
    """The lease of one unit: ``<job>@<key>`` (the job's own lease is its bare name)."""
    return f"{job}@{key}"


class JobRepository:
    """Leases and run records. Lease changes are single conditional statements, so two processes
    racing for one lease see exactly one winner on SQLite and PostgreSQL alike."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def acquire_lease(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        """Take the lease if free or expired: one ``INSERT … ON CONFLICT DO UPDATE … WHERE expired``
        (one statement, so it needs no savepoint and rolls back with the caller's transaction)."""
        stmt = upsert_insert(self.session, JobLease).values(
            name=name, holder=holder, acquired_at=now, expires_at=now + ttl
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[JobLease.name],
            set_={"holder": holder, "acquired_at": now, "expires_at": now + ttl},
            where=JobLease.expires_at < now,
        )
        # RETURNING, not the row count: psycopg's for INSERT … ON CONFLICT is not the rows written
        taken = (await self.session.execute(stmt.returning(JobLease.name))).scalar_one_or_none()
        return taken is not None

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

    # ------------------------------------------------------------------------------ units

    def add_unit(self, unit: JobUnit) -> None:
        self.session.add(unit)

    async def open_runs(self, name: str | None = None) -> list[JobRun]:
        """Runs whose units may still be worked on (oldest first); of one job, or of every job."""
        q = select(JobRun).where(JobRun.outcome.in_(OPEN))
        if name is not None:
            q = q.where(JobRun.name == name)
        return list((await self.session.execute(q.order_by(JobRun.started_at))).scalars())

    async def units_of(self, run_ids: Sequence[str]) -> dict[str, list[JobUnit]]:
        """The units of each run, in creation order."""
        out: dict[str, list[JobUnit]] = {r: [] for r in run_ids}
        if run_ids:
            q = select(JobUnit).where(JobUnit.run_id.in_(list(run_ids))).order_by(JobUnit.run_id, JobUnit.key)
            for unit in (await self.session.execute(q)).scalars():
                out[unit.run_id].append(unit)
        return out

    async def live_lease_holders(self, names: Sequence[str], now: datetime) -> dict[str, str]:
        """Holder of each of ``names`` whose lease is live."""
        if not names:
            return {}
        q = select(JobLease.name, JobLease.holder).where(JobLease.name.in_(list(names)), JobLease.expires_at >= now)
        return {n: h for n, h in (await self.session.execute(q)).all()}

    async def stale_units(self, now: datetime) -> list[JobUnit]:
        """Units recorded as running whose holder no longer has their lease (it died, or lost it)."""
        live = exists().where(
            JobLease.name == JobUnit.job + literal("@") + JobUnit.key,
            JobLease.holder == JobUnit.holder,
            JobLease.expires_at >= now,
        )
        q = select(JobUnit).where(JobUnit.status == "running", ~live)
        return list((await self.session.execute(q)).scalars())

    async def claimable_units(self, now: datetime, run_id: str | None, limit: int) -> list[JobUnit]:
        """Pending units due now, of open runs (of one run, or of any), oldest run first."""
        q = (
            select(JobUnit)
            .join(JobRun, JobRun.id == JobUnit.run_id)
            .where(
                JobUnit.status == "pending",
                or_(JobUnit.next_attempt_at.is_(None), JobUnit.next_attempt_at <= now),
                JobRun.outcome.in_(OPEN),
            )
            .order_by(JobRun.started_at, JobUnit.key)
            .limit(limit)
        )
        if run_id is not None:
            q = q.where(JobUnit.run_id == run_id)
        return list((await self.session.execute(q)).scalars())

    async def claim_unit(self, unit: JobUnit, holder: str, now: datetime, ttl: timedelta) -> bool:
        """Take the unit's lease and mark it ours (one more attempt), if it is still pending: one
        winner however many processes try. Its run, if interrupted, is running again."""
        if not await self.acquire_lease(lease_name(unit.job, unit.key), holder, now, ttl):
            return False
        result = await self.session.execute(
            update(JobUnit)
            .where(JobUnit.id == unit.id, JobUnit.status == "pending")
            .values(status="running", holder=holder, attempts=JobUnit.attempts + 1, started_at=now,
                    next_attempt_at=None)
            .execution_options(synchronize_session=False)
        )
        if (result.rowcount or 0) != 1:  # type: ignore[attr-defined]
            await self.release_lease(lease_name(unit.job, unit.key), holder)
            return False
        await self.session.execute(
            update(JobRun).where(JobRun.id == unit.run_id, JobRun.outcome == "interrupted").values(outcome="running")
        )
        return True

    async def end_unit(
        self, unit_id: str, holder: str, *, status: str, now: datetime, counts: dict[str, Any] | None = None,
        error: str | None = None, next_attempt_at: datetime | None = None, refund: bool = False,
    ) -> bool:
        """Record what became of our unit: an end (``succeeded``…), or back to ``pending`` (a retry
        at ``next_attempt_at``; ``refund``: this attempt does not count — handed back at a shutdown).
        Nothing happens when the unit is no longer ours."""
        values: dict[str, Any] = {"status": status, "holder": None, "error": error, "next_attempt_at": next_attempt_at}
        if status in ENDED_UNITS:
            values["finished_at"] = now
            values["counts"] = counts or {}
        if refund:
            values["attempts"] = JobUnit.attempts - 1
        result = await self.session.execute(
            update(JobUnit).where(JobUnit.id == unit_id, JobUnit.holder == holder, JobUnit.status == "running")
            .values(**values).execution_options(synchronize_session=False)
        )
        return (result.rowcount or 0) == 1  # type: ignore[attr-defined]

    async def reap_unit(self, unit: JobUnit, *, status: str, now: datetime, error: str | None) -> bool:
        """A stale unit (its holder's lease is gone): back to ``pending`` or ``abandoned``."""
        values: dict[str, Any] = {"status": status, "holder": None, "error": error}
        if status in ENDED_UNITS:
            values["finished_at"] = now
        result = await self.session.execute(
            update(JobUnit)
            .where(JobUnit.id == unit.id, JobUnit.status == "running", JobUnit.holder == unit.holder)
            .values(**values).execution_options(synchronize_session=False)
        )
        return (result.rowcount or 0) == 1  # type: ignore[attr-defined]

    async def abandon_pending(self, run_id: str, now: datetime, error: str) -> None:
        """Give up the units of a run nobody will work on any more (too old to resume)."""
        await self.session.execute(
            update(JobUnit).where(JobUnit.run_id == run_id, JobUnit.status == "pending")
            .values(status="abandoned", error=error, finished_at=now).execution_options(synchronize_session=False)
        )

    async def interrupt_if_idle(self, run_id: str) -> bool:
        """Record a run ``interrupted`` when none of its units is being worked on any more."""
        busy = exists().where(JobUnit.run_id == run_id, JobUnit.status == "running")
        result = await self.session.execute(
            update(JobRun).where(JobRun.id == run_id, JobRun.outcome == "running", ~busy)
            .values(outcome="interrupted").execution_options(synchronize_session=False)
        )
        return (result.rowcount or 0) == 1  # type: ignore[attr-defined]

    async def retry_reaped(self, run_id: str) -> None:
        """Units of ``run_id`` abandoned because their holder died (``REAPED``): pending again."""
        await self.session.execute(
            update(JobUnit).where(JobUnit.run_id == run_id, JobUnit.status == "abandoned", JobUnit.error == REAPED)
            .values(status="pending", error=None, finished_at=None).execution_options(synchronize_session=False)
        )

    async def resume_run(self, run_id: str) -> None:
        await self.session.execute(
            update(JobRun).where(JobRun.id == run_id, JobRun.outcome == "interrupted").values(outcome="running")
        )

    async def close_run(
        self, run_id: str, *, outcome: str, counts: dict[str, Any], error: str | None, now: datetime
    ) -> bool:
        """Record an open run's end, once (False when another process closed it first)."""
        result = await self.session.execute(
            update(JobRun)
            .where(JobRun.id == run_id, JobRun.outcome.in_(OPEN))
            .values(outcome=outcome, counts=counts, error=error, finished_at=now)
            .execution_options(synchronize_session=False)
        )
        return (result.rowcount or 0) == 1  # type: ignore[attr-defined]

    async def recent_units(self, keys: Sequence[str], limit: int) -> list[tuple[JobRun, JobUnit]]:
        """The newest units with one of ``keys`` and their runs (newest run first)."""
        q = (
            select(JobRun, JobUnit)
            .join(JobUnit, JobUnit.run_id == JobRun.id)
            .where(JobUnit.key.in_(list(keys)))
            .order_by(JobRun.started_at.desc())
            .limit(limit)
        )
        return [(r, u) for r, u in (await self.session.execute(q)).all()]

    async def forget_runs_before(self, cutoff: datetime) -> int:
        old = select(JobRun.id).where(JobRun.started_at < cutoff)
        await self.session.execute(delete(JobUnit).where(JobUnit.run_id.in_(old)))
        result = await self.session.execute(delete(JobRun).where(JobRun.started_at < cutoff))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


class JobsUnitOfWork(Transactional, Protocol):
    """The unit of work the jobruntime services receive (``idops.uow.UnitOfWork`` is one)."""

    jobs: JobRepository
