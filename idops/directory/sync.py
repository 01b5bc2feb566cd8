"""Streaming sync of one tenant's directory into the mirror tables.

Per tenant, concurrently:

1. the registration report (``userRegistrationDetails``) streams page by page into
   ``directory_users``' registration columns — it is the slow stream (5 requests / 10 s, paced
   by the adapter's pacer), so it starts first and runs while everything else happens;
2. the transitive members of every configured staff / pupil / substitute / exclusion group are
   read into one bit mask per user (``GroupIndex``; a few MB for 100 000 users);
3. then ``/users`` streams page by page: each page is classified and upserted with its
   memberships while the next page is already being fetched.

Only one page of each stream is in memory at a time. Each chunk is written in its own short
transaction (this module is a unit-of-work boundary, like a job): a paced sync lasts minutes and
must not hold SQLite's single write lock across network waits. On SQLite the chunk writes of all
tenants are serialised through one lock; PostgreSQL writes them in parallel. Readers may see a
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
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import structlog
from sqlalchemy import text

from idops.config import Config
from idops.directory import repository as repo
from idops.directory.classify import GroupIndex
from idops.graph.errors import GraphPremiumRequired
from idops.graph.port import Directory, DirectoryUser, RegistrationDetail
from idops.kit.db import Database

log = structlog.get_logger("idops.directory")
T = TypeVar("T")

#: Rows buffered per write transaction: fewer, larger transactions write each B-tree page fewer
#: times (random GUID keys touch most pages of a chunk); memory stays bounded whatever the tenant size.
WRITE_BATCH = 10_000

#: The user attributes the mirror and classification need (``$select``).
USER_FIELDS = (
    "id",
    "userPrincipalName",
    "displayName",
    "accountEnabled",
    "userType",
    "employeeId",
    "employeeType",
    "employeeHireDate",
    "mail",
)


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
    report_available: bool = True  # False: no P1/P2 licence, the report answered 403


async def prefetch(source: AsyncIterator[T], depth: int = 2) -> AsyncIterator[T]:
    """Iterate ``source`` while fetching up to ``depth`` items ahead in a background task.

    Errors of ``source`` surface at the point they occurred; leaving early cancels the fetcher.
    """
    queue: asyncio.Queue[tuple[bool, Any]] = asyncio.Queue(maxsize=depth)

    async def pump() -> None:
        try:
            async for item in source:
                await queue.put((True, item))
            await queue.put((False, None))
        except Exception as exc:  # handed to the consumer, who re-raises it
            await queue.put((False, exc))

    task = asyncio.create_task(pump())
    try:
        while True:
            more, item = await queue.get()
            if not more:
                if isinstance(item, Exception):
                    raise item
                return
            yield item
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


class _Writer:
    """Short write transactions, serialised on SQLite (one writer at a time)."""

    def __init__(self, db: Database, lock: asyncio.Lock | None) -> None:
        self.db = db
        self.lock = lock if db.is_sqlite else None

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[Any]:
        guard = self.lock if self.lock is not None else contextlib.nullcontext()
        async with guard, self.db.session() as s:
            if self.lock is not None:
                # 32 MB page cache on this connection (SQLite default: 2 MB): the bulk upserts touch tens of MB.
                await s.execute(text("PRAGMA cache_size = -32768"))
            yield s


def _user_row(tenant_id: str, u: DirectoryUser, reason: str | None, now: datetime, run: str) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "user_id": u.id,
        "upn": u.user_principal_name,
        "display_name": u.display_name,
        "employee_id": u.employee_id,
        "mail": u.mail,
        "account_enabled": u.account_enabled,
        "user_type": u.user_type,
        "employee_type": u.employee_type,
        "employee_hire_date": u.employee_hire_date,
        "excluded_reason": reason,
        "synced_at": now,
        "sync_run": run,
        # placeholders for a first insert; an update leaves the report's columns alone
        "is_mfa_registered": False,
        "is_mfa_capable": False,
        "is_passwordless_capable": False,
        "methods_registered": [],
        "report_updated_at": None,
        "report_run": None,
    }


def _report_row(tenant_id: str, r: RegistrationDetail, run: str) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "user_id": r.id,
        "upn": r.user_principal_name,
        "display_name": r.user_display_name,
        "account_enabled": False,
        "is_mfa_registered": r.is_mfa_registered,
        "is_mfa_capable": r.is_mfa_capable,
        "is_passwordless_capable": r.is_passwordless_capable,
        "methods_registered": list(r.methods_registered),
        "report_updated_at": r.last_updated_date_time,
        "report_run": run,
        "sync_run": None,
    }


async def sync_tenant(
    db: Database,
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
    writer = _Writer(db, write_lock)
    index = GroupIndex.for_tenant(config.region, tenant_id, config.settings.mfa.exclusion_group_ids)
    bound = log.bind(tenant=tenant_id, run=run)

    report_task = asyncio.create_task(_sync_report(writer, directory, tenant_id, run))
    try:
        await asyncio.gather(*(_read_group(directory, index, gid) for gid in index.group_ids))
        users, memberships = await _sync_users(writer, directory, tenant_id, index, now, run)
        report_rows, oldest, newest, report_available = await report_task
    except BaseException:
        report_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await report_task
        raise
    async with writer.session() as s:
        removed = await repo.finish_run(s, tenant_id, run, report_complete=True)
    result = TenantSyncResult(
        tenant_id=tenant_id,
        run=run,
        synced_at=now,
        users=users,
        memberships=memberships,
        removed=removed,
        report_rows=report_rows,
        report_oldest=oldest,
        report_newest=newest,
        groups=len(index.group_ids),
        seconds=time.perf_counter() - started,
        report_available=report_available,
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
    async for page in directory.list_group_members(group_id, transitive=True):
        index.mark(group_id, (ref.id for ref in page if not ref.odata_type.endswith(".group")))


async def _sync_users(
    writer: _Writer, directory: Directory, tenant_id: str, index: GroupIndex, now: datetime, run: str
) -> tuple[int, int]:
    users = memberships = 0
    user_rows: list[dict[str, Any]] = []
    member_rows: list[dict[str, Any]] = []

    async def flush() -> None:
        # key order: each B-tree page is visited once per batch instead of at random
        user_rows.sort(key=_user_key)
        member_rows.sort(key=_user_key)
        async with writer.session() as s:
            await repo.upsert_users(s, user_rows)
            await repo.upsert_memberships(s, member_rows)
        user_rows.clear()
        member_rows.clear()

    pages = directory.list_users(select=USER_FIELDS)
    async for page in prefetch(aiter(pages)):
        for u in page:
            c = index.classify(u.id, u, now)
            user_rows.append(_user_row(tenant_id, u, c.user_reason, now, run))
            for p in c.placements:
                member_rows.append(
                    {
                        "tenant_id": tenant_id,
                        "user_id": u.id,
                        "municipality": p.municipality,
                        "school": p.school,
                        "role": p.role,
                        "excluded_reason": p.excluded_reason,
                        "sync_run": run,
                    }
                )
        users += len(page)
        if len(user_rows) >= WRITE_BATCH:
            memberships += len(member_rows)
            await flush()
    memberships += len(member_rows)
    await flush()
    return users, memberships


async def _sync_report(
    writer: _Writer, directory: Directory, tenant_id: str, run: str
) -> tuple[int, datetime | None, datetime | None, bool]:
    """Stream the registration report; returns (rows, oldest, newest lastUpdatedDateTime, available)."""
    rows = 0
    pending: list[dict[str, Any]] = []
    oldest: datetime | None = None
    newest: datetime | None = None
    try:
        first = True
        async for page in prefetch(aiter(directory.list_registration_details()), depth=4):
            first = False
            # Written page by page: under the reports budget pages come slowly, and the next page's
            # request must never wait behind a large write (that would waste budget windows).
            pending.extend(_report_row(tenant_id, r, run) for r in page)
            rows += await _write_report_rows(writer, pending)
            for r in page:
                t = r.last_updated_date_time
                if t is not None:
                    oldest = t if oldest is None or t < oldest else oldest
                    newest = t if newest is None or t > newest else newest
    except GraphPremiumRequired:
        if not first:
            raise
        # No Entra ID P1/P2: the report does not exist for this tenant. Per docs/definitions.md a
        # user without a report row counts as not registered; say so in the log, do not fail.
        log.warning("mfa_report_unavailable", tenant=tenant_id, reason="premium_required")
        return 0, None, None, False
    rows += await _write_report_rows(writer, pending)
    return rows, oldest, newest, True


def _user_key(row: dict[str, Any]) -> str:
    return str(row["user_id"])


async def _write_report_rows(writer: _Writer, pending: list[dict[str, Any]]) -> int:
    pending.sort(key=_user_key)
    async with writer.session() as s:
        await repo.upsert_registrations(s, pending)
    n = len(pending)
    pending.clear()
    return n


async def sync_tenants(
    db: Database,
    directories: Any,
    config: Config,
    tenant_ids: Sequence[str],
    now: datetime,
) -> dict[str, TenantSyncResult | BaseException]:
    """Sync ``tenant_ids`` in parallel; one tenant's failure is returned, never raised."""
    lock = asyncio.Lock()
    results = await asyncio.gather(
        *(sync_tenant(db, directories.for_tenant(t), config, t, now, write_lock=lock) for t in tenant_ids),
        return_exceptions=True,
    )
    out: dict[str, TenantSyncResult | BaseException] = {}
    for t, r in zip(tenant_ids, results, strict=True):
        if isinstance(r, BaseException) and not isinstance(r, Exception):
            raise r  # cancellation and interpreter exits are not per-tenant failures
        out[t] = r
    return out
