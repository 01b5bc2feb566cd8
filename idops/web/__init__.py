"""Server-rendered pages for principals and IT admins (Jinja2, Finnish first, no build step).

The pages call the same services as the API (``idops.substitutes``, ``idops.mfa``,
``idops.coverage``, ``idops.jobruntime``); scoping comes from ``idops.auth.scope.resolve_scope``
applied to the signed-in user's ID-token claims.
"""
