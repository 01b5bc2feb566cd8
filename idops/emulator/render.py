"""Graph JSON for emulator objects, and the property maps ``$select``/``$filter`` work from."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from idops.emulator.odata import Getter
from idops.emulator.state import (
    IS_ADMIN,
    MFA_CAPABLE,
    MFA_REGISTERED,
    PASSWORDLESS,
    SSPR_REGISTERED,
    Group,
    ServicePrincipal,
    SignInRecord,
    Tap,
    User,
)

GRAPH = "https://graph.microsoft.com/v1.0"
EXT_KEYS = tuple(f"extensionAttribute{i}" for i in range(1, 16))


def iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ext(u: User) -> dict[str, str | None]:
    return {k: (u.ext.get(k) if u.ext else None) for k in EXT_KEYS}


def _licenses(u: User) -> list[dict[str, Any]]:
    return [{"skuId": s, "disabledPlans": list(p)} for s, p in u.licenses]


def _license_states(u: User) -> list[dict[str, Any]]:
    return [
        {
            "skuId": s,
            "assignedByGroup": None,
            "disabledPlans": list(p),
            "state": "Active",
            "error": "None",
            "lastUpdatedDateTime": None,
        }
        for s, p in u.licenses
    ]


# camelCase property → python value (datetimes stay datetimes so filters compare them)
USER_PROPS: dict[str, Callable[[User], Any]] = {
    "id": lambda u: u.id,
    "userPrincipalName": lambda u: u.user_principal_name,
    "displayName": lambda u: u.display_name,
    "accountEnabled": lambda u: u.account_enabled,
    "givenName": lambda u: u.given_name,
    "surname": lambda u: u.surname,
    "mailNickname": lambda u: u.mail_nickname,
    "mail": lambda u: u.mail,
    "otherMails": lambda u: list(u.other_mails),
    "mobilePhone": lambda u: u.mobile_phone,
    "businessPhones": lambda u: [],
    "jobTitle": lambda u: u.job_title,
    "officeLocation": lambda u: None,
    "preferredLanguage": lambda u: u.preferred_language,
    "employeeId": lambda u: u.employee_id,
    "employeeType": lambda u: u.employee_type,
    "employeeHireDate": lambda u: u.employee_hire_date,
    "employeeLeaveDateTime": lambda u: u.employee_leave_date_time,
    "usageLocation": lambda u: u.usage_location,
    "userType": lambda u: u.user_type,
    "createdDateTime": lambda u: u.created_date_time,
    "deletedDateTime": lambda u: u.deleted_date_time,
    "signInSessionsValidFromDateTime": lambda u: u.sign_in_sessions_valid_from,
    "assignedLicenses": _licenses,
    "licenseAssignmentStates": _license_states,
    "onPremisesExtensionAttributes": _ext,
    "passwordPolicies": lambda u: u.password_policies,
    "passwordProfile": lambda u: None,  # write-only: Graph never returns it
}
#: The properties whose value is a ``datetime`` (rendered as DateTimeOffset text).
USER_TIME_PROPS = frozenset(
    {
        "employeeHireDate",
        "employeeLeaveDateTime",
        "createdDateTime",
        "deletedDateTime",
        "signInSessionsValidFromDateTime",
    }
)
USER_DEFAULT = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
)
USER_FILTERABLE = {
    "id",
    "userPrincipalName",
    "displayName",
    "accountEnabled",
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
    "createdDateTime",
    "assignedLicenses",
    "onPremisesExtensionAttributes",
}


def user_json(u: User, select: list[str] | None, *, odata_type: bool = False) -> dict[str, Any]:
    return user_renderer(select, odata_type=odata_type)(u)


def user_renderer(select: list[str] | None, *, odata_type: bool = False) -> Callable[[User], dict[str, Any]]:
    """``user_json`` with the property look-ups done once, for rendering many users (list pages)."""
    fields = select or USER_DEFAULT
    if fields == ["id"]:  # member id lists (transitiveMembers?$select=id): the bulk syncs' hot case
        if odata_type:
            return lambda u: {"@odata.type": "#microsoft.graph.user", "id": u.id}
        return lambda u: {"id": u.id}
    head: dict[str, Any] = {"@odata.type": "#microsoft.graph.user"} if odata_type else {}
    getters = [(f, USER_PROPS[f]) for f in fields]
    times = [f for f in fields if f in USER_TIME_PROPS]

    def render(u: User) -> dict[str, Any]:
        out = {**head, **{f: get(u) for f, get in getters}}
        for f in times:
            v = out[f]
            if v is not None:
                out[f] = iso(v)
        return out

    return render


def user_getter(u: User) -> Getter:
    def get(path: tuple[str, ...]) -> Any:
        fn = USER_PROPS.get(path[0])
        v = fn(u) if fn else None
        for seg in path[1:]:
            v = v.get(seg) if isinstance(v, dict) else None
        return v

    return get


GROUP_PROPS: dict[str, Callable[[Group], Any]] = {
    "id": lambda g: g.id,
    "displayName": lambda g: g.display_name,
    "description": lambda g: g.description,
    "securityEnabled": lambda g: g.security_enabled,
    "mailEnabled": lambda g: g.mail_enabled,
    "groupTypes": lambda g: [],
}


def group_json(g: Group, select: list[str] | None = None, *, odata_type: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"@odata.type": "#microsoft.graph.group"} if odata_type else {}
    for f in select or GROUP_PROPS:
        if f in GROUP_PROPS:
            out[f] = GROUP_PROPS[f](g)
    return out


def tap_json(tap: Tap, now: datetime, *, with_code: bool) -> dict[str, Any]:
    end = tap.start_date_time + timedelta(minutes=tap.lifetime_in_minutes)
    if now < tap.start_date_time:
        usable, reason = False, "NotYetValid"
    elif now >= end:
        usable, reason = False, "Expired"
    else:
        usable, reason = True, "EnabledByPolicy"
    return {
        "@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethod",
        "id": tap.id,
        "temporaryAccessPass": tap.code if with_code else None,
        "createdDateTime": iso(tap.created_date_time),
        "startDateTime": iso(tap.start_date_time),
        "lifetimeInMinutes": tap.lifetime_in_minutes,
        "isUsableOnce": tap.is_usable_once,
        "isUsable": usable,
        "methodUsabilityReason": reason,
    }


def registration_values(
    user_id: str,
    upn: str,
    display_name: str,
    user_type: str,
    flags: int,
    methods: tuple[str, ...],
    last_updated: str | None,
) -> dict[str, Any]:
    """A ``userRegistrationDetails`` row from values captured earlier (the report pages a snapshot)."""
    return {
        "id": user_id,
        "userPrincipalName": upn,
        "userDisplayName": display_name,
        "userType": "guest" if user_type.lower() == "guest" else "member",
        "isAdmin": bool(flags & IS_ADMIN),
        "isSsprRegistered": bool(flags & SSPR_REGISTERED),
        "isSsprEnabled": True,
        "isSsprCapable": bool(flags & SSPR_REGISTERED),
        "isMfaRegistered": bool(flags & MFA_REGISTERED),
        "isMfaCapable": bool(flags & MFA_CAPABLE),
        "isPasswordlessCapable": bool(flags & PASSWORDLESS),
        "methodsRegistered": list(methods),
        "isSystemPreferredAuthenticationMethodEnabled": False,
        "systemPreferredAuthenticationMethods": [],
        "userPreferredMethodForSecondaryAuthentication": "push" if flags & MFA_REGISTERED else "",
        "lastUpdatedDateTime": last_updated,
    }


REGISTRATION_PROPS = {
    "id",
    "userPrincipalName",
    "userDisplayName",
    "userType",
    "isAdmin",
    "isSsprRegistered",
    "isSsprEnabled",
    "isSsprCapable",
    "isMfaRegistered",
    "isMfaCapable",
    "isPasswordlessCapable",
    "methodsRegistered",
    "isSystemPreferredAuthenticationMethodEnabled",
    "systemPreferredAuthenticationMethods",
    "userPreferredMethodForSecondaryAuthentication",
    "lastUpdatedDateTime",
}

# the registration report's method names → the per-user listing's method kinds
_METHOD_KIND = {
    "microsoftAuthenticatorPush": "microsoftAuthenticator",
    "mobilePhone": "phone",
    "softwareOneTimePasscode": "softwareOath",
    "fido2": "fido2",
    "windowsHelloForBusiness": "windowsHelloForBusiness",
    "email": "email",
}
_STRONG = ("microsoftAuthenticator", "phone", "softwareOath", "fido2", "windowsHelloForBusiness")
_PASSWORDLESS = ("fido2", "windowsHelloForBusiness")


def method_kinds(flags: int, methods: tuple[str, ...], has_pass: bool) -> list[str]:
    """What ``GET /users/{id}/authentication/methods`` lists for a user with these registration flags
    and methods *now* (the listing does not lag like the report): the password; the registered
    methods, consistent with the flags — a strong method iff ``MFA_REGISTERED``, a FIDO2 key where
    ``PASSWORDLESS`` names no passwordless method; a Temporary Access Pass if one exists."""
    kinds = [_METHOD_KIND[m] for m in methods if m in _METHOD_KIND]
    if not flags & MFA_REGISTERED:
        kinds = [k for k in kinds if k not in _STRONG]
    else:
        if flags & PASSWORDLESS and not any(k in _PASSWORDLESS for k in kinds):
            kinds.append("fido2")
        if not any(k in _STRONG for k in kinds):
            kinds.append("microsoftAuthenticator")
    return list(dict.fromkeys(["password", *kinds, *(["temporaryAccessPass"] if has_pass else [])]))


def scanned_flags(flags: int, methods: tuple[str, ...]) -> int:
    """The registration idops derives from ``method_kinds`` per docs/definitions.md: registered = a
    strong method, capable = registered, passwordless = a FIDO2 key or Windows Hello."""
    kinds = method_kinds(flags, methods, False)
    registered = any(k in _STRONG for k in kinds)
    out = (MFA_REGISTERED | MFA_CAPABLE) if registered else 0
    return out | (PASSWORDLESS if any(k in _PASSWORDLESS for k in kinds) else 0)


def method_json(user_id: str, kind: str, created: datetime) -> dict[str, Any]:
    """One item of a user's method listing (ids are stable per user and kind, as Graph's are)."""
    return {
        "@odata.type": f"#microsoft.graph.{kind}AuthenticationMethod",
        "id": "28c10230-6103-485e-b985-444c60001490" if kind == "password" else f"{kind}-{user_id}",
        "createdDateTime": iso(created),
    }


MFA_POLICY = {
    "id": "6f3e1d2a-0000-4000-8000-000000000001",
    "displayName": "Require MFA for staff",
    "enforcedGrantControls": ["Mfa"],
    "enforcedSessionControls": [],
    "result": "success",
}


def _policies(r: SignInRecord) -> list[dict[str, Any]]:
    """``appliedConditionalAccessPolicies``: with CA in use the MFA policy, satisfied or not applied;
    under security defaults (no CA) none, whatever happened (v1.0 then cannot tell MFA)."""
    if not r.conditional_access:
        return []
    return [dict(MFA_POLICY) if r.mfa else {**MFA_POLICY, "enforcedGrantControls": [], "result": "notApplied"}]


def _ca_status(r: SignInRecord) -> str:
    return "success" if r.mfa and r.conditional_access else "notApplied"


def signin_json(r: SignInRecord) -> dict[str, Any]:
    """v1.0 signIn. MFA under Conditional Access is a satisfied CA grant (``enforcedGrantControls`` has
    ``Mfa``); under security defaults nothing shows it (``_policies``)."""
    return {
        "id": r.id,
        "createdDateTime": iso(r.created),
        "userDisplayName": r.user_display_name,
        "userPrincipalName": r.user_principal_name,
        "userId": r.user_id,
        "appId": r.app_id,
        "appDisplayName": r.app_display_name,
        "ipAddress": "193.166.0.1",
        "clientAppUsed": "Browser",
        "correlationId": r.id,
        "conditionalAccessStatus": _ca_status(r),
        "isInteractive": r.is_interactive,
        "riskDetail": "none",
        "riskLevelAggregated": "none",
        "riskLevelDuringSignIn": "none",
        "riskState": "none",
        "riskEventTypes": [],
        "riskEventTypes_v2": [],
        "resourceDisplayName": r.app_display_name,
        "resourceId": r.app_id,
        "status": {
            "errorCode": r.error_code,
            "failureReason": "Other." if r.error_code else None,
            "additionalDetails": None,
        },
        "deviceDetail": {
            "deviceId": "",
            "displayName": None,
            "operatingSystem": "Windows 10",
            "browser": "Edge 120.0.0",
            "isCompliant": False,
            "isManaged": False,
            "trustType": None,
        },
        "location": {
            "city": "Tampere",
            "state": "Pirkanmaa",
            "countryOrRegion": "FI",
            "geoCoordinates": {"altitude": None, "latitude": 61.4978, "longitude": 23.761},
        },
        "appliedConditionalAccessPolicies": _policies(r),
    }


SIGNIN_FIELDS: dict[str, Callable[[SignInRecord], Any]] = {
    "id": lambda r: r.id,
    "createdDateTime": lambda r: r.created,
    "userId": lambda r: r.user_id,
    "userPrincipalName": lambda r: r.user_principal_name,
    "userDisplayName": lambda r: r.user_display_name,
    "appId": lambda r: r.app_id,
    "appDisplayName": lambda r: r.app_display_name,
    "resourceDisplayName": lambda r: r.app_display_name,
    "isInteractive": lambda r: r.is_interactive,
    "conditionalAccessStatus": _ca_status,
    "clientAppUsed": lambda r: "Browser",
    "status": lambda r: {"errorCode": r.error_code},
}


def signin_getter(r: SignInRecord) -> Getter:
    def get(path: tuple[str, ...]) -> Any:
        fn = SIGNIN_FIELDS.get(path[0])
        v = fn(r) if fn else None
        for seg in path[1:]:
            v = v.get(seg) if isinstance(v, dict) else None
        return v

    return get


SP_PROPS: dict[str, Callable[[ServicePrincipal], Any]] = {
    "id": lambda s: s.id,
    "appId": lambda s: s.app_id,
    "displayName": lambda s: s.display_name,
    "preferredSingleSignOnMode": lambda s: s.preferred_single_sign_on_mode,
    "servicePrincipalType": lambda s: "Application",
    "accountEnabled": lambda s: True,
}


def sp_json(s: ServicePrincipal, select: list[str] | None) -> dict[str, Any]:
    return {f: SP_PROPS[f](s) for f in (select or SP_PROPS)}
