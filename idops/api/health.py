"""Liveness, readiness, metrics and (demo only) the JWKS of the demo signing key."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from idops.api.deps import ContainerDep
from idops.kit.errors import NotFound
from idops.migrations import current_revision_matches_head

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: database reachable and migrated", responses={503: {}})
async def readyz(c: ContainerDep) -> JSONResponse:
    checks: dict[str, Any] = {}
    try:
        async with c.database.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
            checks["migrations"] = "ok" if await conn.run_sync(current_revision_matches_head) else "pending"
    except Exception as exc:  # readiness reports, never raises
        checks["database"] = f"error: {type(exc).__name__}"
    ready = checks.get("database") == "ok" and checks.get("migrations") == "ok"
    body = {"status": "ready" if ready else "not ready", "checks": checks}
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request, c: ContainerDep) -> Response:
    refresh = getattr(request.app.state, "refresh_gauges", None)
    if refresh is not None:
        await refresh()
    return Response(generate_latest(c.metrics.registry), media_type=CONTENT_TYPE_LATEST)


demo_router = APIRouter(tags=["demo"], include_in_schema=False)


@demo_router.get("/demo/jwks.json")
async def demo_jwks(c: ContainerDep) -> dict[str, Any]:
    if c.demo_signer is None:
        raise NotFound()
    return c.demo_signer.jwks()
