"""Language choice: Finnish by default, English on request (``?lang=en``, cookie, Accept-Language)."""

from __future__ import annotations

from starlette.requests import HTTPConnection

SUPPORTED = ("fi", "en")


def language_of(request: HTTPConnection, default: str = "fi") -> str:
    explicit = request.query_params.get("lang") or request.cookies.get("lang")
    if explicit in SUPPORTED:
        return explicit
    header = request.headers.get("accept-language", "")
    best, best_q = None, -1.0
    for part in header.split(","):
        tag, _, params = part.strip().partition(";")
        lang = tag.strip().lower().split("-")[0]
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if lang in SUPPORTED and q > best_q:
            best, best_q = lang, q
    return best or default
