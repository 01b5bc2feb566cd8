"""Graph resource handlers: pure functions of (request, tenant state) → response.

The HTTP layer (``app.py``) does auth, faults, logging and ``$batch``; it calls ``dispatch`` for plain
requests and for every batch item alike, so both paths behave identically. Reports are in ``reports``.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from idops.emulator import odata
from idops.emulator.common import (
    Req,
    Resp,
    _advanced,
    _body,
    _count_requested,
    _filter,
    _parse_dt,
    _replicating,
    _select,
    _user,
    _valid_password,
    page_list,
)
from idops.emulator.errors import GraphHTTPError, bad_request, not_found
from idops.emulator.render import (
    GRAPH,
    USER_FILTERABLE,
    USER_PROPS,
    group_json,
    method_json,
    method_kinds,
    tap_json,
    user_getter,
    user_json,
    user_renderer,
)
from idops.emulator.reports import get_registration, list_registration, list_service_principals, list_signins
from idops.emulator.state import LEAVE_DATE_PERMISSION, Group, SentMail, Tap, Tenant, User, new_id

__all__ = ["Req", "Resp", "dispatch"]

_UPN_LOCAL = re.compile(r"^[A-Za-z0-9'.\-_!#^~]+$")
_NICK = re.compile(r"^[A-Za-z0-9'.\-_!#^~]{1,64}$")
_REF = re.compile(r"/(?:directoryObjects|users|groups)/([^/?]+)$", re.I)


# --- users -------------------------------------------------------------------------------------

_WRITABLE = {
    "accountEnabled",
    "displayName",
    "givenName",
    "surname",
    "mailNickname",
    "mail",
    "otherMails",
    "mobilePhone",
    "jobTitle",
    "employeeId",
    "employeeType",
    "employeeHireDate",
    "employeeLeaveDateTime",
    "usageLocation",
    "userType",
    "onPremisesExtensionAttributes",
    "passwordProfile",
    "passwordPolicies",
    "userPrincipalName",
    "businessPhones",
    "officeLocation",
    "preferredLanguage",
    "onPremisesImmutableId",
}


def _check_upn(t: Tenant, upn: Any, *, exclude: str | None = None) -> str:
    if not isinstance(upn, str) or upn.count("@") != 1:
        raise bad_request("Property userPrincipalName is invalid.")
    local, domain = upn.split("@")
    if not local or not _UPN_LOCAL.match(local) or local.startswith(".") or local.endswith("."):
        raise bad_request("Property userPrincipalName is invalid.")
    if domain.lower() not in t.domains:
        raise bad_request(
            "The domain portion of the userPrincipalName property is invalid. "
            "You must use one of the verified domain names in your organization."
        )
    other = t.upn_index.get(upn.lower())
    if other is not None and other != exclude:
        raise GraphHTTPError(
            400,
            "Request_BadRequest",
            "Another object with the same value for property userPrincipalName already exists.",
            details=[{"code": "ObjectConflict", "target": "userPrincipalName"}],
        )
    return upn


def _apply(u: User, body: dict[str, Any], t: Tenant, *, creating: bool) -> None:
    unknown = set(body) - _WRITABLE
    if unknown:
        raise bad_request(
            f"Property '{sorted(unknown)[0]}' does not exist as a declared property or extension property."
        )
    _require(t, *_field_permissions(body, creating=creating))
    for k, v in body.items():
        if k == "displayName":
            if not v or not isinstance(v, str) or len(v) > 256:
                raise bad_request("Invalid value specified for property 'displayName' of resource 'User'.")
            u.display_name = v
        elif k == "accountEnabled":
            if not isinstance(v, bool):
                raise bad_request("Invalid value specified for property 'accountEnabled' of resource 'User'.")
            u.account_enabled = v
        elif k == "mailNickname":
            if not isinstance(v, str) or not _NICK.match(v):
                raise bad_request("Invalid value specified for property 'mailNickname' of resource 'User'.")
            u.mail_nickname = v
        elif k == "userPrincipalName":
            new = _check_upn(t, v, exclude=u.id)
            if not creating:
                t.unindex_user(u)
                u.user_principal_name = new
                t.index_user(u)
            else:
                u.user_principal_name = new
        elif k == "usageLocation":
            if v is not None and not (isinstance(v, str) and re.fullmatch(r"[A-Z]{2}", v)):
                raise bad_request("Invalid value specified for property 'usageLocation' of resource 'User'.")
            u.usage_location = v
        elif k in ("employeeHireDate", "employeeLeaveDateTime"):
            dt = _parse_dt(v, k)
            if k == "employeeHireDate":
                u.employee_hire_date = dt
            else:
                u.employee_leave_date_time = dt
        elif k == "onPremisesExtensionAttributes":
            if not isinstance(v, dict):
                raise bad_request("Invalid value specified for property 'onPremisesExtensionAttributes'.")
            ext = dict(u.ext or {})
            for ek, ev in v.items():
                if ek == "@odata.type":
                    continue
                if not re.fullmatch(r"extensionAttribute(?:[1-9]|1[0-5])", ek):
                    raise bad_request(f"Property '{ek}' does not exist on type 'onPremisesExtensionAttributes'.")
                if ev is None:
                    ext.pop(ek, None)
                elif not isinstance(ev, str) or len(ev) > 1024:
                    raise bad_request(f"Invalid value specified for property '{ek}'.")
                else:
                    ext[ek] = ev
            u.ext = ext or None
        elif k == "passwordProfile":
            if not isinstance(v, dict) or not isinstance(v.get("password"), str):
                raise bad_request("Invalid value specified for property 'passwordProfile' of resource 'User'.")
            strong_off = "DisableStrongPassword" in (body.get("passwordPolicies") or u.password_policies or "")
            if not strong_off and not _valid_password(v["password"]):
                raise bad_request(
                    "The specified password does not comply with password complexity "
                    "requirements. Please provide a different password."
                )
            u.password_profile = {kk: vv for kk, vv in v.items() if kk != "@odata.type"}
        elif k == "otherMails":
            u.other_mails = tuple(v or ())
        elif k in (
            "givenName",
            "surname",
            "mail",
            "mobilePhone",
            "jobTitle",
            "employeeId",
            "employeeType",
            "userType",
            "passwordPolicies",
            "preferredLanguage",
        ):
            attr = {
                "givenName": "given_name",
                "preferredLanguage": "preferred_language",
                "mobilePhone": "mobile_phone",
                "jobTitle": "job_title",
                "employeeId": "employee_id",
                "employeeType": "employee_type",
                "userType": "user_type",
                "passwordPolicies": "password_policies",
            }.get(k, k)
            setattr(u, attr, v if v is not None or k != "userType" else "Member")


def create_user(req: Req) -> Resp:
    body = _body(req)
    for prop in ("accountEnabled", "displayName", "mailNickname", "userPrincipalName", "passwordProfile"):
        if body.get(prop) is None:
            raise bad_request(
                f"Invalid value specified for property '{prop}' of resource 'User'."
                if prop != "passwordProfile"
                else "Invalid value specified for property 'passwordProfile' of resource 'User'."
            )
    t = req.tenant
    _check_upn(t, body["userPrincipalName"])
    u = User(
        id=new_id(),
        user_principal_name=body["userPrincipalName"],
        display_name=body["displayName"],
        created_date_time=req.now,
    )
    _apply(u, body, t, creating=True)
    t.index_user(u)
    if req.replication_delay_s > 0:
        t.replicating[u.id] = time.monotonic() + req.replication_delay_s
    out = {"@odata.context": f"{GRAPH}/$metadata#users/$entity", **user_json(u, None)}
    return Resp(201, out, {"Location": f"{GRAPH}/directoryObjects/{u.id}/Microsoft.DirectoryServices.User"})


def get_user(req: Req, key: str) -> Resp:
    u = _user(req, key)
    sel = _select(req, USER_PROPS, "microsoft.graph.user")
    return Resp(200, {"@odata.context": f"{GRAPH}/$metadata#users/$entity", **user_json(u, sel)})


def patch_user(req: Req, key: str) -> Resp:
    u = _user(req, key)
    _apply(u, _body(req), req.tenant, creating=False)
    return Resp(204)


def delete_user(req: Req, key: str) -> Resp:
    u = _user(req, key)
    t = req.tenant
    t.unindex_user(u)
    u.deleted_date_time = req.now
    t.deleted[u.id] = u
    t.taps.pop(u.id, None)
    for sku, _ in u.licenses:
        t.sku_consumed(sku, -1)
    return Resp(204)


def list_users(req: Req) -> Resp:
    sel = _select(req, USER_PROPS, "microsoft.graph.user")
    node = _filter(req, USER_FILTERABLE, "microsoft.graph.user")
    advanced = _advanced(req)
    if node is not None and odata.needs_advanced(node) and not (advanced and _count_requested(req)):
        raise bad_request("Unsupported Query.", "Request_UnsupportedQuery")
    if "$search" in req.query and not advanced:
        raise bad_request(
            "Request with $search query parameter only works through MSGraph with a special "
            "request header: 'ConsistencyLevel: eventual'",
            "Request_UnsupportedQuery",
        )
    if "$orderby" in req.query and node is not None and not advanced:
        raise bad_request("Unsupported Query.", "Request_UnsupportedQuery")
    size = odata.parse_top(req.query.get("$top"), 100, 999)
    t = req.tenant

    def compute() -> list[User]:
        if node is None:
            users = list(t.users.values())
        elif (
            isinstance(node, odata.Cmp)
            and node.op == "eq"
            and isinstance(node.left, odata.Prop)
            and node.left.path in (("userPrincipalName",), ("id",))
            and isinstance(node.right, odata.Lit)
            and isinstance(node.right.value, str)
        ):
            found = t.resolve_user(node.right.value)
            users = [found] if found is not None and odata.evaluate(node, user_getter(found)) else []
        else:
            users = [u for u in t.users.values() if odata.evaluate(node, user_getter(u))]
        if t.replicating:
            users = [u for u in users if not _replicating(req, u.id)]
        return users

    return page_list(req, compute, user_renderer(sel), size, "users", count=advanced and _count_requested(req))


def count_users(req: Req) -> Resp:
    if not _advanced(req):
        raise bad_request("$count is not currently supported.")
    return Resp(200, str(len(req.tenant.users)), {"Content-Type": "text/plain"})


def revoke_sessions(req: Req, key: str) -> Resp:
    u = _user(req, key)
    u.sign_in_sessions_valid_from = req.now
    return Resp(200, {"@odata.context": f"{GRAPH}/$metadata#Edm.Boolean", "value": True})


def assign_license(req: Req, key: str) -> Resp:
    u = _user(req, key)
    body = _body(req)
    add, remove = body.get("addLicenses"), body.get("removeLicenses")
    if not isinstance(add, list):
        raise bad_request("Invalid value specified for property 'addLicenses' of resource 'User'.")
    if not isinstance(remove, list):
        raise bad_request("Invalid value specified for property 'removeLicenses' of resource 'User'.")
    t = req.tenant
    if add and not u.usage_location:
        raise bad_request("License assignment cannot be done for user with invalid usage location.")
    current = dict(u.licenses)
    for item in add:
        sku_id = str((item or {}).get("skuId", "")).lower()
        sku = t.skus.get(sku_id)
        if sku is None:
            raise bad_request(f"License {sku_id} does not correspond to a valid company License.")
        if sku_id not in current and sku.consumed_units >= sku.enabled_units:
            raise bad_request(f"Subscription with SKU {sku_id} does not have any available licenses.")
    for sku_id in remove:
        if str(sku_id).lower() not in current:
            raise bad_request(f"User does not have a corresponding license for {sku_id}.")
    for sku_id in remove:
        current.pop(str(sku_id).lower())
        t.sku_consumed(str(sku_id).lower(), -1)
    for item in add:
        sku_id = str(item["skuId"]).lower()
        if sku_id not in current:
            t.sku_consumed(sku_id, 1)
        current[sku_id] = tuple(item.get("disabledPlans") or ())
    u.licenses = tuple(current.items())
    return Resp(200, {"@odata.context": f"{GRAPH}/$metadata#users/$entity", **user_json(u, None)})


def list_skus(req: Req) -> Resp:
    vals = [
        {
            "capabilityStatus": s.capability_status,
            "consumedUnits": s.consumed_units,
            "id": s.id or s.sku_id,
            "skuId": s.sku_id,
            "skuPartNumber": s.sku_part_number,
            "appliesTo": "User",
            "prepaidUnits": {"enabled": s.enabled_units, "suspended": 0, "warning": 0, "lockedOut": 0},
            "servicePlans": list(s.service_plans),
        }
        for s in req.tenant.skus.values()
    ]
    return Resp(200, {"@odata.context": f"{GRAPH}/$metadata#subscribedSkus", "value": vals})


def send_mail(req: Req, key: str) -> Resp:
    u = req.tenant.resolve_user(key)
    if u is None:
        raise GraphHTTPError(404, "ErrorInvalidUser", f"The requested user '{key}' is invalid.")
    msg = _body(req).get("message")
    if not isinstance(msg, dict):
        raise GraphHTTPError(400, "ErrorInvalidRequest", "The message is missing.")
    to = tuple(str((r.get("emailAddress") or {}).get("address", "")) for r in msg.get("toRecipients") or [])
    if not to or not all(to):
        raise GraphHTTPError(400, "ErrorInvalidRecipients", "At least one recipient isn't valid.")
    content = (msg.get("body") or {}).get("content", "")
    req.tenant.sent_mail.append(SentMail(u.user_principal_name, to, str(msg.get("subject", "")), content, req.now))
    return Resp(202)


# --- TAP -----------------------------------------------------------------------------------------


_TAP_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789+-=#@!"


def create_tap(req: Req, key: str) -> Resp:
    u = _user(req, key)
    t = req.tenant
    pol = t.tap_policy
    if pol.state != "enabled":
        raise bad_request(
            "Converged UserCredentialPolicy does not allow creating or updating this "
            "authentication method. AuthMethodType [TemporaryAccessPass]."
        )
    if u.user_type.lower() == "guest":
        raise bad_request("Temporary Access Pass cannot be added to an external guest user.")
    body = _body(req)
    lifetime = body.get("lifetimeInMinutes", pol.default_lifetime_in_minutes)
    if not isinstance(lifetime, int) or isinstance(lifetime, bool) or not 10 <= lifetime <= 43200:
        raise bad_request("Invalid value specified for property 'lifetimeInMinutes'.")
    if not pol.minimum_lifetime_in_minutes <= lifetime <= pol.maximum_lifetime_in_minutes:
        raise bad_request(
            "The lifetime of the Temporary Access Pass must be between "
            f"{pol.minimum_lifetime_in_minutes} and "
            f"{pol.maximum_lifetime_in_minutes} minutes as configured in the policy."
        )
    start = _parse_dt(body.get("startDateTime"), "startDateTime") or req.now
    once = bool(body.get("isUsableOnce", pol.is_usable_once)) or pol.is_usable_once
    code = "".join(secrets.choice(_TAP_ALPHABET) for _ in range(pol.default_length))
    tap = Tap(
        id=new_id(),
        code=code,
        created_date_time=req.now,
        start_date_time=start,
        lifetime_in_minutes=lifetime,
        is_usable_once=once,
    )
    t.taps[u.id] = tap  # one per user: a new pass replaces the old
    return Resp(
        201,
        {
            "@odata.context": f"{GRAPH}/$metadata#users('{u.id}')/authentication/temporaryAccessPassMethods/$entity",
            **tap_json(tap, req.now, with_code=True),
        },
    )


def list_taps(req: Req, key: str) -> Resp:
    u = _user(req, key)
    tap = req.tenant.taps.get(u.id)
    vals = [tap_json(tap, req.now, with_code=False)] if tap else []
    return Resp(
        200,
        {
            "@odata.context": f"{GRAPH}/$metadata#users('{u.id}')/authentication/temporaryAccessPassMethods",
            "value": vals,
        },
    )


def tap_item(req: Req, key: str, tap_id: str) -> Resp:
    u = _user(req, key)
    tap = req.tenant.taps.get(u.id)
    if tap is None or tap.id != tap_id:
        raise not_found(tap_id)
    if req.method == "DELETE":
        del req.tenant.taps[u.id]
        return Resp(204)
    return Resp(200, tap_json(tap, req.now, with_code=False))


def list_auth_methods(req: Req, key: str) -> Resp:
    """A user's authentication methods (no licence needed, unlike the registration report)."""
    u = _user(req, key)
    kinds = method_kinds(u.reg_flags, u.reg_methods, u.id in req.tenant.taps)
    created = u.reg_changed_at or u.created_date_time
    return Resp(
        200,
        {
            "@odata.context": f"{GRAPH}/$metadata#users('{u.id}')/authentication/methods",
            "value": [method_json(u.id, k, created) for k in kinds],
        },
    )


def tap_policy(req: Req) -> Resp:
    p = req.tenant.tap_policy
    return Resp(
        200,
        {
            "@odata.context": f"{GRAPH}/$metadata#policies/authenticationMethodsPolicy/"
            "authenticationMethodConfigurations/$entity",
            "@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration",
            "id": "TemporaryAccessPass",
            "state": p.state,
            "defaultLifetimeInMinutes": p.default_lifetime_in_minutes,
            "defaultLength": p.default_length,
            "minimumLifetimeInMinutes": p.minimum_lifetime_in_minutes,
            "maximumLifetimeInMinutes": p.maximum_lifetime_in_minutes,
            "isUsableOnce": p.is_usable_once,
            "includeTargets": [{"targetType": "group", "id": "all_users", "isRegistrationRequired": False}],
            "excludeTargets": [],
        },
    )


# --- groups ------------------------------------------------------------------------------------


def _group(req: Req, gid: str) -> Group:
    g = req.tenant.groups.get(gid)
    if g is None:
        raise not_found(gid)
    return g


def add_member(req: Req, gid: str) -> Resp:
    g = _group(req, gid)
    ref = _body(req).get("@odata.id") if isinstance(req.body, dict) else None
    m = _REF.search(str(ref or ""))
    if m is None:
        raise bad_request(f"Invalid object identifier '{ref}'.")
    mid = m.group(1)
    if _replicating(req, mid):
        raise bad_request("The source resource object or one of the objects being referenced don't exist.")
    if mid not in req.tenant.users and mid not in req.tenant.groups:
        raise not_found(mid)
    if mid in g.members:
        raise bad_request(
            "One or more added object references already exist for the following modified properties: 'members'."
        )
    g.members[mid] = None
    return Resp(204)


def remove_member_ref(req: Req, gid: str, mid: str) -> Resp:
    g = _group(req, gid)
    if mid not in g.members:
        raise not_found(mid)
    del g.members[mid]
    return Resp(204)


def delete_member_object(req: Req, gid: str, mid: str) -> Resp:
    """Without ``/$ref`` Graph deletes the member object itself (graph-facts §4 DANGER)."""
    _group(req, gid)
    if mid in req.tenant.users:
        return delete_user(req, mid)
    if mid in req.tenant.groups:
        del req.tenant.groups[mid]
        return Resp(204)
    raise not_found(mid)


def patch_group(req: Req, gid: str) -> Resp:
    g = _group(req, gid)
    body = _body(req)
    binds = body.pop("members@odata.bind", None)
    if binds is not None:
        if not isinstance(binds, list) or len(binds) > 20:
            raise bad_request("The number of members to add exceeds the limit of 20.")
        ids = []
        for ref in binds:
            m = _REF.search(str(ref))
            if m is None or (m.group(1) not in req.tenant.users and m.group(1) not in req.tenant.groups):
                raise not_found(str(ref))
            if m.group(1) in g.members:
                raise bad_request(
                    "One or more added object references already exist for the following "
                    "modified properties: 'members'."
                )
            ids.append(m.group(1))
        for i in ids:
            g.members[i] = None
    if "displayName" in body:
        g.display_name = str(body["displayName"])
    return Resp(204)


def list_members(req: Req, gid: str, *, transitive: bool) -> Resp:
    g = _group(req, gid)
    sel = _select(req, USER_PROPS, "microsoft.graph.directoryObject")
    size = odata.parse_top(req.query.get("$top"), 100, 999)
    t = req.tenant

    def compute() -> list[str]:
        return t.transitive_members(g.id) if transitive else list(g.members)

    render_user = user_renderer(sel, odata_type=True)

    def render(mid: str) -> dict[str, Any] | None:
        u = t.users.get(mid)
        if u is not None:
            return render_user(u)
        grp = t.groups.get(mid)
        return group_json(grp, sel, odata_type=True) if grp is not None else None

    return page_list(req, compute, render, size, "directoryObjects")


def list_groups(req: Req) -> Resp:
    sel = _select(
        req,
        {"id", "displayName", "description", "securityEnabled", "mailEnabled", "groupTypes"},
        "microsoft.graph.group",
    )
    size = odata.parse_top(req.query.get("$top"), 100, 999)
    return page_list(req, lambda: list(req.tenant.groups.values()), lambda g: group_json(g, sel), size, "groups")


def get_group(req: Req, gid: str) -> Resp:
    return Resp(200, group_json(_group(req, gid)))


# --- deleted items -------------------------------------------------------------------------------


def _purge_expired(req: Req) -> None:
    t = req.tenant
    for uid in [
        uid
        for uid, u in t.deleted.items()
        if u.deleted_date_time and req.now - u.deleted_date_time > timedelta(days=30)
    ]:
        _purge(t, uid)


def _purge(t: Tenant, uid: str) -> None:
    t.deleted.pop(uid, None)
    for g in t.groups.values():
        g.members.pop(uid, None)


def list_deleted(req: Req) -> Resp:
    _purge_expired(req)
    sel = _select(req, USER_PROPS, "microsoft.graph.user")
    size = odata.parse_top(req.query.get("$top"), 100, 999)
    fields = sel or ["id", "displayName", "userPrincipalName", "deletedDateTime"]
    return page_list(
        req,
        lambda: list(req.tenant.deleted.values()),
        lambda u: user_json(u, fields, odata_type=True),
        size,
        "directory/deletedItems",
    )


def deleted_item(req: Req, oid: str) -> Resp:
    _purge_expired(req)
    u = req.tenant.deleted.get(oid)
    if u is None:
        raise not_found(oid)
    if req.method == "DELETE":
        _purge(req.tenant, oid)
        return Resp(204)
    return Resp(200, user_json(u, [*USER_PROPS_DEFAULT_DELETED], odata_type=True))


USER_PROPS_DEFAULT_DELETED = ("id", "displayName", "userPrincipalName", "deletedDateTime", "accountEnabled")


def restore_deleted(req: Req, oid: str) -> Resp:
    _purge_expired(req)
    t = req.tenant
    u = t.deleted.get(oid)
    if u is None:
        raise not_found(oid)
    if u.user_principal_name.lower() in t.upn_index:
        raise GraphHTTPError(
            400,
            "Request_BadRequest",
            "Another object with the same value for property userPrincipalName already exists.",
            details=[{"code": "ObjectConflict", "target": "userPrincipalName"}],
        )
    del t.deleted[oid]
    u.deleted_date_time = None
    t.index_user(u)
    for sku, _ in u.licenses:
        t.sku_consumed(sku, 1)
    return Resp(
        200,
        {
            "@odata.context": f"{GRAPH}/$metadata#directoryObjects/$entity",
            **user_json(u, None, odata_type=True),
        },
    )


# --- permissions ---------------------------------------------------------------------------------
# What Graph demands of each request (least-privileged application permission, graph-facts); a tenant
# whose app lacks it (``Tenant.withdrawn``) is answered 403 Authorization_RequestDenied. The emulator
# keeps its own list, as Graph does: the product's table (``idops.graph.permissions``) is checked
# against it by the online configuration check's tests, not imported.


def _denied() -> GraphHTTPError:
    return GraphHTTPError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")


def _require(t: Tenant, *permissions: str) -> None:
    if t.lacks(*permissions):
        raise _denied()


def _field_permissions(body: dict[str, Any], *, creating: bool) -> list[str]:
    """A user write needs the permission of each property it sets (graph-facts §1, §2)."""
    special = {"accountEnabled": "User.EnableDisableAccount.All",
               "passwordProfile": "User-PasswordProfile.ReadWrite.All"}
    if creating:
        needs = ["User.Create"]
    else:
        needs = ["User.ReadUpdate.All"] if set(body) - {*special, "employeeLeaveDateTime"} else []
        needs += [perm for prop, perm in special.items() if prop in body]
    if "employeeLeaveDateTime" in body:
        needs.append(LEAVE_DATE_PERMISSION)
    return needs


#: Handler → the permission its request needs (user writes are judged per property in ``_apply``).
NEEDS: dict[Callable[..., Resp], str] = {}


def _needs(permission: str, *handlers: Callable[..., Resp]) -> None:
    for h in handlers:
        NEEDS[h] = permission


# --- routing -------------------------------------------------------------------------------------

Handler = Callable[..., Resp]
_ROUTES: list[tuple[re.Pattern[str], dict[str, Handler]]] = []


def _route(pattern: str, **methods: Handler) -> None:
    _ROUTES.append((re.compile(f"^{pattern}$", re.I), methods))


_SEG = r"([^/]+)"
_route(r"/users", GET=list_users, POST=create_user)
_route(r"/users/\$count", GET=count_users)
_route(rf"/users/{_SEG}", GET=get_user, PATCH=patch_user, DELETE=delete_user)
_route(rf"/users/{_SEG}/revokeSignInSessions", POST=revoke_sessions)
_route(rf"/users/{_SEG}/assignLicense", POST=assign_license)
_route(rf"/users/{_SEG}/sendMail", POST=send_mail)
_route(rf"/users/{_SEG}/authentication/methods", GET=list_auth_methods)
_route(rf"/users/{_SEG}/authentication/temporaryAccessPassMethods", GET=list_taps, POST=create_tap)
_route(rf"/users/{_SEG}/authentication/temporaryAccessPassMethods/{_SEG}", GET=tap_item, DELETE=tap_item)
_route(r"/subscribedSkus", GET=list_skus)
_route(
    r"/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/temporaryAccessPass",
    GET=tap_policy,
)
_route(r"/groups", GET=list_groups)
_route(rf"/groups/{_SEG}", GET=get_group, PATCH=patch_group)
_route(rf"/groups/{_SEG}/members/\$ref", POST=add_member)
_route(rf"/groups/{_SEG}/members/{_SEG}/\$ref", DELETE=remove_member_ref)
_route(rf"/groups/{_SEG}/members/{_SEG}", DELETE=delete_member_object)
def list_direct_members(req: Req, gid: str) -> Resp:
    return list_members(req, gid, transitive=False)


def list_transitive_members(req: Req, gid: str) -> Resp:
    return list_members(req, gid, transitive=True)


_route(rf"/groups/{_SEG}/members", GET=list_direct_members)
_route(rf"/groups/{_SEG}/transitiveMembers", GET=list_transitive_members)
_route(r"/directory/deletedItems/microsoft\.graph\.user", GET=list_deleted)
_route(rf"/directory/deletedItems/{_SEG}", GET=deleted_item, DELETE=deleted_item)
_route(rf"/directory/deletedItems/{_SEG}/restore", POST=restore_deleted)
_route(r"/reports/authenticationMethods/userRegistrationDetails", GET=list_registration)
_route(rf"/reports/authenticationMethods/userRegistrationDetails/{_SEG}", GET=get_registration)
_route(r"/auditLogs/signIns", GET=list_signins)
_route(r"/servicePrincipals", GET=list_service_principals)


_needs("User.Read.All", list_users, count_users, get_user)
_needs("User.DeleteRestore.All", delete_user, deleted_item, restore_deleted, list_deleted)
_needs("User.RevokeSessions.All", revoke_sessions)
_needs("LicenseAssignment.ReadWrite.All", assign_license)
_needs("Organization.Read.All", list_skus)
_needs("Mail.Send", send_mail)
_needs("UserAuthMethod-TAP.ReadWrite.All", create_tap, list_taps, tap_item)
_needs("Policy.Read.All", tap_policy)
_needs("GroupMember.Read.All", list_groups, get_group, list_direct_members, list_transitive_members)
_needs("GroupMember.ReadWrite.All", add_member, remove_member_ref, delete_member_object, patch_group)
_needs("AuditLog.Read.All", list_registration, get_registration, list_signins)
_needs("UserAuthenticationMethod.Read.All", list_auth_methods)
_needs("Application.Read.All", list_service_principals)


def dispatch(req: Req) -> Resp:
    """Route and run one request against ``req.tenant``; raises ``GraphHTTPError`` for Graph errors."""
    for pattern, methods in _ROUTES:
        m = pattern.match(req.path)
        if m is None:
            continue
        handler = methods.get(req.method)
        if handler is None:
            raise GraphHTTPError(
                405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."
            )
        need = NEEDS.get(handler)
        if need is not None:
            _require(req.tenant, need)
        return handler(req, *m.groups())
    seg = req.path.strip("/").split("/")[0] or req.path
    raise GraphHTTPError(400, "BadRequest", f"Resource not found for the segment '{seg}'.")
