"""FastAPI dependencies: the container, a unit of work, and the authenticated caller."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import Depends, Request

from idops.auth.scope import Caller, NoScope, resolve_scope
from idops.auth.tokens import InvalidToken, TokenValidator
from idops.container import Container
from idops.kit.errors import Forbidden, Message, Unauthenticated
from idops.uow import UnitOfWork

log = structlog.get_logger("idops.auth")

_BAD_TOKEN = Message("Tunniste puuttuu tai ei kelpaa.", "The bearer token is missing or invalid.")
_NO_SCOPE = Message(
    "Tunnuksellasi ei ole oikeuksia yhteenkään kouluun tai kuntaan.",
    "Your token grants no access to any school or municipality.",
)
_ADMIN_ONLY = Message("Toiminto on vain pääkäyttäjille.", "Only administrators may do this.")
_REGION_ADMIN_ONLY = Message("Toiminto on vain alueen pääkäyttäjille.", "Only region administrators may do this.")


async def get_container(request: Request) -> Container:
    """``async`` on purpose: FastAPI runs a plain ``def`` dependency in a worker thread, a thread hop
    on every request (more than the rest of a cached response costs)."""
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


async def get_uow(c: ContainerDep) -> UnitOfWork:
    """A fresh unit of work for the request; the service it is passed to opens its transactions."""
    return c.uow()


UowDep = Annotated[UnitOfWork, Depends(get_uow)]


async def get_caller(request: Request, c: ContainerDep) -> Caller:
    cached = getattr(request.state, "caller", None)
    if isinstance(cached, Caller):
        return cached
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(_BAD_TOKEN)
    validator: TokenValidator = request.app.state.token_validator
    try:
        claims = await validator.validate(token.strip())
    except InvalidToken as exc:
        log.info("token_rejected", reason=str(exc))
        raise Unauthenticated(_BAD_TOKEN) from exc
    try:
        scope = resolve_scope(claims, c.config.region, region_admin_tenants=c.config.region_admin_tenants())
    except NoScope as exc:
        raise Forbidden(_NO_SCOPE) from exc
    caller = Caller(
        oid=str(claims["oid"]).lower(), tid=str(claims["tid"]).lower(), roles=frozenset(claims.get("roles", [])),
        scope=scope, name=claims.get("name"), token_id=claims.get("jti"),
    )
    request.state.caller = caller
    request.state.caller_role = scope.role  # for the access log
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]


async def get_admin(caller: CallerDep) -> Caller:
    if not caller.scope.is_admin:
        raise Forbidden(_ADMIN_ONLY)
    return caller


AdminDep = Annotated[Caller, Depends(get_admin)]


async def get_region_admin(caller: CallerDep) -> Caller:
    if caller.scope.role != "RegionAdmin":
        raise Forbidden(_REGION_ADMIN_ONLY)
    return caller


RegionAdminDep = Annotated[Caller, Depends(get_region_admin)]
