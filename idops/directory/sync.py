"""Streaming sync of one tenant's directory into the mirror tables.

Per tenant, concurrently:

1. the registration report (``userRegistrationDetails``) streams page by page into
   ``directory_users``' registration columns — it is the slow stream (5 requests / 10 s, paced
   by the adapter's pacer), so it starts first and runs while everything else happens;
2. the transitive members of every configured staff / pupil / substitute / exclusion group are
   read into one bit mask per user (``GroupIndex``; a few MB for 100 000 users);
3. ``/users`` streams page by page: its first pages are fetched while the groups are read; then
   each page is classified and upserted with its memberships while the next page is fetched.

Only a few pages of each stream are in memory at a time. Rows are written in short transactions
(this module is a unit-of-work boundary, like a job): a paced sync lasts minutes and must not hold
SQLite's single write lock across network waits, so a transaction commits as soon as the writer
has nothing more to write, and at the latest after ``TRANSACTION_SECONDS`` while it is kept busy.
On SQLite the writes of all tenants are serialised through one lock; PostgreSQL writes them in
parallel. Readers may see a
mix of this run's and the previous run's rows until ``finish_run`` removes what was not seen —
each row is always a valid state of its user.

Nothing is deleted unless every stream of the tenant completed: a failed run leaves the previous
mirror in place (updated where it got to).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, NamedTuple, TypeVar

import structlog

from idops.config import Config
from idops.directory.classify import GroupIndex, classify
from idops.directory.repository import DirectoryUnitOfWork, Encoder
from idops.graph.errors import GraphForbidden, GraphPremiumRequired
from idops.graph.parse import parse_datetime
from idops.graph.port import BulkUser, Directory, Page

log = structlog.get_logger("idops.directory")
T = TypeVar("T")

#: Rows buffered per write: larger writes visit each B-tree page fewer times (random GUID keys touch
#: most pages of a chunk); memory stays bounded whatever the tenant size.
WRITE_BATCH = 20_000
#: Longest a write transaction spans consecutive writes while streams wait for the writer (SQLite's
#: write lock is held meanwhile; other writers wait, with a 15 s busy timeout).
TRANSACTION_SECONDS = 1.0

#: SQLite's default ``wal_autocheckpoint`` (pages), which ``idops.kit.db`` leaves as it is.
SQLITE_AUTOCHECKPOINT = 1000

#: ``/users`` pages fetched ahead while the groups are read (a page of 999 users is ~0.3 MB decoded).
USER_PREFETCH = 4


@dataclass(frozen=True, slots=True)
class TenantSyncResult:
    tenant_id: str
    run: str
    synced_at: datetime
    users: int
    memberships: int
    removed: int
    report_rows: int
    report_oldest: datetime | None  # oldest lastUpdatedDateTime of the report rows
    report_newest: datetime | None
    groups: int
    seconds: float
    # "available", or why the registration report could not be read: "premium_required" (no Entra ID
    # P1/P2: 403 non-premium tenant), "permission_missing" (403: AuditLog.Read.All not granted)
    report_status: str = "available"

    @property
    def report_available(self) -> bool:
        return self.report_status == "available"


class Prefetch(AsyncIterator[T]):
    """Iterate ``source`` while fetching up to ``depth`` items ahead in a background task.

    Errors of ``source`` surface at the point they occurred; ``aclose`` cancels the fetcher.
    """

    def __init__(self, source: AsyncIterator[T], depth: int = 2) -> None:
        self._queue: asyncio.Queue[tuple[bool, Any]] = asyncio.Queue(maxsize=depth)
        self._task = asyncio.create_task(self._pump(source))

    async def _pump(self, source: AsyncIterator[T]) -> None:
        try:
            async for item in source:
                await self._queue.put((True, item))
            await self._queue.put((False, None))
        except Exception as exc:  # handed to the consumer, who re-raises it
            await self._queue.put((False, exc))

    async def __anext__(self) -> T:
        more, item = await self._queue.get()
        if not more:
            await self.aclose()
            if isinstance(item, Exception):
                raise item
            raise StopAsyncIteration
        return item

    async def aclose(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task


class _Writer:
    """Short write transactions, serialised on SQLite (one writer at a time).

    ``run`` writes in the open transaction (opening one if needed) and then commits, unless
    ``more_waiting()`` says the next write follows at once *and* the transaction is younger than
    ``TRANSACTION_SECONDS``. An unthrottled sync keeps the writer busy, and each commit writes every
    B-tree page the transaction touched to the WAL: with random GUID keys that is most of the index
    pages, each time (a commit per 10 000 rows cost ~0.5 s of a 4–5 s sync of 100 000 users). A
    transaction is never left open while the sync waits for Graph.

    On SQLite the writer keeps one connection for the run: a 32 MB page cache (SQLite's default is
    2 MB; the upserts touch tens of MB) and no automatic checkpoint at its commits, which copied most
    index pages into the database file again after every transaction, on the sync's critical path
    (~0.3 s of 3.5 s at 100 000 users). ``checkpoint`` copies the WAL once at the end instead; until
    then any other connection's commit may do it, as before. ``close`` restores the connection.
    """

    def __init__(self, uow: DirectoryUnitOfWork, lock: asyncio.Lock | None) -> None:
        self.uow = uow
        self.lock = lock if uow.is_sqlite else None
        self._open: tuple[contextlib.AsyncExitStack, DirectoryUnitOfWork, float] | None = None
        self._pinned: DirectoryUnitOfWork | None = None

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[DirectoryUnitOfWork]:
        if self.lock is None:
            async with self.uow:
                yield self.uow
                await self.uow.commit()
            return
        async with self.lock:
            if self._pinned is None:
                pinned = await self.uow.pinned()
                try:
                    async with pinned:
                        await pinned.directory.tune_for_bulk_writes()
                        await pinned.commit()
                except BaseException:
                    await pinned.close()
                    raise
                self._pinned = pinned
            async with self._pinned:
                yield self._pinned
                await self._pinned.commit()

    async def close(self) -> None:
        """Roll back what is open, restore the connection's settings and give it back. Idempotent."""
        await self.abort()
        pinned, self._pinned = self._pinned, None
        if pinned is not None:
            try:
                async with pinned:
                    await pinned.directory.restore_after_bulk_writes(SQLITE_AUTOCHECKPOINT)
                    await pinned.commit()
            finally:
                await pinned.close()

    async def run(
        self, work: Callable[[DirectoryUnitOfWork], Awaitable[None]], *, more_waiting: Callable[[], bool]
    ) -> None:
        if self._open is None:
            stack = contextlib.AsyncExitStack()
            session = await stack.enter_async_context(self.session())
            self._open = (stack, session, time.monotonic())
        stack, session, started = self._open
        try:
            await work(session)
        except BaseException as exc:
            self._open = None
            await stack.__aexit__(type(exc), exc, exc.__traceback__)  # rolls back
            raise
        if not more_waiting() or time.monotonic() - started >= TRANSACTION_SECONDS:
            await self.commit()

    async def commit(self) -> None:
        if self._open is not None:
            stack, self._open = self._open[0], None
            await stack.aclose()

    async def abort(self) -> None:
        """Roll back an open transaction (the run failed or was cancelled)."""
        if self._open is not None:
            stack, self._open = self._open[0], None
            exc = RuntimeError("directory sync aborted")
            with contextlib.suppress(Exception):
                await stack.__aexit__(RuntimeError, exc, None)


class _Rows:
    """Pairs each user with their report row so that most users are written once, whole.

    The user stream and the report stream arrive independently (in the same order from Graph and
    the emulator, but nothing guarantees it). A row waits here for its partner. When more than
    ``cap`` report rows wait, the report stream pauses (``wait_for_users``: unthrottled, it starts
    first and runs ahead); when more than ``cap`` users wait (the paced report is slow), the oldest
    are written alone and their report rows later update them. Memory stays bounded whatever the
    order; the run's clean-up (``finish_run``) marks users the report never listed as not
    registered. Report rows of users the user stream never showed are not written (they would
    only be deleted).
    """

    def __init__(self, writer: _Writer, enc: Encoder, cap: int = 20_000) -> None:
        self.writer = writer
        self.cap = cap
        # registration columns of a user written before (or without) their report row: unknown, until the
        # report lists them, or the run's clean-up marks them not registered (listed by no complete
        # report: docs/definitions.md), or a per-user method scan reads them; no admin role known
        self.no_report = (False, False, False, enc.methods(()), None, None, None, False)
        self.users: dict[str, tuple[Any, ...]] = {}  # user id → user half, waiting for its report row
        self.reports: dict[str, tuple[Any, ...]] = {}  # user id → (upn, name, report half)
        self.spilled_users: set[str] = set()  # written without their report row
        self.users_done = self.report_done = False
        self._users_moved = asyncio.Event()
        self._writing: asyncio.Task[None] | None = None  # the writer: runs while rows are pending
        self._taken = asyncio.Event()  # set whenever the writer takes the pending rows
        self._finishing = False
        self.whole: list[tuple[Any, ...]] = []
        self.attributes: list[tuple[Any, ...]] = []
        self.registrations: list[tuple[Any, ...]] = []
        self.memberships: list[tuple[Any, ...]] = []

    def add_users(self, rows: list[tuple[Any, ...]]) -> None:
        reports, waiting = self.reports, self.users
        for u in rows:
            r = reports.pop(u[1], None)
            if r is not None:
                self.whole.append(u + r[2])
            elif self.report_done:
                self.attributes.append(u + self.no_report)
            else:
                waiting[u[1]] = u
        self._users_moved.set()
        while len(waiting) > self.cap:
            uid = next(iter(waiting))
            self.attributes.append(waiting.pop(uid) + self.no_report)
            self.spilled_users.add(uid)

    def add_reports(self, tenant_id: str, rows: list[tuple[str, str, str, tuple[Any, ...]]]) -> None:
        users, waiting = self.users, self.reports
        for uid, upn, name, r in rows:
            u = users.pop(uid, None)
            if u is not None:
                self.whole.append(u + r)
            elif not self.users_done:
                waiting[uid] = (upn, name, r)
            elif uid in self.spilled_users:
                self.registrations.append(_registration_row(tenant_id, uid, upn, name, r))

    async def wait_for_users(self) -> None:
        """Pause the report stream while more than ``cap`` of its rows wait for their users."""
        while len(self.reports) > self.cap and not self.users_done:
            self._users_moved.clear()
            await self._users_moved.wait()

    def end_users(self, tenant_id: str) -> None:
        self.users_done = True
        self._users_moved.set()
        for uid, (upn, name, r) in self.reports.items():
            if uid in self.spilled_users:
                self.registrations.append(_registration_row(tenant_id, uid, upn, name, r))
        self.reports.clear()

    def end_report(self) -> None:
        self.report_done = True
        self.attributes.extend(u + self.no_report for u in self.users.values())
        self.users.clear()

    @property
    def pending(self) -> int:
        return len(self.whole) + len(self.attributes) + len(self.registrations) + len(self.memberships)

    async def flush(self, *, final: bool = False) -> None:
        """Hand what is ready to the background writer, so parsing and fetching go on meanwhile.

        The writer writes whatever has accumulated, batch after batch, until nothing is pending.
        A caller waits while ``WRITE_BATCH`` rows or more are pending (the writer is behind);
        ``final``: wait until everything is written (``finish`` commits). A failed write raises here."""
        while True:
            writing = self._writing
            if writing is not None and writing.done():
                self._writing = None
                await writing  # raises the write's error
                continue
            if writing is None and self.pending:
                self._writing = writing = asyncio.create_task(self._write_all())
            if writing is None or (not final and self.pending < WRITE_BATCH):
                # Let the writer's task run between two pages: with pages already prefetched a stream
                # would otherwise go on without suspending, and SQLite would wait for its next statement.
                await asyncio.sleep(0)
                return
            self._taken.clear()
            taken = asyncio.ensure_future(self._taken.wait())
            try:
                await asyncio.wait((writing, taken), return_when=asyncio.FIRST_COMPLETED)
            finally:
                taken.cancel()

    async def finish(self, last: Callable[[DirectoryUnitOfWork], Awaitable[int]]) -> int:
        """Write everything pending, then run ``last`` in the same transaction and commit it."""
        self._finishing = True  # the writer leaves its last transaction open for ``last``
        await self.flush(final=True)
        out: list[int] = []

        async def run_last(uow: DirectoryUnitOfWork) -> None:
            out.append(await last(uow))

        await self.writer.run(run_last, more_waiting=lambda: False)
        return out[0]

    async def _write_all(self) -> None:
        while self.pending:
            batches = (self.whole, self.attributes, self.registrations, self.memberships)
            self.whole, self.attributes, self.registrations, self.memberships = [], [], [], []
            self._taken.set()
            for rows in batches:
                rows.sort(key=_second)  # key order: each B-tree page is visited once per batch, not at random
            # Rows that arrived meanwhile are written next, at once: the transaction may stay open for them.
            await self.writer.run(
                partial(_write_batches, *batches), more_waiting=lambda: self.pending > 0 or self._finishing
            )

    async def cancel(self) -> None:
        if self._writing is not None:
            self._writing.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._writing
        await self.writer.abort()


async def _write_batches(
    whole: list[tuple[Any, ...]],
    attributes: list[tuple[Any, ...]],
    registrations: list[tuple[Any, ...]],
    memberships: list[tuple[Any, ...]],
    uow: DirectoryUnitOfWork,
) -> None:
    await uow.directory.upsert_users(whole)
    await uow.directory.upsert_user_attributes(attributes)
    await uow.directory.upsert_registrations(registrations)
    await uow.directory.upsert_memberships(memberships)


async def _finish_run(uow: DirectoryUnitOfWork, *, tenant_id: str, run: str, report_complete: bool) -> int:
    return await uow.directory.finish_run(tenant_id, run, report_complete=report_complete)


def _second(row: tuple[Any, ...]) -> Any:
    return row[1]


def _registration_row(tenant_id: str, uid: str, upn: str, name: str, r: tuple[Any, ...]) -> tuple[Any, ...]:
    """A ``USER_ROW`` that only ``upsert_registrations`` writes (its user columns are placeholders)."""
    return (tenant_id, uid, upn, name, None, None, False, None, None, None, None, None, None, *r)


async def sync_tenant(
    uow: DirectoryUnitOfWork,
    directory: Directory,
    config: Config,
    tenant_id: str,
    now: datetime,
    *,
    write_lock: asyncio.Lock | None = None,
) -> TenantSyncResult:
    """Mirror one tenant: every user (also role ``other``), their schools and roles, exclusion
    reasons and registration state. Idempotent; raises the stream's error if Graph fails (the
    previous mirror is then kept, nothing is deleted)."""
    started = time.perf_counter()
    tenant_id = tenant_id.lower()
    run = uuid.uuid4().hex
    writer = _Writer(uow, write_lock)
    enc = Encoder("sqlite" if uow.is_sqlite else "postgresql")
    rows = _Rows(writer, enc)
    index = GroupIndex.for_tenant(config.region, tenant_id, config.settings.mfa.exclusion_group_ids)
    try:
        return await _sync_tenant(rows, enc, directory, tenant_id, index, now, run, started)
    finally:
        await writer.close()


async def _sync_tenant(
    rows: _Rows,
    enc: Encoder,
    directory: Directory,
    tenant_id: str,
    index: GroupIndex,
    now: datetime,
    run: str,
    started: float,
) -> TenantSyncResult:
    bound = log.bind(tenant=tenant_id, run=run)
    report_task = asyncio.create_task(_sync_report(rows, enc, directory, tenant_id, run))
    user_pages = Prefetch(aiter(directory.list_users_bulk()), depth=USER_PREFETCH)
    try:
        await asyncio.gather(*(_read_group(directory, index, gid) for gid in index.group_ids))
        users, memberships = await _sync_users(rows, enc, user_pages, tenant_id, index, now, run)
        report_rows, oldest, newest, report_status = await report_task
        # every stream completed: the clean-up may delete what this run did not see
        removed = await rows.finish(
            partial(_finish_run, tenant_id=tenant_id, run=run, report_complete=report_status == "available")
        )
    except BaseException:
        await user_pages.aclose()
        report_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await report_task
        await rows.cancel()
        raise
    result = TenantSyncResult(
        tenant_id=tenant_id,
        run=run,
        synced_at=now,
        users=users,
        memberships=memberships,
        removed=removed,
        report_rows=report_rows,
        report_oldest=enc.stored_time(oldest),
        report_newest=enc.stored_time(newest),
        groups=len(index.group_ids),
        seconds=time.perf_counter() - started,
        report_status=report_status,
    )
    bound.info(
        "directory_synced",
        users=users,
        memberships=memberships,
        removed=removed,
        report_rows=report_rows,
        groups=result.groups,
        seconds=round(result.seconds, 3),
    )
    return result


async def _read_group(directory: Directory, index: GroupIndex, group_id: str) -> None:
    async for page in directory.list_group_members_bulk(group_id, transitive=True):
        index.mark(group_id, [m.id for m in page if not m.is_group])


class _Facts(NamedTuple):
    """What classification reads of a user (``classify.UserFacts``)."""

    account_enabled: bool
    user_type: str | None
    employee_hire_date: datetime | None


async def _sync_users(
    rows: _Rows,
    enc: Encoder,
    pages: Prefetch[Page[BulkUser]],
    tenant_id: str,
    index: GroupIndex,
    now: datetime,
    run: str,
) -> tuple[int, int]:
    """Consume the ``/users`` stream: classify each user and hand its row and memberships to ``rows``."""
    counts = [0, 0]  # users, memberships
    try:
        await _consume_users(pages, rows, enc, tenant_id, index, now, run, counts)
    finally:
        await pages.aclose()
    rows.end_users(tenant_id)
    return counts[0], counts[1]


async def _consume_users(
    pages: Prefetch[Page[BulkUser]],
    rows: _Rows,
    enc: Encoder,
    tenant_id: str,
    index: GroupIndex,
    now: datetime,
    run: str,
    counts: list[int],
) -> None:
    masks = index.masks
    synced_at = enc.time(now)
    graph_time = enc.graph_time
    # Classification depends only on (mask, enabled, guest, hire date in the future): computed once
    # per distinct combination, of which a tenant has a few dozen. The third item: a pupil and nothing
    # else (see ``minimal``).
    classified: dict[
        tuple[int, bool, bool, bool], tuple[str | None, tuple[tuple[str | None, ...], ...], bool]
    ] = {}
    guests: dict[str | None, bool] = {}  # userType → is a guest (a handful of distinct values)
    async for page in pages:
        out: list[tuple[Any, ...]] = []
        member_rows = rows.memberships
        for u in page:
            uid = u.id
            mask = masks.get(uid, 0)
            enabled = u.account_enabled is True
            user_type = u.user_type
            guest = guests.get(user_type)
            if guest is None:
                guest = guests[user_type] = user_type is not None and user_type.lower() == "guest"
            hire_raw = u.employee_hire_date
            hire = parse_datetime(hire_raw) if hire_raw else None
            key = (mask, enabled, guest, hire is not None and hire > now)
            c = classified.get(key)
            if c is None:
                cl = classify(_Facts(enabled, user_type, hire), mask, index, now)
                c = classified[key] = (
                    cl.user_reason,
                    tuple((p.municipality, p.school, p.role, p.excluded_reason, run) for p in cl.placements),
                    bool(cl.placements) and all(p.role == "pupil" for p in cl.placements),
                )
            if c[2]:
                out.append(minimal(tenant_id, uid, enabled, user_type, c[0], synced_at, run))
            else:
                out.append(
                    (
                        tenant_id,
                        uid,
                        u.user_principal_name or "",
                        u.display_name or "",
                        u.employee_id,
                        u.mail,
                        enabled,
                        user_type,
                        u.employee_type,
                        graph_time(hire_raw),
                        c[0],
                        synced_at,
                        run,
                    )
                )
            if c[1]:
                for p in c[1]:
                    member_rows.append((tenant_id, uid, *p))
                counts[1] += len(c[1])
        counts[0] += len(page)
        rows.add_users(out)
        await rows.flush()


def minimal(
    tenant_id: str, uid: str, enabled: bool, user_type: str | None, reason: str | None, synced_at: Any, run: str
) -> tuple[Any, ...]:
    """The row of a pupil (a user whose every placement is ``pupil``): only what the counts need —
    the object id (the key of memberships and sign-in counts), enabled, guest and the exclusion.
    No UPN, name, e-mail, employee id, type or hire date: pupils are children, they are counted and
    never listed (docs/data-protection.md), so idops does not keep who they are."""
    return (tenant_id, uid, "", "", None, None, enabled, user_type, None, None, reason, synced_at, run)


async def _sync_report(
    rows: _Rows, enc: Encoder, directory: Directory, tenant_id: str, run: str
) -> tuple[int, Any, Any, str]:
    """Stream the registration report into ``rows``; returns (rows, oldest, newest
    ``lastUpdatedDateTime`` as encoded by ``enc``, ``TenantSyncResult.report_status``)."""
    n = 0
    oldest: Any = None
    newest: Any = None
    try:
        first = True
        # Pages are prefetched while rows are written: under the reports budget pages come slowly,
        # and the next page's request must never wait behind a write (that would waste budget windows).
        pages = Prefetch(aiter(directory.list_registration_details_bulk()), depth=4)
        methods, graph_time = enc.methods, enc.graph_time
        async for page in pages:
            first = False
            out = [
                (
                    d.id,
                    d.user_principal_name or "",
                    d.user_display_name or "",
                    (
                        d.is_mfa_registered is True,
                        d.is_mfa_capable is True,
                        d.is_passwordless_capable is True,
                        methods(d.methods_registered),
                        graph_time(d.last_updated_date_time),
                        run,
                        "report",
                        d.is_admin is True,
                    ),
                )
                for d in page
            ]
            times = [r[3][4] for r in out if r[3][4] is not None]
            if times:
                lo, hi = min(times), max(times)
                oldest = lo if oldest is None or lo < oldest else oldest
                newest = hi if newest is None or hi > newest else newest
            n += len(out)
            rows.add_reports(tenant_id, out)
            await rows.wait_for_users()
            await rows.flush()
    except (GraphPremiumRequired, GraphForbidden) as exc:
        if not first:
            raise
        # No report for this tenant: without Entra ID P1/P2 it does not exist; without AuditLog.Read.All
        # idops may not read it. Its users' registration is unknown (never "not registered"): kept as a
        # per-user method scan left it, reported as unavailable with this reason (docs/definitions.md).
        reason = "premium_required" if isinstance(exc, GraphPremiumRequired) else "permission_missing"
        log.warning("mfa_report_unavailable", tenant=tenant_id, reason=reason)
        rows.end_report()
        return 0, None, None, reason
    rows.end_report()
    return n, oldest, newest, "available"


async def checkpoint(uow: DirectoryUnitOfWork) -> None:
    """Copy the WAL that the syncs' commits left into the database file (SQLite; elsewhere a no-op).

    A sync's own commits do not checkpoint (``_Writer``); call this once after ``sync_tenants``.
    It runs in its own connection, beside other readers and writers (a ``PASSIVE`` checkpoint), so
    the job overlaps it with the snapshot's aggregation. Without it the next commit of any other
    connection does it."""
    if uow.is_sqlite:
        async with uow:
            await uow.directory.checkpoint()
            await uow.commit()


async def sync_tenants(
    uow: DirectoryUnitOfWork,
    directories: Any,
    config: Config,
    tenant_ids: Sequence[str],
    now: datetime,
    *,
    write_lock: asyncio.Lock | None = None,
) -> dict[str, TenantSyncResult | BaseException]:
    """Sync ``tenant_ids`` in parallel; one tenant's failure is returned, never raised.

    ``write_lock``: serialises the writes (SQLite) — pass one shared by every sync of the process
    (job units of several tenants run side by side); by default one for these tenants."""
    lock = write_lock or asyncio.Lock()
    results = await asyncio.gather(
        *(sync_tenant(uow.sibling(), directories.for_tenant(t), config, t, now, write_lock=lock) for t in tenant_ids),
        return_exceptions=True,
    )
    out: dict[str, TenantSyncResult | BaseException] = {}
    for t, r in zip(tenant_ids, results, strict=True):
        if isinstance(r, BaseException) and not isinstance(r, Exception):
            raise r  # cancellation and interpreter exits are not per-tenant failures
        out[t] = r
    await refresh_statistics(uow, out)
    return out


async def refresh_statistics(uow: DirectoryUnitOfWork, results: Mapping[str, TenantSyncResult | BaseException]) -> bool:
    """ANALYZE the mirror (PostgreSQL) when its statistics no longer describe a tenant just synced.

    The snapshot's joins are planned from them. Right after a tenant's first sync (or a much larger one)
    they still describe the tables without it — another tenant's users only — and the planner expects 1
    row where there are 20 000: nested loops, 40 s and 83 s for the two aggregations of a 20 000-user
    tenant (measured; quadratic in its size) instead of 40 ms. Autovacuum's ANALYZE comes later, on its
    own schedule. One EXPLAIN per synced tenant tells (under a millisecond); ANALYZE, a sample of each
    table, only when an estimate is below a tenth of the users (PostgreSQL skips it with a warning where
    idops's role does not own the tables; autovacuum then remains). Returns whether it ran."""
    if uow.is_sqlite:
        return False
    synced = {t: r.users for t, r in results.items() if isinstance(r, TenantSyncResult) and r.users}
    if not synced:
        return False
    async with uow:
        stale = [t for t, users in synced.items() if await uow.directory.planned_users(t) * 10 < users]
        if stale:
            await uow.directory.analyze()
            await uow.commit()
    if stale:
        log.info("directory_statistics_refreshed", tenants=len(stale))
    return bool(stale)


async def prune_stale(uow: DirectoryUnitOfWork, now: datetime, keep: timedelta) -> int:
    """The mirror's retention: delete users (and their memberships) that no complete sync has seen for
    ``keep`` — a tenant whose sync keeps failing, or that was taken out of the configuration. Users who
    leave a tenant are removed by the next complete sync already (``finish_run``). Returns the number
    of users removed."""
    async with uow:
        removed = await uow.directory.forget_stale(now - keep)
        await uow.commit()
    if removed:
        log.info("directory_stale_rows_removed", users=removed)
    return removed
