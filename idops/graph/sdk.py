"""The msgraph-sdk adapter: ``GraphDirectory`` (one tenant) and ``GraphDirectoryProvider`` (all of them).

Decisions:
- One ``GraphServiceClient`` per tenant, built once, on our own ``httpx.AsyncClient`` (timeouts,
  connection limits) with msgraph's default middleware and its RetryHandler switched off
  (``max_retries=0``): idops' ``Transport`` retries instead, so the two never multiply.
- Every call goes through the SDK's request adapter (auth, middleware) as raw JSON. Bulk reads stream
  page by page (one page in memory at a time); single-object calls read the same way, which avoids
  the ~1.3 s first-use cost of typed models and gives one error path for plain and ``$batch`` calls.
- Account changes go out as ``$batch`` (``idops.graph.changes``); their answers are judged there.
- Every public operation refuses to run while a database transaction is open (``TransactionOpenError``),
  and so does every request, including later pages of a listing.
- Follow-up calls on an object this directory created less than ``replication_wait_seconds`` ago
  (or with ``just_created=True``) retry Graph's replication-lag 404/400 for that long.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

import httpx
import jwt
import msgspec
import structlog
from kiota_abstractions.authentication import AccessTokenProvider
from kiota_http.middleware.options import RetryHandlerOption
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.graph_request_adapter import options as graph_default_options
from msgraph_core import GraphClientFactory

from idops.config.region import GraphConnection, RegionConfig
from idops.config.settings import GraphSettings
from idops.graph import changes as changes_protocol
from idops.graph import odata, parse
from idops.graph.budget import SharedBudget
from idops.graph.credentials import build_auth_provider
from idops.graph.errormap import error_info
from idops.graph.errors import GraphAuthError, GraphConflict, GraphError, GraphNotFound
from idops.graph.odata import path_id, path_user, query_string
from idops.graph.pacer import Clock, Pacer, Sleep
from idops.graph.port import (
    AccessPass,
    AccountChange,
    BulkMember,
    BulkRegistration,
    BulkUser,
    ChangeResult,
    DirectoryUser,
    ManagedMarker,
    NewUser,
    Page,
    Probe,
    ServicePrincipal,
    SignIn,
    SubscribedSku,
    TapPolicy,
    TokenClaims,
    UserPatch,
)
from idops.graph.retry import RetryPolicy
from idops.graph.transport import GraphMetrics, Transport, json_or_none
from idops.kit.db import assert_no_transaction
from idops.kit.tls import tls_context

log = structlog.get_logger("idops.graph")
T = TypeVar("T")
B = TypeVar("B", BulkUser, BulkMember, BulkRegistration)


class _BulkPage(msgspec.Struct, Generic[B], gc=False):
    """A collection page: its items and the next link (``@odata.context`` and the rest are skipped)."""

    value: list[B] = msgspec.field(default_factory=list)
    next_link: str | None = msgspec.field(default=None, name="@odata.nextLink")


_BULK_USERS = msgspec.json.Decoder(_BulkPage[BulkUser])
_BULK_MEMBERS = msgspec.json.Decoder(_BulkPage[BulkMember])
_BULK_REGISTRATIONS = msgspec.json.Decoder(_BulkPage[BulkRegistration])
_BULK_USER_SELECT = ",".join(f.encode_name for f in msgspec.structs.fields(BulkUser))

_TAP_POLICY_PATH = (
    "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/temporaryAccessPass"
)

#: Each probe's request: one item at most, the fewest properties, nothing written.
_PROBES: dict[Probe, tuple[str, str]] = {
    Probe.USERS: ("/users?$top=1&$select=id", "reads"),
    Probe.GROUPS: ("/groups?$top=1&$select=id", "reads"),
    Probe.SUBSCRIBED_SKUS: ("/subscribedSkus", "reads"),
    Probe.TAP_POLICY: (_TAP_POLICY_PATH, "reads"),
    Probe.REGISTRATION_REPORT: ("/reports/authenticationMethods/userRegistrationDetails?$top=1", "reports"),
    Probe.SIGN_INS: ("/auditLogs/signIns?$top=1", "reports"),
    Probe.SERVICE_PRINCIPALS: ("/servicePrincipals?$top=1&$select=id", "reads"),
}


def build_http_client(settings: GraphSettings) -> httpx.AsyncClient:
    """Our own httpx client: explicit timeouts and connection limits; HTTP/2 where the server offers it."""
    seconds = settings.request_timeout_seconds
    timeout = httpx.Timeout(seconds, connect=min(10.0, seconds))
    limits = httpx.Limits(
        max_connections=settings.max_concurrency_per_tenant * 2,
        max_keepalive_connections=settings.max_concurrency_per_tenant,
    )
    client = httpx.AsyncClient(timeout=timeout, limits=limits, http2=True, trust_env=False, verify=tls_context())
    no_retry = RetryHandlerOption(delay=0.0, max_retries=0, should_retry=False)
    options = {**graph_default_options, no_retry.get_key(): no_retry}
    return GraphClientFactory.create_with_default_middleware(options=options, client=client)


class GraphDirectory:
    """``Directory`` for one tenant over msgraph-sdk. Build with ``create``; close with ``aclose``."""

    def __init__(
        self,
        tenant_id: str,
        *,
        client: GraphServiceClient,
        transport: Transport,
        settings: GraphSettings,
        closers: Sequence[Callable[[], Any]] = (),
        token_provider: AccessTokenProvider | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self.client = client
        self.transport = transport
        self.settings = settings
        self._token_provider = token_provider
        self._closers = list(closers)
        self._recent: dict[str, float] = {}  # id → clock() when this directory created it

    @classmethod
    def create(
        cls,
        tenant_id: str,
        conn: GraphConnection,
        settings: GraphSettings,
        *,
        base_url: str | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        environ: Mapping[str, str] | None = None,
        metrics: GraphMetrics | None = None,
        shared_budget: SharedBudget | None = None,
    ) -> GraphDirectory:
        """Build the client stack for one tenant. Raises ``GraphConfigError`` for bad config/env.

        ``shared_budget``: the deployment's budget the pacer also asks (several processes)."""
        url = (base_url or conn.base_url).rstrip("/")
        auth, credential = build_auth_provider(tenant_id, conn, url, environ=environ)
        http = build_http_client(settings)
        adapter = GraphRequestAdapter(auth, client=http)
        adapter.base_url = url  # no trailing slash, or the SDK builds ".../v1.0//users"
        client = GraphServiceClient(request_adapter=adapter)
        pacer = Pacer.from_settings(
            reports_requests=settings.reports_requests,
            reports_window_seconds=settings.reports_window_seconds,
            writes_per_second=settings.writes_per_second,
            max_concurrency=settings.max_concurrency_per_tenant,
            clock=clock,
            sleep=sleep,
            tenant_id=tenant_id,
            shared=shared_budget,
        )
        transport = Transport(
            tenant_id=tenant_id,
            adapter=adapter,
            base_url=url,
            pacer=pacer,
            policy=RetryPolicy(
                max_retries=settings.max_retries, max_backoff_seconds=settings.max_backoff_seconds
            ),
            replication_wait_seconds=settings.replication_wait_seconds,
            metrics=metrics,
        )
        closers: list[Callable[[], Any]] = [http.aclose]
        if credential is not None:
            closers.append(credential.close)
        return cls(
            tenant_id, client=client, transport=transport, settings=settings, closers=closers,
            token_provider=auth.access_token_provider,
        )

    async def aclose(self) -> None:
        for close in self._closers:
            await close()
        self._closers.clear()

    # ------------------------------------------------------------------------------ helpers

    def _is_recent(self, object_id: str) -> bool:
        created = self._recent.get(object_id.lower())
        if created is None:
            return False
        if self.transport.pacer.clock() - created > self.settings.replication_wait_seconds:
            del self._recent[object_id.lower()]
            return False
        return True

    def _remember(self, object_id: str) -> None:
        now = self.transport.pacer.clock()
        horizon = self.settings.replication_wait_seconds
        for key in [k for k, t in self._recent.items() if now - t > horizon]:
            del self._recent[key]
        self._recent[object_id.lower()] = now

    async def _pages(
        self,
        url: str,
        parse_item: Callable[[Mapping[str, Any]], T],
        *,
        throttle: str = "reads",
        advanced: bool = False,
    ) -> AsyncIterator[list[T]]:
        """Stream a collection's non-empty pages; only the current page is held in memory.

        ``ConsistencyLevel: eventual`` is re-sent on every page (Graph does not carry it to nextLink).
        """
        headers = {"ConsistencyLevel": "eventual"} if advanced else {}
        next_url: str | None = url
        while next_url:
            response = await self.transport.send("GET", next_url, headers=headers, throttle=throttle)
            data = json.loads(response.content)
            del response
            next_url = data.get("@odata.nextLink")
            items = data.get("value") or []
            del data
            if items:
                yield [parse_item(item) for item in items]

    async def _bulk_pages(
        self, url: str, decoder: msgspec.json.Decoder[_BulkPage[B]], *, throttle: str = "reads"
    ) -> AsyncIterator[list[B]]:
        """Each non-empty page decoded straight into bulk rows (``BulkUser`` …): no dict per item."""
        next_url: str | None = url
        while next_url:
            response = await self.transport.send("GET", next_url, throttle=throttle)
            try:
                page = decoder.decode(response.content)
            except msgspec.DecodeError as exc:  # ValidationError included: a property of the wrong type
                raise GraphError(
                    f"malformed page from {urlsplit(next_url).path}: {exc}", status=response.status
                ) from exc
            del response
            next_url = page.next_link
            if page.value:
                yield page.value

    def _top(self, limit: int | None = None) -> int:
        return min(self.settings.page_size, limit) if limit else self.settings.page_size

    # ------------------------------------------------------------------------------ users

    async def create_user(self, user: NewUser) -> DirectoryUser:
        """POST /users. If a *retried* POST meets ObjectConflict, the first attempt probably succeeded:
        return the existing user when it is ours (same mailNickname, displayName and extension
        attributes), else raise ``GraphConflict``."""
        assert_no_transaction("Directory.create_user")
        path_user(user.user_principal_name)  # validate before sending
        body = parse.new_user_to_json(user)
        response = await self.transport.send("POST", "/users", json_body=body, throttle="writes", check=False)
        if 200 <= response.status < 300:
            created = parse.created_user(user, response.json() or {})
            self._remember(created.id)
            return created
        info = error_info(response.status, response.headers, json_or_none(response.content))
        if info.is_object_conflict() and response.attempts > 1:
            existing = await self._lookup_upn_after_conflict(user.user_principal_name)
            if existing is not None and _same_user(existing, user):
                log.info(
                    "graph_create_user_reconciled", tenant=self.tenant_id, user_id=existing.id,
                    attempts=response.attempts,
                )
                self._remember(existing.id)
                return existing
            log.warning("graph_create_user_conflict", tenant=self.tenant_id, attempts=response.attempts)
        raise self.transport.failure("POST", "/users", info, {}, response.attempts - 1)

    async def _lookup_upn_after_conflict(self, upn: str) -> DirectoryUser | None:
        try:
            return await self.get_user(upn, just_created=True)
        except GraphNotFound:
            return None

    async def get_user(self, id_or_upn: str, *, just_created: bool = False) -> DirectoryUser:
        assert_no_transaction("Directory.get_user")
        key = path_user(id_or_upn)
        response = await self.transport.send(
            "GET",
            f"/users/{key}?{query_string({'$select': parse.USER_SELECT})}",
            replication=just_created or self._is_recent(id_or_upn),
        )
        return parse.user_from_json(response.json())

    async def update_user(self, user_id: str, patch: UserPatch, *, just_created: bool = False) -> None:
        """PATCH only the fields set; ``None`` clears a field. An empty patch sends nothing."""
        assert_no_transaction("Directory.update_user")
        if patch.is_empty():
            return
        await self.transport.send(
            "PATCH",
            f"/users/{path_user(user_id)}",
            json_body=parse.patch_to_json(patch),
            throttle="writes",
            replication=just_created or self._is_recent(user_id),
        )

    async def delete_user(self, user_id: str) -> None:
        """Soft delete; a user already gone (404) is success."""
        assert_no_transaction("Directory.delete_user")
        self._recent.pop(user_id.lower(), None)  # a 404 from now on is real, not replication lag
        try:
            await self.transport.send("DELETE", f"/users/{path_user(user_id)}", throttle="writes")
        except GraphNotFound:
            log.info("graph_delete_user_absent", tenant=self.tenant_id, user_id=user_id)

    async def restore_deleted_user(self, user_id: str) -> DirectoryUser:
        assert_no_transaction("Directory.restore_deleted_user")
        response = await self.transport.send(
            "POST", f"/directory/deletedItems/{path_id(user_id)}/restore", throttle="writes"
        )
        return parse.user_from_json(response.json())

    async def purge_deleted_user(self, user_id: str) -> None:
        """DELETE /directory/deletedItems/{id}: gone for good; already purged (404) is success."""
        assert_no_transaction("Directory.purge_deleted_user")
        try:
            await self.transport.send("DELETE", f"/directory/deletedItems/{path_id(user_id)}", throttle="writes")
        except GraphNotFound:
            log.info("graph_purge_user_absent", tenant=self.tenant_id, user_id=user_id)

    def list_managed_users(
        self, marker: ManagedMarker, *, enabled_only: bool = False
    ) -> AsyncIterator[Page[DirectoryUser]]:
        """Users whose ``onPremisesExtensionAttributes/<attribute>`` is the marker: an advanced query
        (``ConsistencyLevel: eventual`` + ``$count``), so the results are eventually consistent."""
        assert_no_transaction("Directory.list_managed_users")
        slot = int(marker.attribute.removeprefix("extensionAttribute"))
        flt = odata.eq(odata.extension_attribute(slot), marker.value)
        if enabled_only:
            flt = odata.and_(flt, odata.eq("accountEnabled", True))
        q = query_string({"$filter": flt, "$select": parse.USER_SELECT, "$top": self._top(), "$count": "true"})
        return self._pages(f"/users?{q}", parse.user_from_json, advanced=True)

    async def apply_account_changes(
        self,
        changes: Sequence[AccountChange],
        *,
        leave_date_allowed: bool = True,
        replication_wait: float = 0.0,
    ) -> dict[str, ChangeResult]:
        """``$batch`` calls of ≤ 20 items, concurrently; see ``idops.graph.changes``."""
        assert_no_transaction("Directory.apply_account_changes")
        return await changes_protocol.apply_account_changes(
            self.transport, changes, leave_date_allowed=leave_date_allowed, replication_wait=replication_wait,
            recent=self._is_recent, recent_horizon=self.settings.replication_wait_seconds,
            sleep=self.transport.pacer.sleep,
        )

    def list_users_bulk(self) -> AsyncIterator[Page[BulkUser]]:
        """Every user, ``$select``ing exactly ``BulkUser``'s properties, page by page (bulk sync)."""
        assert_no_transaction("Directory.list_users_bulk")
        q = query_string({"$select": _BULK_USER_SELECT, "$top": self._top()})
        return self._bulk_pages(f"/users?{q}", _BULK_USERS)

    # ------------------------------------------------------------------------------ groups

    def list_group_members_bulk(self, group_id: str, *, transitive: bool = True) -> AsyncIterator[Page[BulkMember]]:
        """Members' ids and ``@odata.type``, page by page (bulk sync)."""
        assert_no_transaction("Directory.list_group_members_bulk")
        segment = "transitiveMembers" if transitive else "members"
        q = query_string({"$select": "id", "$top": self._top()})
        return self._bulk_pages(f"/groups/{path_id(group_id)}/{segment}?{q}", _BULK_MEMBERS)

    # ------------------------------------------------------------------------------ licences

    async def list_subscribed_skus(self) -> list[SubscribedSku]:
        assert_no_transaction("Directory.list_subscribed_skus")
        out: list[SubscribedSku] = []
        async for page in self._pages("/subscribedSkus", parse.sku_from_json):
            out.extend(page)
        return out

    # ------------------------------------------------------------------------------ credentials

    async def create_access_pass(
        self, user_id: str, *, start: datetime | None, lifetime_minutes: int, usable_once: bool
    ) -> AccessPass:
        """Create a TAP (replacing any existing one). The code exists only in this response.

        Raises ``AccessPassPolicyDisabled`` when the tenant's policy refuses it.
        """
        assert_no_transaction("Directory.create_access_pass")
        body: dict[str, Any] = {"lifetimeInMinutes": int(lifetime_minutes), "isUsableOnce": bool(usable_once)}
        if start is not None:
            body["startDateTime"] = odata.format_datetime(start)
        # An authentication-methods request: Graph counts it in the tenant's "identity and access
        # reports" budget (5 / 10 s with the reports, graph-facts §6 and §10), not as a directory write.
        response = await self.transport.send(
            "POST",
            f"/users/{path_user(user_id)}/authentication/temporaryAccessPassMethods",
            json_body=body,
            throttle="reports",
            replication=self._is_recent(user_id),
        )
        return parse.access_pass_from_json(response.json())

    async def get_access_pass_policy(self) -> TapPolicy:
        assert_no_transaction("Directory.get_access_pass_policy")
        response = await self.transport.send("GET", _TAP_POLICY_PATH)
        return parse.tap_policy_from_json(response.json())

    async def list_authentication_methods(self, user_id: str) -> list[str]:
        """``GET /users/{id}/authentication/methods``, one request per user under the reports budget.

        Not ``$batch``ed, on purpose: per graph-facts §8 ("It does not raise throttling limits: 20 items
        count as 20 requests", Microsoft's JSON batching doc) and §6 (``authenticationMethod`` is under
        the identity & access reports limit, 5 requests / 10 s per app per tenant) a batch of 20 would
        spend 20 of the 5 and come back mostly as per-item 429s. Plain requests paced by the
        ``reports`` budget use it fully with nothing to retry.
        """
        assert_no_transaction("Directory.list_authentication_methods")
        kinds: list[str] = []
        async for page in self._pages(
            f"/users/{path_user(user_id)}/authentication/methods", parse.method_kind, throttle="reports"
        ):
            kinds.extend(page)
        return kinds

    # ------------------------------------------------------------------------------ reports

    def list_registration_details_bulk(self) -> AsyncIterator[Page[BulkRegistration]]:
        """The registration report, page by page (bulk sync; the report has no ``$select``)."""
        assert_no_transaction("Directory.list_registration_details_bulk")
        q = query_string({"$top": self._top()})
        return self._bulk_pages(
            f"/reports/authenticationMethods/userRegistrationDetails?{q}", _BULK_REGISTRATIONS, throttle="reports"
        )

    async def list_sign_ins(self, start: datetime, end: datetime) -> AsyncIterator[Page[SignIn]]:
        """Interactive sign-ins with ``start <= createdDateTime < end`` (Graph's ``le`` is inclusive,
        so rows at exactly ``end`` are dropped here)."""
        assert_no_transaction("Directory.list_sign_ins")
        flt = odata.ge("createdDateTime", start) & odata.le("createdDateTime", end)
        q = query_string({"$filter": flt, "$top": self._top(1000)})
        async for page in self._pages(f"/auditLogs/signIns?{q}", parse.sign_in_from_json, throttle="reports"):
            kept = [s for s in page if s.created_date_time < end]
            if kept:
                yield kept

    def list_service_principals(self) -> AsyncIterator[Page[ServicePrincipal]]:
        assert_no_transaction("Directory.list_service_principals")
        q = query_string({"$select": parse.SP_SELECT, "$top": self._top()})
        return self._pages(f"/servicePrincipals?{q}", parse.service_principal_from_json)

    # ------------------------------------------------------------------------------ mail

    async def send_mail(self, sender: str, to: Sequence[str], subject: str, body_text: str) -> None:
        """sendMail as plain text, not saved to Sent Items. Not retried once Graph may have acted."""
        assert_no_transaction("Directory.send_mail")
        message = {
            "message": {
                "subject": subject,
                "body": {"contentType": "Text", "content": body_text},
                "toRecipients": [{"emailAddress": {"address": addr}} for addr in to],
            },
            "saveToSentItems": False,
        }
        await self.transport.send(
            "POST",
            f"/users/{path_user(sender)}/sendMail",
            json_body=message,
            throttle="writes",
            repeatable=False,
        )

    # ------------------------------------------------------------------------------ onboarding

    async def token_claims(self) -> TokenClaims:
        """The token the credential gives for this tenant's Graph host, read (not verified: a Graph
        token is not ours to validate) for ``tid``, ``appid``/``azp`` and ``roles``."""
        assert_no_transaction("Directory.token_claims")
        if self._token_provider is None:
            raise GraphAuthError("this directory has no token provider", status=None)
        try:
            token = await self._token_provider.get_authorization_token(self.transport.base_url + "/users")
        except Exception as exc:  # azure-identity raises its own types; the check reports them all alike
            raise GraphAuthError(f"no token: {type(exc).__name__}: {exc}", status=None) from exc
        return read_token_claims(token)

    async def probe(self, probe: Probe) -> None:
        assert_no_transaction("Directory.probe")
        path, throttle = _PROBES[probe]
        await self.transport.send("GET", path, throttle=throttle)


def read_token_claims(token: str) -> TokenClaims:
    """Claims of an access token without verifying it: a JWT's ``tid``/``appid``/``roles``, or the
    emulator's ``emu.<tenant_id>``. An empty token (the host is not the credential's) has none."""
    if token.startswith("emu."):
        return TokenClaims(tenant_id=token.removeprefix("emu.").lower())
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return TokenClaims(tenant_id=None)
    roles = claims.get("roles")
    tid, app = claims.get("tid"), claims.get("appid") or claims.get("azp")
    return TokenClaims(
        tenant_id=str(tid).lower() if tid else None,
        app_id=str(app) if app else None,
        roles=frozenset(str(r) for r in roles) if isinstance(roles, list) else frozenset(),
    )


def _same_user(existing: DirectoryUser, new: NewUser) -> bool:
    """Is ``existing`` the user a lost first attempt of ``new`` created? Marker attributes must match."""
    if (existing.mail_nickname or "").lower() != new.mail_nickname.lower():
        return False
    if existing.display_name != new.display_name:
        return False
    return all(existing.extension_attributes.get(k) == v for k, v in new.extension_attributes.items())


# ---------------------------------------------------------------------------------- provider


class GraphDirectoryProvider:
    """Gives the ``GraphDirectory`` of each configured tenant; built once at start-up."""

    def __init__(self, directories: Mapping[str, GraphDirectory]) -> None:
        self._directories = dict(directories)

    @classmethod
    def from_config(
        cls,
        region: RegionConfig,
        settings: GraphSettings,
        *,
        base_url_override: str | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        environ: Mapping[str, str] | None = None,
        metrics: GraphMetrics | None = None,
        shared_budget: SharedBudget | None = None,
    ) -> GraphDirectoryProvider:
        """One directory per tenant of ``region``. ``base_url_override`` points every ``static``
        tenant at a running emulator. Raises ``GraphConfigError`` on bad config or missing env."""
        directories: dict[str, GraphDirectory] = {}
        for tenant_id, conn in region.tenants().items():
            url = base_url_override if (base_url_override and conn.credential == "static") else None
            directories[tenant_id] = GraphDirectory.create(
                tenant_id, conn, settings, base_url=url, clock=clock, sleep=sleep, environ=environ, metrics=metrics,
                shared_budget=shared_budget,
            )
        return cls(directories)

    def for_tenant(self, tenant_id: str) -> GraphDirectory:
        try:
            return self._directories[tenant_id.lower()]
        except KeyError:
            raise LookupError(f"tenant {tenant_id} is not configured") from None

    @property
    def tenant_ids(self) -> list[str]:
        return list(self._directories)

    async def aclose(self) -> None:
        for directory in self._directories.values():
            await directory.aclose()


__all__ = ["GraphConflict", "GraphDirectory", "GraphDirectoryProvider", "GraphError", "build_http_client"]
