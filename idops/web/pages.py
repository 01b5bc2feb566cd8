"""The pages' router (included by ``idops.app``): every page, plus the two static files.

Static files are served by a route here rather than a mount, so the pages need no wiring in the
app factory: only files that exist in ``static/`` at start-up, with a content hash as ETag.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Request
from starlette.responses import Response

from idops.web import admin, approvals, bulk, demo, info, mfa, persons, signin, substitutes

STATIC = Path(__file__).parent / "static"
MEDIA_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}

router = APIRouter(include_in_schema=False)
router.include_router(signin.router)
router.include_router(substitutes.router)
router.include_router(mfa.router)
router.include_router(admin.router)
router.include_router(approvals.router)
router.include_router(bulk.router)
router.include_router(persons.router)
router.include_router(info.router)
router.include_router(demo.router)


@cache
def _static_files() -> dict[str, tuple[bytes, str, str]]:
    files = {}
    for path in STATIC.iterdir():
        if path.is_file() and path.suffix in MEDIA_TYPES:
            body = path.read_bytes()
            files[path.name] = (body, MEDIA_TYPES[path.suffix], '"' + hashlib.sha256(body).hexdigest()[:20] + '"')
    return files


@router.get("/static/{name}", name="static")
async def static(name: str, request: Request) -> Response:
    found = _static_files().get(name)
    if found is None:
        return Response(status_code=404)
    body, media_type, etag = found
    headers = {"ETag": etag, "Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)
