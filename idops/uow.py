"""The unit of work: every repository over one transaction, committed or rolled back as a whole.

Services receive a ``UnitOfWork`` and never open sessions. Each ``async with uow:`` is one
transaction; leaving the block without ``await uow.commit()`` rolls it back, so a read needs no
commit and an exception never half-writes. Rows read in a block stay readable after it
(detached, not expired); relationships are ``lazy="raise"``, so nothing loads behind a service's
back.

Work that calls Microsoft Graph between writes (provisioning, expiry) is a sequence of such
blocks on the same ``uow`` object, one per recorded step, with Graph awaited *between* them —
never inside one: the Graph adapter and the in-memory fake raise ``TransactionOpenError`` if
they are awaited while a block is open.

    async with uow:
        period = await uow.substitutes.get_period(period_id)
        uow.audit.record(...)
        await uow.commit()
    await directory.apply_account_changes(...)   # no transaction open here
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from idops.audit.repository import AuditRepository
from idops.coverage.repository import CoverageRepository
from idops.directory.repository import DirectoryRepository
from idops.jobruntime.repository import JobRepository
from idops.kit.db import Database, enter_transaction, leave_transaction
from idops.mfa.repository import MfaRepository
from idops.sessions.repository import SessionRepository
from idops.signins.repository import SignInRepository
from idops.substitutes.repository import SubstituteRepository
from idops.throttle.repository import ThrottleRepository


class UnitOfWork:
    """One transaction at a time over the repositories. Not shared between concurrent tasks:
    ``Container.uow()`` gives each caller its own."""

    substitutes: SubstituteRepository
    audit: AuditRepository
    mfa: MfaRepository
    signins: SignInRepository
    coverage: CoverageRepository
    directory: DirectoryRepository
    jobs: JobRepository
    throttle: ThrottleRepository
    sessions: SessionRepository

    def __init__(self, database: Database, *, connection: AsyncConnection | None = None) -> None:
        self._database = database
        self._connection = connection
        self._session: AsyncSession | None = None

    @property
    def is_sqlite(self) -> bool:
        return self._database.is_sqlite

    async def __aenter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("a unit of work is not re-entrant: finish the open block first")
        if self._connection is not None:
            session = AsyncSession(bind=self._connection, expire_on_commit=False, autoflush=False)
        else:
            session = self._database.sessionmaker()
        self._session = session
        self.substitutes = SubstituteRepository(session)
        self.audit = AuditRepository(session)
        self.mfa = MfaRepository(session)
        self.signins = SignInRepository(session)
        self.coverage = CoverageRepository(session)
        self.directory = DirectoryRepository(session)
        self.jobs = JobRepository(session)
        self.throttle = ThrottleRepository(session)
        self.sessions = SessionRepository(session)
        enter_transaction()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        session, self._session = self._session, None
        try:
            if session is not None:
                try:
                    if exc is not None:
                        await session.rollback()
                finally:
                    # Ends the transaction; anything not committed is rolled back by the database.
                    # Objects read in the block stay readable (close() detaches without expiring them).
                    await session.close()
        finally:
            leave_transaction()

    def sibling(self) -> UnitOfWork:
        """Another unit of work on the same database, for work running concurrently with this one
        (one per tenant, say): a unit of work belongs to one task at a time."""
        return UnitOfWork(self._database)

    async def pinned(self) -> UnitOfWork:
        """A unit of work whose transactions all run on one dedicated connection (connection-level
        settings that must hold across transactions: the directory sync's SQLite writer). Give the
        connection back with ``close()``."""
        return UnitOfWork(self._database, connection=await self._database.engine.connect())

    async def close(self) -> None:
        """Give back a pinned connection (a no-op for an ordinary unit of work)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()

    async def commit(self) -> None:
        await self._open().commit()

    async def rollback(self) -> None:
        await self._open().rollback()

    async def flush(self) -> None:
        """Send pending changes (to learn generated ids or hit a unique key) without committing."""
        await self._open().flush()

    def _open(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("the unit of work is not open: use 'async with uow:'")
        return self._session
