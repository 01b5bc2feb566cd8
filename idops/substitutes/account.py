"""Changing substitute accounts in Entra, many at once, through ``$batch``.

Every change is expressed as the *difference* to apply to one account, so a change that was
already (partly) applied — after a crash or a retry — applies again harmlessly:
"already a member", "not a member" and "licence not assigned" count as done.

Taking access away is ordered for safety: all disables go first (their own batches), and only
then session revocation and the removal of groups and licences.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog

from idops.graph import odata
from idops.graph.errormap import error_info
from idops.graph.port import BatchRequest, BatchResponse, Directory

log = structlog.get_logger("idops.substitutes")

DIRECTORY_OBJECT = "https://graph.microsoft.com/v1.0/directoryObjects/"
NO_LICENCE = "does not have a corresponding license"
TRANSIENT = {429, 500, 502, 503, 504}


@dataclass
class AccountChange:
    """What to do to one account. Empty tuples and ``None`` mean "leave alone"."""

    user_id: str
    enabled: bool | None = None
    revoke_sessions: bool = False
    add_groups: tuple[str, ...] = ()
    remove_groups: tuple[str, ...] = ()
    add_skus: tuple[str, ...] = ()
    remove_skus: tuple[str, ...] = ()
    leave_date: datetime | None = None
    clear_leave_date: bool = False

    @property
    def takes_access_away(self) -> bool:
        return self.enabled is False


@dataclass
class ChangeResult:
    user_id: str
    ok: bool = True
    gone: bool = False  # the account no longer exists in Entra
    transient: bool = False  # worth retrying later
    errors: list[str] = field(default_factory=list)

    def fail(self, what: str, status: int, transient: bool) -> None:
        self.ok = False
        self.transient = self.transient or transient
        self.errors.append(f"{what}: HTTP {status}")


def _user_path(user_id: str) -> str:
    return f"/users/{odata.path_id(user_id)}"


def _requests(n: int, ch: AccountChange, phase: int, leave_date_allowed: bool) -> list[tuple[BatchRequest, str]]:
    """Batch items for one account and phase (1 = disable/enable + leave date, 2 = everything else)."""
    uid = odata.path_id(ch.user_id)
    out: list[tuple[BatchRequest, str]] = []
    if phase == 1:
        body: dict[str, Any] = {}
        if ch.enabled is not None:
            body["accountEnabled"] = ch.enabled
        if leave_date_allowed and ch.leave_date is not None:
            body["employeeLeaveDateTime"] = odata.format_datetime(ch.leave_date)
        elif leave_date_allowed and ch.clear_leave_date:
            body["employeeLeaveDateTime"] = None
        if body:
            out.append((BatchRequest(f"{n}-patch", "PATCH", _user_path(uid), body,
                                     {"Content-Type": "application/json"}), "patch"))
        return out
    if ch.revoke_sessions:
        out.append((BatchRequest(f"{n}-revoke", "POST", f"{_user_path(uid)}/revokeSignInSessions"), "revoke"))
    for i, gid in enumerate(ch.add_groups):
        ref = {"@odata.id": DIRECTORY_OBJECT + uid}
        out.append((BatchRequest(f"{n}-add{i}", "POST", f"/groups/{odata.path_id(gid)}/members/$ref", ref,
                                 {"Content-Type": "application/json"}), "add_group"))
    for i, gid in enumerate(ch.remove_groups):
        out.append((BatchRequest(f"{n}-rm{i}", "DELETE", f"/groups/{odata.path_id(gid)}/members/{uid}/$ref"),
                    "remove_group"))
    if ch.add_skus or ch.remove_skus:
        lic = {
            "addLicenses": [{"skuId": s, "disabledPlans": []} for s in ch.add_skus],
            "removeLicenses": list(ch.remove_skus),
        }
        kind = "remove_licence" if not ch.add_skus else "assign_licence"
        out.append((BatchRequest(f"{n}-lic", "POST", f"{_user_path(uid)}/assignLicense", lic,
                                 {"Content-Type": "application/json"}), kind))
    return out


def _judge(kind: str, resp: BatchResponse) -> tuple[bool, bool, bool]:
    """(done, gone, transient) for one item; idempotent repeats count as done."""
    if resp.ok:
        return True, False, False
    info = error_info(resp.status, resp.headers, resp.body)
    if kind == "add_group" and info.is_already_member():
        return True, False, False
    if kind == "remove_group" and resp.status == 404:
        return True, False, False  # not a member (or the group lost it already)
    if kind == "remove_licence" and resp.status == 400 and NO_LICENCE in info.lowered:
        return True, False, False
    if kind in ("patch", "revoke") and resp.status == 404 and not info.is_replication_lag():
        return False, True, False
    if info.is_replication_lag():
        return False, False, True
    return False, False, resp.status in TRANSIENT or resp.status == 424


async def apply(
    directory: Directory,
    changes: Sequence[AccountChange],
    *,
    leave_date_allowed: bool = True,
    replication_wait: float = 0.0,
) -> dict[str, ChangeResult]:
    """Apply ``changes``; returns a result per user id. Never raises for per-item failures.

    Phase 1 (enable/disable, leave date) completes for everyone before phase 2 starts, so no
    group or licence is touched on an account that could not be disabled first.
    ``replication_wait`` > 0 retries items that failed because the account is brand new.
    """
    results = {ch.user_id: ChangeResult(ch.user_id) for ch in changes}
    for phase in (1, 2):
        items: dict[str, tuple[str, str]] = {}
        requests: list[BatchRequest] = []
        for n, ch in enumerate(changes):
            res = results[ch.user_id]
            if res.gone or (phase == 2 and ch.takes_access_away and not res.ok):
                continue
            for req, kind in _requests(n, ch, phase, leave_date_allowed):
                items[req.id] = (ch.user_id, kind)
                requests.append(req)
        await _run(directory, requests, items, results, replication_wait)
    return results


async def _run(
    directory: Directory,
    requests: list[BatchRequest],
    items: dict[str, tuple[str, str]],
    results: dict[str, ChangeResult],
    replication_wait: float,
) -> None:
    waited = 0.0
    delay = 0.5
    pending = requests
    while pending:
        responses = await _batch_parallel(directory, pending)
        lagging: list[BatchRequest] = []
        for req in pending:
            user_id, kind = items[req.id]
            resp = responses.get(req.id) or BatchResponse(req.id, 503, {}, None)
            done, gone, transient = _judge(kind, resp)
            if done:
                continue
            info = error_info(resp.status, resp.headers, resp.body)
            if info.is_replication_lag() and waited < replication_wait:
                lagging.append(req)
                continue
            res = results[user_id]
            if gone:
                res.gone, res.ok = True, False
                res.errors.append(f"{kind}: account not found")
            else:
                res.fail(kind, resp.status, transient)
                log.warning("account_change_failed", kind=kind, status=resp.status, code=info.code,
                            graph_request_id=info.request_id)
        if not lagging:
            return
        await asyncio.sleep(delay)
        waited += delay
        delay = min(delay * 2, 5.0)
        pending = lagging


async def _batch_parallel(directory: Directory, requests: list[BatchRequest]) -> dict[str, BatchResponse]:
    """Send ≤ 20-item batches concurrently (the adapter bounds requests in flight per tenant)."""
    if not requests:
        return {}
    chunks = [requests[i : i + 20] for i in range(0, len(requests), 20)]
    out: dict[str, BatchResponse] = {}
    for part in await asyncio.gather(*(directory.batch(chunk) for chunk in chunks)):
        out.update(part)
    return out


async def purge_deleted(directory: Directory, user_id: str) -> bool:
    """Delete a soft-deleted user for good (404: already gone). False when Graph refused."""
    purge = BatchRequest("purge", "DELETE", f"/directory/deletedItems/{odata.path_id(user_id)}")
    purged = (await directory.batch([purge]))["purge"]
    return purged.ok or purged.status == 404
