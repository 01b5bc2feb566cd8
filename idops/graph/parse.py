"""Graph JSON ↔ the port's dataclasses. Plain dicts in, plain dicts out: no SDK models.

Reading is lenient (missing optional fields become None/defaults, unknown fields are ignored);
writing follows Graph's property names exactly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from idops.graph.odata import format_datetime
from idops.graph.port import (
    UNSET,
    AccessPass,
    DirectoryUser,
    NewUser,
    ServicePrincipal,
    SignIn,
    SubscribedSku,
    TapPolicy,
    UserPatch,
)

USER_SELECT = (
    "id,userPrincipalName,displayName,accountEnabled,givenName,surname,mailNickname,mail,preferredLanguage,"
    "employeeId,"
    "employeeType,employeeHireDate,employeeLeaveDateTime,usageLocation,userType,createdDateTime,"
    "deletedDateTime,signInSessionsValidFromDateTime,assignedLicenses,onPremisesExtensionAttributes"
)
SP_SELECT = "id,appId,displayName,preferredSingleSignOnMode"


def parse_datetime(value: Any) -> datetime | None:
    """Graph DateTimeOffset (``Z`` or offset, up to 7 fractional digits) → aware UTC; None if empty."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    if "." in text:  # Python takes at most 6 fractional digits
        head, _, rest = text.partition(".")
        digits = ""
        i = 0
        while i < len(rest) and rest[i].isdigit():
            digits += rest[i]
            i += 1
        text = f"{head}.{digits[:6].ljust(6, '0')}{rest[i:]}" if digits else head + rest[i:]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _str(d: Mapping[str, Any], key: str) -> str | None:
    value = d.get(key)
    return value if isinstance(value, str) else None


def user_from_json(d: Mapping[str, Any]) -> DirectoryUser:
    ext = d.get("onPremisesExtensionAttributes") or {}
    licences = d.get("assignedLicenses") or []
    return DirectoryUser(
        id=str(d["id"]),
        user_principal_name=_str(d, "userPrincipalName") or "",
        display_name=_str(d, "displayName") or "",
        account_enabled=bool(d.get("accountEnabled", False)),
        given_name=_str(d, "givenName"),
        surname=_str(d, "surname"),
        mail_nickname=_str(d, "mailNickname"),
        mail=_str(d, "mail"),
        preferred_language=_str(d, "preferredLanguage"),
        employee_id=_str(d, "employeeId"),
        employee_type=_str(d, "employeeType"),
        employee_hire_date=parse_datetime(d.get("employeeHireDate")),
        employee_leave_date_time=parse_datetime(d.get("employeeLeaveDateTime")),
        usage_location=_str(d, "usageLocation"),
        user_type=_str(d, "userType"),
        created_date_time=parse_datetime(d.get("createdDateTime")),
        deleted_date_time=parse_datetime(d.get("deletedDateTime")),
        sign_in_sessions_valid_from=parse_datetime(d.get("signInSessionsValidFromDateTime")),
        assigned_license_sku_ids=tuple(
            str(x["skuId"]) for x in licences if isinstance(x, dict) and x.get("skuId")
        ),
        extension_attributes={
            k: v for k, v in ext.items() if isinstance(ext, dict) and isinstance(v, str)
        },
    )


def created_user(new: NewUser, body: Mapping[str, Any]) -> DirectoryUser:
    """The user as created: Graph's 201 carries only the default property set, so fill in what we sent.

    The 201 body is trusted (its ``id``); re-reading would race replication.
    """
    sent = user_from_json({**new_user_to_json(new), **{k: v for k, v in body.items() if v is not None}})
    return sent


def sku_from_json(d: Mapping[str, Any]) -> SubscribedSku:
    prepaid = d.get("prepaidUnits") or {}
    return SubscribedSku(
        sku_id=str(d["skuId"]),
        sku_part_number=_str(d, "skuPartNumber") or "",
        enabled_units=int(prepaid.get("enabled") or 0),
        consumed_units=int(d.get("consumedUnits") or 0),
        capability_status=_str(d, "capabilityStatus") or "Enabled",
    )


def access_pass_from_json(d: Mapping[str, Any]) -> AccessPass:
    code = d.get("temporaryAccessPass")
    if not isinstance(code, str) or not code:
        raise ValueError("Graph returned no temporaryAccessPass in the create response")
    return AccessPass(
        id=str(d["id"]),
        code=code,
        start_date_time=parse_datetime(d.get("startDateTime"))
        or parse_datetime(d.get("createdDateTime"))
        or datetime.now(UTC),
        lifetime_in_minutes=int(d.get("lifetimeInMinutes") or 0),
        is_usable_once=bool(d.get("isUsableOnce", False)),
    )


def tap_policy_from_json(d: Mapping[str, Any]) -> TapPolicy:
    return TapPolicy(
        state=str(d.get("state") or "disabled"),
        default_lifetime_in_minutes=int(d.get("defaultLifetimeInMinutes") or 60),
        minimum_lifetime_in_minutes=int(d.get("minimumLifetimeInMinutes") or 60),
        maximum_lifetime_in_minutes=int(d.get("maximumLifetimeInMinutes") or 480),
        is_usable_once=bool(d.get("isUsableOnce", False)),
    )


def _mfa_satisfied(d: Mapping[str, Any]) -> bool | None:
    """Did the sign-in satisfy MFA, as far as its fields say (docs/definitions.md, "Used")?

    - beta's ``authenticationRequirement``, when present: ``multiFactorAuthentication`` or not.
    - v1.0 has no such field (graph-facts §7). Conditional Access tells only when it was evaluated:
      a policy with the ``Mfa`` grant control that succeeded → True; policies listed but none enforced
      MFA → False (CA decided; security defaults cannot be on beside CA).
    - No policy listed (``appliedConditionalAccessPolicies`` empty or absent): **unknown** (None).
      Security defaults or per-user MFA may have required MFA, and v1.0 does not say — counting such
      a sign-in as "without MFA" made MFA *used* 0 % in tenants on security defaults.
    """
    requirement = d.get("authenticationRequirement")
    if isinstance(requirement, str):
        return requirement == "multiFactorAuthentication"
    policies = d.get("appliedConditionalAccessPolicies")
    if not isinstance(policies, list) or not policies:
        return None
    for p in policies:
        if not isinstance(p, dict) or str(p.get("result", "")).lower() != "success":
            continue
        grants = p.get("enforcedGrantControls") or []
        if any(str(g).lower() == "mfa" for g in grants):
            return True
    return False


def sign_in_from_json(d: Mapping[str, Any]) -> SignIn:
    status = d.get("status") or {}
    mfa = _mfa_satisfied(d)
    created = parse_datetime(d.get("createdDateTime"))
    if created is None:
        raise ValueError("sign-in without createdDateTime")
    return SignIn(
        id=str(d["id"]),
        created_date_time=created,
        user_id=_str(d, "userId") or "",
        user_principal_name=(_str(d, "userPrincipalName") or "").lower(),
        app_id=_str(d, "appId") or "",
        app_display_name=_str(d, "appDisplayName") or "",
        status_error_code=int(status.get("errorCode") or 0) if isinstance(status, dict) else 0,
        is_interactive=bool(d.get("isInteractive", True)),
        conditional_access_status=_str(d, "conditionalAccessStatus"),
        mfa_satisfied=mfa,
    )


_METHOD_TYPE = re.compile(r"^#microsoft\.graph\.([A-Za-z0-9]+?)AuthenticationMethod$")


def method_kind(d: Mapping[str, Any]) -> str:
    """An authentication method's kind from its ``@odata.type``:
    ``#microsoft.graph.phoneAuthenticationMethod`` → ``phone``; another shape comes back as it is."""
    odata_type = str(d.get("@odata.type") or "")
    m = _METHOD_TYPE.match(odata_type)
    return m.group(1) if m else odata_type


def service_principal_from_json(d: Mapping[str, Any]) -> ServicePrincipal:
    return ServicePrincipal(
        id=str(d["id"]),
        app_id=_str(d, "appId") or "",
        display_name=_str(d, "displayName") or "",
        preferred_single_sign_on_mode=_str(d, "preferredSingleSignOnMode"),
    )


def _dt(value: datetime | None) -> str | None:
    return None if value is None else format_datetime(value)


def new_user_to_json(u: NewUser) -> dict[str, Any]:
    body: dict[str, Any] = {
        "accountEnabled": u.account_enabled,
        "displayName": u.display_name,
        "mailNickname": u.mail_nickname,
        "userPrincipalName": u.user_principal_name,
        "givenName": u.given_name,
        "surname": u.surname,
        "usageLocation": u.usage_location,
        "passwordProfile": {"password": u.password, "forceChangePasswordNextSignIn": u.force_change_password},
    }
    optional = {
        "employeeType": u.employee_type,
        "employeeId": u.employee_id,
        "employeeHireDate": _dt(u.employee_hire_date),
        "employeeLeaveDateTime": _dt(u.employee_leave_date_time),
        "mobilePhone": u.mobile_phone,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    if u.other_mails:
        body["otherMails"] = list(u.other_mails)
    if u.extension_attributes:
        body["onPremisesExtensionAttributes"] = dict(u.extension_attributes)
    return body


_PATCH_FIELDS = {
    "account_enabled": "accountEnabled",
    "display_name": "displayName",
    "given_name": "givenName",
    "surname": "surname",
    "employee_type": "employeeType",
    "employee_hire_date": "employeeHireDate",
    "employee_leave_date_time": "employeeLeaveDateTime",
    "usage_location": "usageLocation",
}


def patch_to_json(p: UserPatch) -> dict[str, Any]:
    """UNSET fields are omitted; ``None`` becomes an explicit JSON null (Graph clears the property)."""
    body: dict[str, Any] = {}
    for attr, name in _PATCH_FIELDS.items():
        value = getattr(p, attr)
        if value is UNSET:
            continue
        body[name] = _dt(value) if isinstance(value, datetime) else value
    if p.extension_attributes is not UNSET:
        ext = p.extension_attributes
        body["onPremisesExtensionAttributes"] = None if ext is None else dict(ext)
    if p.password is not UNSET:
        if not p.password:
            raise ValueError("password cannot be cleared")
        body["passwordProfile"] = {"password": p.password, "forceChangePasswordNextSignIn": True}
    return body
