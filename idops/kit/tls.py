"""The process's one TLS context for outgoing HTTPS (Graph, OIDC, JWKS)."""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default context (certifi's CA bundle, or ``SSL_CERT_FILE``/``_DIR``), built once. Loading the
    CA bundle costs ~0.7 MB and ~0.06–0.1 s, which httpx pays for every client built without ``verify``:
    per tenant, that was +206 MB and ~18 s of start-up for a region of 300 tenants. A context is safe to
    share between clients."""
    return httpx.create_ssl_context()
