"""The transaction half of a unit of work, as a protocol.

Each domain names the repositories its services use in a protocol of its own that extends this
one (``SubstitutesUnitOfWork``, ``MfaUnitOfWork``…), so a domain depends on its own repositories
only; ``idops.uow.UnitOfWork`` implements all of them.
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self


class Transactional(Protocol):
    """``async with uow:`` is one transaction; ``commit()`` makes it durable, leaving without it rolls
    back. Not re-entrant; one task at a time (``sibling()`` for concurrent work)."""

    @property
    def is_sqlite(self) -> bool: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    async def flush(self) -> None: ...

    def sibling(self) -> Self: ...

    async def pinned(self) -> Self: ...

    async def close(self) -> None: ...
