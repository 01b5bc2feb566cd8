"""MFA registration from each user's authentication methods, for tenants without the registration report.

Without Entra ID P1/P2 ``userRegistrationDetails`` answers 403, and many small municipalities have no P1
for every user. Then idops reads ``GET /users/{id}/authentication/methods`` user by user
(``Directory.list_authentication_methods``) and derives registered / capable / passwordless from the
method kinds (``registration_of``; the mapping is in docs/definitions.md). The numbers carry their
source (``registration_source = "per_user_scan"``) and age (``report_updated_at`` = when read).

Budget. The listing is under the identity & access reports limit, **5 requests / 10 s per app per
tenant** (graph-facts §6, §10). ``$batch`` does not help: "20 items count as 20 requests" (graph-facts
§8, Microsoft's JSON batching doc), so a batch would only spend the budget at once and come back as
per-item 429s. The scan therefore sends plain requests, ``concurrency`` at a time, and the adapter's
pacer (the ``reports`` class) spaces them at the budget — a tenant of 2 000 staff takes ~4 000 s (see
``benchmarks/mfa_method_scan.py``). Microsoft advises against iterating a population this way when
the report exists; idops does it only where the report does not.

Order and rotation. One run reads at most ``max_requests`` users (``[mfa] scan_max_seconds`` × the
budget). Users *due* — never read, read from another source (an old report), or read more than
``refresh`` ago — come first, staff before substitutes before pupils before users counted at no
school; then the rest, oldest reading first. So staff are measured first, pupils as the budget allows,
and every counted user is read again at least every ``refresh`` if the budget covers
``users ÷ (refresh × runs per day)`` a run; ``ScanResult.overdue`` says how many due users one run
could not reach (the job reports it).

Graph is awaited only outside transactions; results are written in short transactions as they come.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from idops.directory.repository import DirectoryUnitOfWork
from idops.graph.errors import GraphError, GraphForbidden, GraphNotFound
from idops.graph.port import Directory

log = structlog.get_logger("idops.directory")

#: Method kinds that are a second factor (registered ⇒ MFA registered). Graph's v1.0 kinds plus newer ones
#: seen in tenants (``hardwareOath``, ``platformCredential``, ``x509Certificate``); unknown kinds are ignored.
STRONG_KINDS = frozenset({
    "microsoftAuthenticator", "phone", "softwareOath", "hardwareOath", "fido2", "windowsHelloForBusiness",
    "platformCredential", "x509Certificate",
})
#: Kinds that sign in without a password. (Authenticator's passwordless phone sign-in is not visible
#: in the listing: such users count as registered and capable, not passwordless.)
PASSWORDLESS_KINDS = frozenset({"fido2", "windowsHelloForBusiness", "platformCredential"})
#: Method kinds in the registration report's words (``methodsRegistered``), so pages and CSV read alike.
REPORT_NAMES = {
    "microsoftAuthenticator": "microsoftAuthenticatorPush",
    "phone": "mobilePhone",
    "softwareOath": "softwareOneTimePasscode",
    "hardwareOath": "hardwareOneTimePasscode",
    "fido2": "fido2",
    "windowsHelloForBusiness": "windowsHelloForBusiness",
    "platformCredential": "macOsSecureEnclaveKey",
    "x509Certificate": "certificateBasedAuthentication",
    "email": "email",
}
#: Consecutive failed reads (Graph down, throttled past the retries) after which a scan gives up.
MAX_CONSECUTIVE_FAILURES = 10


@dataclass(frozen=True, slots=True)
class Registration:
    registered: bool
    capable: bool
    passwordless: bool
    methods: list[str]


def registration_of(kinds: Iterable[str]) -> Registration:
    """registered = a strong method; capable = registered (the authentication-methods policy, which says
    whether a registered method may be used, is not read); passwordless = a FIDO2 key, Windows Hello
    or a platform credential. Passwords, e-mail and Temporary Access Passes are not MFA."""
    present = set(kinds)
    registered = bool(present & STRONG_KINDS)
    return Registration(
        registered=registered,
        capable=registered,
        passwordless=bool(present & PASSWORDLESS_KINDS),
        methods=[REPORT_NAMES[k] for k in sorted(present) if k in REPORT_NAMES],
    )


@dataclass(slots=True)
class ScanResult:
    tenant_id: str
    candidates: int = 0
    due: int = 0
    scanned: int = 0
    gone: int = 0
    failed: int = 0
    overdue: int = 0  # due users this run did not reach (the budget was too small)
    never_read: int = 0  # counted users still without any reading of their methods after this run
    # complete | budget (stopped at max_requests) | permission_missing | failed
    status: str = "complete"
    error: str | None = None


def order(
    candidates: Sequence[tuple[str, int, str | None, datetime | None]], now: datetime, refresh: timedelta
) -> tuple[list[str], int]:
    """The users to read, in order (see the module docstring), and how many of them are due."""
    cutoff = now - refresh

    def due(source: str | None, at: datetime | None) -> bool:
        return source != "per_user_scan" or at is None or at < cutoff

    keyed = sorted(
        candidates,
        key=lambda c: (not due(c[2], c[3]), c[1], c[3] or datetime.min.replace(tzinfo=now.tzinfo), c[0]),
    )
    return [c[0] for c in keyed], sum(1 for c in candidates if due(c[2], c[3]))


async def scan_tenant(
    uow: DirectoryUnitOfWork,
    directory: Directory,
    tenant_id: str,
    now: datetime,
    *,
    refresh: timedelta,
    max_requests: int,
    concurrency: int = 5,
    write_every: int = 100,
) -> ScanResult:
    """Read the authentication methods of up to ``max_requests`` of the tenant's counted users (in the
    order above) and store their registration. Never raises for Graph trouble: a 403 stops the scan
    (``permission_missing``), as do ``MAX_CONSECUTIVE_FAILURES`` failures in a row (``failed``); what
    was read until then is kept. Idempotent (a re-run reads the next due users)."""
    tenant_id = tenant_id.lower()
    result = ScanResult(tenant_id)
    async with uow:
        candidates = await uow.directory.scan_candidates(tenant_id)
    queue, result.due = order(candidates, now, refresh)
    result.candidates = len(candidates)
    if len(queue) > max_requests:
        queue, result.status = queue[:max_requests], "budget"
    result.overdue = max(0, result.due - len(queue))
    todo = iter(queue)
    done: list[tuple[str, bool, bool, bool, list[str]]] = []
    read_ids: set[str] = set()
    stop = asyncio.Event()
    consecutive = [0]

    async def worker() -> None:
        for uid in todo:
            if stop.is_set():
                return
            try:
                kinds = await directory.list_authentication_methods(uid)
            except GraphNotFound:
                result.gone += 1  # left since the directory sync: the next sync removes the row
                continue
            except GraphForbidden as exc:
                result.status, result.error = "permission_missing", f"{exc.status} {exc.code}"
                stop.set()
                return
            except GraphError as exc:
                result.failed += 1
                consecutive[0] += 1
                if consecutive[0] >= MAX_CONSECUTIVE_FAILURES:
                    result.status, result.error = "failed", f"{type(exc).__name__}: {exc}"[:300]
                    stop.set()
                    return
                continue
            consecutive[0] = 0
            reg = registration_of(kinds)
            done.append((uid, reg.registered, reg.capable, reg.passwordless, reg.methods))
            read_ids.add(uid)

    workers = [asyncio.create_task(worker()) for _ in range(max(1, concurrency))]
    try:
        pending = set(workers)
        while pending:
            _, pending = await asyncio.wait(pending, timeout=0.5)
            if len(done) >= write_every or not pending:
                batch, done[:] = list(done), []
                async with uow:
                    await uow.directory.write_method_scans(tenant_id, batch, now)
                    await uow.commit()
                result.scanned += len(batch)
    finally:
        for w in workers:
            w.cancel()
        for w in workers:
            with contextlib.suppress(asyncio.CancelledError):
                await w
    result.never_read = len({c[0] for c in candidates if c[2] != "per_user_scan"} - read_ids)
    log.info(
        "mfa_methods_scanned", tenant=tenant_id, candidates=result.candidates, due=result.due,
        scanned=result.scanned, gone=result.gone, failed=result.failed, overdue=result.overdue,
        status=result.status,
    )
    return result
