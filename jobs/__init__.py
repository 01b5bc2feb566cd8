"""Job entry points. Each module exposes ``async def run(c: Container, shard: Shard) -> dict[str, int]``
(one unit of a run: a tenant, a municipality or the whole region, see ``jobs.registry``).

A job is idempotent and safe to re-run after a crash at any point; it raises on failure
or returns per-item counts (a ``failed`` count > 0 makes the run "partial").
"""
