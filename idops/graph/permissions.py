"""The one source of the Microsoft Graph application permissions idops needs, and why.

Every operation of the ``Directory`` port (``idops/graph/port.py``), as the adapter performs it
(``sdk.py``; the steps of ``apply_account_changes`` in ``changes.py``), is a row of ``OPERATIONS``
naming the least-privileged application permission(s) it needs (``/work/shared/graph-facts.md``;
the doc section is given per row). ``FEATURES`` groups operations by what a municipality switches on,
so ``idops entra permissions`` can print the minimal list per feature, ``docs/entra-setup.md`` is
checked against it (``tests/unit/test_entra_permissions.py``), and ``idops config check --online``
probes each permission of an enabled feature.

A permission is proven online either by the token (an app-only token lists its granted application
permissions in ``roles``) or, for reads, by its cheapest harmless read (``Probe``), which also tells a
missing permission from a tenant without Entra ID P1/P2.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from idops.config.region import RegionConfig
from idops.config.settings import Settings
from idops.graph.port import Probe


@dataclass(frozen=True, slots=True)
class Permission:
    """An application permission (an app role of Microsoft Graph), least privileged first.

    ``covered_by``: higher-privileged permissions that also grant it (a token holding one of them
    needs no separate grant). ``premium``: its reads need Entra ID P1/P2 in the tenant.
    ``directory_role``: an Entra role the app's service principal needs besides the permission.
    """

    name: str
    covered_by: tuple[str, ...] = ()
    probe: Probe | None = None
    premium: bool = False
    directory_role: str | None = None

    def granted_by(self, roles: Iterable[str]) -> bool:
        held = {r.lower() for r in roles}
        return any(n.lower() in held for n in (self.name, *self.covered_by))


USER_READ = Permission("User.Read.All", ("User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"),
                       probe=Probe.USERS)
USER_CREATE = Permission("User.Create", ("User.ReadWrite.All", "Directory.ReadWrite.All"))
USER_UPDATE = Permission("User.ReadUpdate.All", ("User.ReadWrite.All", "Directory.ReadWrite.All"))
USER_ENABLE = Permission("User.EnableDisableAccount.All", ("User.ReadWrite.All", "Directory.ReadWrite.All"))
USER_REVOKE = Permission("User.RevokeSessions.All", ("User.ReadWrite.All", "Directory.ReadWrite.All"))
USER_DELETE = Permission("User.DeleteRestore.All", ("User.ReadWrite.All", "Directory.ReadWrite.All"))
# Not covered by User.ReadWrite.All (graph-facts §1): a permission of its own.
LEAVE_DATE = Permission("User-LifeCycleInfo.ReadWrite.All")
# Microsoft's user-update doc: app-only passwordProfile writes need this permission (User.ReadWrite.All
# does not include it) and at least the User Administrator role.
PASSWORD = Permission("User-PasswordProfile.ReadWrite.All", directory_role="User Administrator")
GROUP_MEMBER_WRITE = Permission("GroupMember.ReadWrite.All", ("Group.ReadWrite.All", "Directory.ReadWrite.All"))
GROUP_MEMBER_READ = Permission(
    "GroupMember.Read.All",
    ("GroupMember.ReadWrite.All", "Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All",
     "Directory.ReadWrite.All"),
    probe=Probe.GROUPS,
)
LICENCE_WRITE = Permission("LicenseAssignment.ReadWrite.All", ("User.ReadWrite.All", "Directory.ReadWrite.All"))
ORGANIZATION_READ = Permission(
    "Organization.Read.All", ("Organization.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"),
    probe=Probe.SUBSCRIBED_SKUS,
)
TAP_WRITE = Permission("UserAuthMethod-TAP.ReadWrite.All", ("UserAuthenticationMethod.ReadWrite.All",))
POLICY_READ = Permission("Policy.Read.All", ("Policy.ReadWrite.AuthenticationMethod",), probe=Probe.TAP_POLICY)
REGISTRATION_REPORT = Permission(
    "AuditLog.Read.All", ("UserAuthenticationMethod.Read.All", "UserAuthenticationMethod.ReadWrite.All"),
    probe=Probe.REGISTRATION_REPORT, premium=True,
)
# Each user's methods, one by one: the fallback for tenants without the registration report (no P1).
METHODS_READ = Permission("UserAuthenticationMethod.Read.All", ("UserAuthenticationMethod.ReadWrite.All",))
SIGN_IN_LOG = Permission("AuditLog.Read.All", probe=Probe.SIGN_INS, premium=True)
APPLICATION_READ = Permission(
    "Application.Read.All", ("Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"),
    probe=Probe.SERVICE_PRINCIPALS,
)
MAIL_SEND = Permission("Mail.Send")


@dataclass(frozen=True, slots=True)
class Operation:
    """One Graph operation of the adapter: every permission in ``permissions`` is needed."""

    name: str  # a ``Directory`` method, or ``method.variant`` for what one call may also write
    permissions: tuple[Permission, ...]
    graph: str  # the request, for people reading the table
    source: str  # where graph-facts (or Microsoft's doc) says so

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.permissions)


def _ops(*rows: Operation) -> dict[str, Operation]:
    return {row.name: row for row in rows}


#: Keyed by port operation. ``apply_account_changes.<step>`` are the ``$batch`` items of ``changes.py``.
OPERATIONS: dict[str, Operation] = _ops(
    Operation("create_user", (USER_CREATE,), "POST /users", "graph-facts §1"),
    Operation("create_user.leave_date", (LEAVE_DATE, USER_READ), "POST /users with employeeLeaveDateTime",
              "graph-facts §1, §16"),
    Operation("get_user", (USER_READ,), "GET /users/{id|upn}", "graph-facts §1"),
    Operation("update_user", (USER_UPDATE,), "PATCH /users/{id}", "graph-facts §2"),
    Operation("update_user.password", (PASSWORD,), "PATCH /users/{id} passwordProfile",
              "Microsoft Learn user-update (passwordProfile); not in graph-facts"),
    Operation("delete_user", (USER_DELETE,), "DELETE /users/{id}", "graph-facts §2"),
    Operation("restore_deleted_user", (USER_DELETE,), "POST /directory/deletedItems/{id}/restore",
              "graph-facts §2"),
    Operation("purge_deleted_user", (USER_DELETE,), "DELETE /directory/deletedItems/{id}", "graph-facts §2"),
    Operation("list_managed_users", (USER_READ,), "GET /users?$filter=onPremisesExtensionAttributes/…",
              "graph-facts §1"),
    Operation("apply_account_changes.enable", (USER_ENABLE, USER_READ), "PATCH /users/{id} accountEnabled",
              "graph-facts §2"),
    Operation("apply_account_changes.leave_date", (LEAVE_DATE, USER_READ),
              "PATCH /users/{id} employeeLeaveDateTime", "graph-facts §1, §16"),
    Operation("apply_account_changes.revoke", (USER_REVOKE,), "POST /users/{id}/revokeSignInSessions",
              "graph-facts §2"),
    Operation("apply_account_changes.groups", (GROUP_MEMBER_WRITE,),
              "POST /groups/{id}/members/$ref, DELETE …/members/{id}/$ref", "graph-facts §4"),
    Operation("apply_account_changes.licences", (LICENCE_WRITE,), "POST /users/{id}/assignLicense",
              "graph-facts §5"),
    Operation("list_users_bulk", (USER_READ,), "GET /users?$select=…", "graph-facts §13"),
    Operation("list_group_members_bulk", (GROUP_MEMBER_READ,), "GET /groups/{id}/transitiveMembers",
              "graph-facts §4"),
    Operation("list_registration_details_bulk", (REGISTRATION_REPORT,),
              "GET /reports/authenticationMethods/userRegistrationDetails", "graph-facts §6"),
    Operation("list_authentication_methods", (METHODS_READ,), "GET /users/{id}/authentication/methods",
              "graph-facts §6, §10 (the reports budget); Microsoft Learn authentication-list-methods"),
    Operation("list_subscribed_skus", (ORGANIZATION_READ,), "GET /subscribedSkus", "graph-facts §5"),
    Operation("create_access_pass", (TAP_WRITE,), "POST /users/{id}/authentication/temporaryAccessPassMethods",
              "graph-facts §3 (the docs' table lists a read permission: a doc defect)"),
    Operation("get_access_pass_policy", (POLICY_READ,),
              "GET /policies/authenticationMethodsPolicy/authenticationMethodConfigurations/temporaryAccessPass",
              "Microsoft Learn temporaryAccessPassAuthenticationMethodConfiguration get"),
    Operation("list_sign_ins", (SIGN_IN_LOG,), "GET /auditLogs/signIns", "graph-facts §7"),
    Operation("list_service_principals", (APPLICATION_READ,), "GET /servicePrincipals?$select=…",
              "graph-facts §7"),
    Operation("send_mail", (MAIL_SEND,), "POST /users/{sender}/sendMail", "Microsoft Learn user-sendmail"),
    # The online check's own calls: a token, and the harmless reads above.
    Operation("token_claims", (), "a token from the tenant's credential (no Graph call)", "graph-facts §14"),
    Operation("probe", (), "one of the Probe reads, for the permission it proves", "this module"),
)


@dataclass(frozen=True, slots=True)
class Use:
    operation: str
    why_fi: str
    why_en: str


@dataclass(frozen=True, slots=True)
class Feature:
    key: str
    name_fi: str
    name_en: str
    uses: tuple[Use, ...]
    disabled_fi: str  # what stops working without this feature's permissions
    disabled_en: str
    enabled: Callable[[Settings, RegionConfig], bool]

    def permissions(self) -> list[tuple[Permission, list[Use]]]:
        """Each permission row once, in first-use order, with every use that needs it. One name may
        appear twice with different probes (``AuditLog.Read.All`` for the report and the sign-ins)."""
        out: dict[tuple[str, Probe | None], tuple[Permission, list[Use]]] = {}
        for use in self.uses:
            for perm in OPERATIONS[use.operation].permissions:
                out.setdefault((perm.name, perm.probe), (perm, []))[1].append(use)
        return list(out.values())

    def grants(self) -> list[tuple[Permission, list[Use]]]:
        """Each permission to grant once (by name), with every use that needs it."""
        out: dict[str, tuple[Permission, list[Use]]] = {}
        for perm, uses in self.permissions():
            out.setdefault(perm.name, (perm, []))[1].extend(uses)
        return list(out.values())


def _always(_settings: Settings, _region: RegionConfig) -> bool:
    return True


FEATURES: tuple[Feature, ...] = (
    Feature(
        "substitutes", "Sijaistunnukset", "Substitute accounts",
        (
            Use("create_user", "luo sijaisen tunnuksen", "create the substitute's account"),
            Use("get_user", "lukee tunnuksen (palaava sijainen, ristiriidan selvitys)",
                "read the account back (returning substitute, conflict after a retry)"),
            Use("list_managed_users", "listaa idopsin merkitsemät tunnukset (täsmäytys, vanheneminen)",
                "list the accounts idops marked (reconcile, expiry sweep)"),
            Use("apply_account_changes.enable", "ottaa tunnuksen käyttöön ja poistaa käytöstä",
                "enable and disable the account"),
            Use("apply_account_changes.revoke", "mitätöi kirjautumisistunnot päättyessä",
                "revoke sign-in sessions at the end"),
            Use("apply_account_changes.groups", "lisää ja poistaa koulun ryhmistä",
                "add to and remove from the school's groups"),
            Use("apply_account_changes.licences", "antaa ja poistaa lisenssin", "assign and remove the licence"),
            Use("list_subscribed_skus", "lukee vapaat lisenssipaikat", "read free licence seats"),
            Use("delete_user", "poistaa tunnuksen varoajan jälkeen", "delete the account after the grace period"),
            Use("restore_deleted_user", "palauttaa palaavan sijaisen tunnuksen roskakorista",
                "restore a returning substitute's account from the recycle bin"),
            Use("purge_deleted_user", "poistaa epäonnistuneen luonnin jäljet lopullisesti",
                "purge what a failed provisioning left behind"),
            Use("create_access_pass", "luo kertakäyttöisen kirjautumiskoodin (TAP)",
                "create the one-time sign-in code (Temporary Access Pass)"),
            Use("get_access_pass_policy", "lukee tenantin TAP-käytännön (päällä? enimmäiskesto?)",
                "read the tenant's TAP policy (enabled? longest lifetime?)"),
        ),
        "sijaistunnuksia ei voi luoda, päättää eikä poistaa",
        "substitute accounts cannot be created, ended or deleted",
        _always,
    ),
    Feature(
        "leave_dates", "Sijaisuuden päättymispäivä Entrassa", "Leave date in Entra",
        (
            Use("create_user.leave_date", "kirjoittaa employeeLeaveDateTime-kentän luonnissa",
                "write employeeLeaveDateTime at creation"),
            Use("apply_account_changes.leave_date", "päivittää employeeLeaveDateTime-kentän",
                "update employeeLeaveDateTime"),
        ),
        "idops jättää employeeLeaveDateTime-kentän tyhjäksi (kirjaa leave_date_not_permitted) ja luottaa "
        "omaan vanhenemisajoonsa",
        "idops leaves employeeLeaveDateTime empty (logs leave_date_not_permitted) and relies on its own expiry job",
        lambda s, _r: s.substitutes.set_leave_date,
    ),
    Feature(
        "one_time_password", "Kertasalasana, kun TAP on pois päältä", "One-time password when TAP is off",
        (Use("update_user.password", "asettaa kertasalasanan, joka vaihdetaan ensimmäisellä kirjautumisella",
             "set a one-time password that must be changed at first sign-in"),),
        "tenantissa, jonka TAP-käytäntö on pois päältä, sijainen ei saa kirjautumiskoodia",
        "in a tenant whose TAP policy is off, a substitute gets no sign-in code",
        lambda s, _r: s.policy.credential_fallback == "one_time_password",
    ),
    Feature(
        "mfa", "MFA-seuranta", "MFA tracking",
        (
            Use("list_users_bulk", "peilaa käyttäjät (koulu, rooli, käytössä)", "mirror users (school, role, enabled)"),
            Use("list_group_members_bulk", "lukee henkilökunta-, oppilas- ja poissulkuryhmät",
                "read staff, pupil and exclusion groups"),
            Use("list_registration_details_bulk", "lukee MFA-rekisteröintiraportin (vaatii Entra ID P1/P2)",
                "read the MFA registration report (needs Entra ID P1/P2)"),
            Use("list_authentication_methods", "lukee käyttäjien menetelmät yksitellen, kun raporttia ei ole "
                "(ei P1-lisenssiä)", "read users' methods one by one where there is no report (no P1)"),
            Use("list_sign_ins", "lukee kirjautumiset: käytetäänkö MFA:ta (vaatii P1/P2)",
                "read sign-ins: is MFA used (needs P1/P2)"),
        ),
        "MFA-luvut puuttuvat tältä kunnalta", "this municipality has no MFA numbers",
        _always,
    ),
    Feature(
        "single_login", "Yhden tunnuksen kattavuus", "Single-login coverage",
        (
            Use("list_users_bulk", "peilaa henkilökunnan tunnukset", "mirror staff accounts"),
            Use("list_group_members_bulk", "lukee henkilökuntaryhmät", "read staff groups"),
            Use("list_sign_ins", "lukee, mihin sovelluksiin kirjaudutaan (vaatii P1/P2)",
                "read which applications people sign in to (needs P1/P2)"),
            Use("list_service_principals", "lukee sovellusten kertakirjautumistavan",
                "read the applications' single-sign-on mode"),
        ),
        "kattavuusraportti puuttuu tältä kunnalta", "the coverage report lacks this municipality",
        _always,
    ),
    Feature(
        "notices", "Ilmoitukset rehtoreille", "Notices to principals",
        (
            Use("get_user", "lukee rehtorin sähköpostiosoitteen", "read the principal's e-mail address"),
            Use("send_mail", "lähettää ilmoituksen päättyvistä tunnuksista (rajaa postilaatikkoon)",
                "send notices of ending accounts (restrict it to the sender mailbox)"),
        ),
        "rehtorit eivät saa sähköpostia päättyvistä tunnuksista",
        "principals get no e-mail about ending accounts",
        lambda _s, r: any(m.notification_sender for m in r.municipalities),
    ),
    Feature(
        "helpdesk", "MFA-tukikoodi henkilökunnalle", "MFA helpdesk code for staff",
        (
            Use("get_user", "tarkistaa henkilökunnan jäsenen tunnuksen", "check the staff member's account"),
            Use("get_access_pass_policy", "lukee TAP-käytännön", "read the TAP policy"),
            Use("create_access_pass", "luo TAP-koodin MFA:n uudelleenrekisteröintiin",
                "create a TAP to register MFA again"),
        ),
        "IT-tuki ei voi antaa henkilökunnalle TAP-koodia", "IT support cannot give staff a TAP",
        _always,
    ),
)


def enabled_features(settings: Settings, region: RegionConfig) -> list[Feature]:
    return [f for f in FEATURES if f.enabled(settings, region)]


def permission_names(features: Iterable[Feature]) -> list[str]:
    """Every distinct permission the features need, in a stable order (for a grant list)."""
    seen: dict[str, None] = {}
    for f in features:
        for perm, _ in f.grants():
            seen.setdefault(perm.name, None)
    return list(seen)


def admin_consent_url(tenant_id: str, client_id: str) -> str:
    """Where a tenant's Global Administrator grants the Graph app's permissions (one visit per tenant)."""
    return f"https://login.microsoftonline.com/{tenant_id}/adminconsent?client_id={client_id}"


def markdown_table() -> str:
    """The permission table of ``docs/entra-setup.md`` (between its ``permissions`` markers), generated
    here so the document cannot drift from the code: ``idops entra permissions --markdown``."""
    rows = ["| feature | application permission | needed to | without it |", "|---|---|---|---|"]
    for f in FEATURES:
        for perm, uses in f.grants():
            notes = [n for n in ("Entra ID P1/P2" if perm.premium else "",
                                 f"+ the {perm.directory_role} role" if perm.directory_role else "") if n]
            name = f"`{perm.name}`" + (f" ({', '.join(notes)})" if notes else "")
            why = "; ".join(dict.fromkeys(u.why_en for u in uses))
            rows.append(f"| {f.key} | {name} | {why} | {f.disabled_en} |")
    return "\n".join(rows)
