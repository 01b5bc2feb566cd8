"""Dependencies of the pages: the signed-in caller, admins only, region admins only.

Pages outside a caller's reach answer 404, exactly like pages that do not exist (as the API does).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from idops.auth.scope import Caller
from idops.container import Container
from idops.kit.errors import NotFound
from idops.web.auth import SignInRequired
from idops.web.render import web


def require_user(request: Request) -> Caller:
    caller = web(request).caller
    if caller is None:
        raise SignInRequired()
    return caller


def require_admin(caller: Annotated[Caller, Depends(require_user)]) -> Caller:
    if not caller.scope.is_admin:
        raise NotFound()
    return caller


def require_region_admin(caller: Annotated[Caller, Depends(require_user)]) -> Caller:
    if caller.scope.role != "RegionAdmin":
        raise NotFound()
    return caller


def container(request: Request) -> Container:
    return web(request).container


UserDep = Annotated[Caller, Depends(require_user)]
AdminDep = Annotated[Caller, Depends(require_admin)]
RegionAdminDep = Annotated[Caller, Depends(require_region_admin)]
WebContainer = Annotated[Container, Depends(container)]
