"""``apply_account_changes`` for the adapter: account changes as ``$batch`` items, and their answers judged.

Each ``AccountChange`` becomes a few items (a PATCH of ``accountEnabled``/``employeeLeaveDateTime``,
``revokeSignInSessions``, ``members/$ref`` adds and removes, ``assignLicense`` — one call when it
adds, one per licence when it only removes), sent in two phases: every PATCH first, then the rest —
never for an account whose disable failed.

Judging an item (the only place that reads Graph's answers to these writes):
- idempotent repeats are done: "already a member" (400), "not a member" (404 on the ``$ref``
  DELETE), "licence not assigned" (400 on a one-licence removal);
- a 404 on the PATCH or the revoke means the account is gone — unless it may be brand new (the
  caller's ``replication_wait`` > 0, or this directory created it moments ago): replication lag
  (404, or the "source resource object … don't exist" 400) is then retried for up to that long and,
  if it lasts longer, is a transient ``not_found``;
- everything else becomes a ``ChangeFailure`` code (see ``failure_for``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import structlog

from idops.graph import odata
from idops.graph.batch import BatchRequest, BatchResponse, send_batch
from idops.graph.errormap import ErrorInfo, error_class, error_info
from idops.graph.errors import (
    AccessPassPolicyDisabled,
    GraphAuthError,
    GraphError,
    GraphForbidden,
    GraphLicenceError,
    GraphNoSeats,
    GraphNotFound,
    GraphThrottled,
    GraphUnavailable,
)
from idops.graph.pacer import Sleep
from idops.graph.permissions import OPERATIONS
from idops.graph.port import AccountChange, ChangeFailure, ChangeResult
from idops.graph.transport import Transport

log = structlog.get_logger("idops.graph")

DIRECTORY_OBJECT = "https://graph.microsoft.com/v1.0/directoryObjects/"

Step = Literal["patch", "revoke", "add_group", "remove_group", "assign_licence", "remove_licence"]


def failure_for(error: type[GraphError]) -> ChangeFailure:
    """The domain's code for a typed Graph error (shared with the fake, so both speak alike)."""
    for cls, code in (
        (GraphNoSeats, ChangeFailure.NO_LICENCES_AVAILABLE),
        (GraphLicenceError, ChangeFailure.LICENCE_INVALID),
        (GraphForbidden, ChangeFailure.FORBIDDEN),
        (GraphAuthError, ChangeFailure.FORBIDDEN),
        (AccessPassPolicyDisabled, ChangeFailure.FORBIDDEN),
        (GraphNotFound, ChangeFailure.NOT_FOUND),
        (GraphThrottled, ChangeFailure.THROTTLED),
        (GraphUnavailable, ChangeFailure.UNAVAILABLE),
    ):
        if issubclass(error, cls):
            return code
    return ChangeFailure.REJECTED


def _failure(info: ErrorInfo) -> ChangeFailure:
    if info.status >= 500 or info.status == 424:  # 500/502 are not retried by the transport but are transient
        return ChangeFailure.UNAVAILABLE
    return failure_for(error_class(info))


@dataclass(frozen=True, slots=True)
class _Item:
    user_id: str
    step: Step
    request: BatchRequest


def _user_path(uid: str) -> str:
    return f"/users/{uid}"


def _items(n: int, ch: AccountChange, phase: int, leave_date_allowed: bool) -> list[_Item]:
    """Batch items for one account and phase (1 = enable/disable + leave date, 2 = everything else)."""
    uid = odata.path_id(ch.user_id)

    def item(step: Step, suffix: str, method: Literal["POST", "PATCH", "DELETE"], url: str,
             body: dict[str, Any] | None = None) -> _Item:
        return _Item(ch.user_id, step, BatchRequest(f"{n}-{suffix}", method, url, body))

    out: list[_Item] = []
    if phase == 1:
        body: dict[str, Any] = {}
        if ch.enabled is not None:
            body["accountEnabled"] = ch.enabled
        if leave_date_allowed and ch.leave_date is not None:
            body["employeeLeaveDateTime"] = odata.format_datetime(ch.leave_date)
        elif leave_date_allowed and ch.clear_leave_date:
            body["employeeLeaveDateTime"] = None
        if body:
            out.append(item("patch", "patch", "PATCH", _user_path(uid), body))
        return out
    if ch.revoke_sessions:
        out.append(item("revoke", "revoke", "POST", f"{_user_path(uid)}/revokeSignInSessions"))
    for i, gid in enumerate(ch.add_groups):
        ref = {"@odata.id": DIRECTORY_OBJECT + uid}
        out.append(item("add_group", f"add{i}", "POST", f"/groups/{odata.path_id(gid)}/members/$ref", ref))
    for i, gid in enumerate(ch.remove_groups):
        out.append(item("remove_group", f"rm{i}", "DELETE", f"/groups/{odata.path_id(gid)}/members/{uid}/$ref"))
    if ch.add_skus:
        lic = {
            "addLicenses": [{"skuId": s, "disabledPlans": []} for s in ch.add_skus],
            "removeLicenses": list(ch.remove_skus),
        }
        out.append(item("assign_licence", "lic", "POST", f"{_user_path(uid)}/assignLicense", lic))
    else:  # assignLicense is all or nothing: one call per removal, so each "not assigned" is done alone
        for i, sku in enumerate(ch.remove_skus):
            lic = {"addLicenses": [], "removeLicenses": [sku]}
            out.append(item("remove_licence", f"lic{i}", "POST", f"{_user_path(uid)}/assignLicense", lic))
    return out


#: The row of ``idops.graph.permissions.OPERATIONS`` each step is (a PATCH by what it writes).
STEP_OPERATIONS: dict[Step, str] = {
    "patch": "apply_account_changes.enable",
    "revoke": "apply_account_changes.revoke",
    "add_group": "apply_account_changes.groups",
    "remove_group": "apply_account_changes.groups",
    "assign_licence": "apply_account_changes.licences",
    "remove_licence": "apply_account_changes.licences",
}


def permissions_of(item: _Item) -> tuple[str, ...]:
    """The application permissions one batch item needs: a PATCH needs those of what it writes
    (enabling or disabling, the leave date, or both)."""
    body = item.request.body or {}
    ops = [STEP_OPERATIONS[item.step]] if item.step != "patch" or "accountEnabled" in body else []
    if "employeeLeaveDateTime" in body:
        ops.append("apply_account_changes.leave_date")
    return tuple(dict.fromkeys(name for op in ops for name in OPERATIONS[op].names))


def _done(step: Step, resp: BatchResponse, info: ErrorInfo) -> bool:
    """Success, or an idempotent repeat of something already done."""
    if resp.ok:
        return True
    if step == "add_group":
        return info.is_already_member()
    if step == "remove_group":
        return resp.status == 404  # not a member (or the group lost it already)
    return step == "remove_licence" and info.is_licence_not_assigned()


async def apply_account_changes(
    transport: Transport,
    changes: Sequence[AccountChange],
    *,
    leave_date_allowed: bool,
    replication_wait: float,
    recent: Callable[[str], bool],
    recent_horizon: float,
    sleep: Sleep,
) -> dict[str, ChangeResult]:
    """The adapter's ``Directory.apply_account_changes`` (contract in ``port.Directory``).

    ``recent(user_id)`` says whether this directory created the account within ``recent_horizon``
    seconds: such an account may still be replicating even when the caller passed no wait.
    """
    results = {ch.user_id: ChangeResult(ch.user_id) for ch in changes}
    for phase in (1, 2):
        items: list[_Item] = []
        for n, ch in enumerate(changes):
            res = results[ch.user_id]
            if res.gone or (phase == 2 and ch.takes_access_away and not res.ok):
                continue
            items.extend(_items(n, ch, phase, leave_date_allowed))
        await _run(transport, items, results, replication_wait, recent, recent_horizon, sleep)
    return results


async def _run(
    transport: Transport,
    items: list[_Item],
    results: dict[str, ChangeResult],
    replication_wait: float,
    recent: Callable[[str], bool],
    recent_horizon: float,
    sleep: Sleep,
) -> None:
    """Send ``items``; re-send those answered with replication lag while their wait lasts."""
    waits = {it.user_id: max(replication_wait, recent_horizon if recent(it.user_id) else 0.0) for it in items}
    waited = 0.0
    delay = 0.5
    pending = items
    while pending:
        responses = await send_batch(transport, [it.request for it in pending])
        lagging: list[_Item] = []
        for it in pending:
            resp = responses.get(it.request.id) or BatchResponse(it.request.id, 503, {}, None)
            info = error_info(resp.status, resp.headers, resp.body)
            if _done(it.step, resp, info):
                continue
            may_be_new = waits[it.user_id] > 0
            if may_be_new and info.is_replication_lag() and waited < waits[it.user_id]:
                lagging.append(it)
                continue
            res = results[it.user_id]
            if it.step in ("patch", "revoke") and resp.status == 404 and not may_be_new:
                res.vanish(it.step)
                continue
            code = _failure(info)
            res.fail(it.step, code, status=resp.status)
            needs = permissions_of(it) if code is ChangeFailure.FORBIDDEN else ()
            log.warning("account_change_failed", step=it.step, status=resp.status, code=info.code,
                        failure=code.value, graph_request_id=info.request_id, permissions=needs)
        if not lagging:
            return
        await sleep(delay)
        waited += delay
        delay = min(delay * 2, 5.0)
        pending = lagging
