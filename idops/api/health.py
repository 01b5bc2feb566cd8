"""Liveness, readiness, metrics and (demo only) the JWKS of the demo signing key."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from idops.api.deps import ContainerDep
from idops.kit.errors import Message, NotFound, Unauthenticated
from idops.kit.metrics import metrics_token, token_ok
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


_METRICS_TOKEN = Message("Mittarit vaativat tunnisteen.", "Metrics need the scrape bearer token.")


@router.get(
    "/metrics",
    summary="Prometheus metrics (from memory; who may read them: [api] metrics)",
    response_class=Response,
    responses={401: {}, 404: {}},
)
async def metrics(request: Request, c: ContainerDep) -> Response:
    """``[api] metrics``: ``public`` answers anyone, ``token`` only ``Authorization: Bearer`` with the
    value of ``$IDOPS_METRICS_TOKEN`` (``[api] metrics_token_env``), ``off`` nobody (404). Nothing here
    queries the database: every family is kept up to date where its events happen."""
    access = c.config.metrics_access()
    if access == "off":
        raise NotFound()
    if access == "token":
        expected = metrics_token(c.config.settings.api.metrics_token_env)
        if not token_ok(request.headers.get("authorization"), expected):
            raise Unauthenticated(_METRICS_TOKEN)
    return Response(c.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


demo_router = APIRouter(tags=["demo"], include_in_schema=False)


@demo_router.get("/demo/jwks.json")
async def demo_jwks(c: ContainerDep) -> dict[str, Any]:
    if c.demo_signer is None:
        raise NotFound()
    return c.demo_signer.jwks()
