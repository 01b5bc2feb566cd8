"""Fixtures of the single-login tests: small helpers that write the directory mirror
(the rows ``sync_mfa`` would write) so each test reads like a description of a region."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

import idops.models  # noqa: F401
from idops.directory.models import DirectoryMembership, DirectoryUserRow


@dataclass
class Person:
    """An account in the mirror: ``schools`` are (municipality, school, role[, excluded_reason])."""

    tenant_id: str
    user_id: str
    name: str
    upn: str
    enabled: bool = True
    employee_id: str | None = None
    mail: str | None = None
    user_type: str = "Member"
    schools: Sequence[tuple[str, ...]] = field(default_factory=list)


async def write_mirror(session: AsyncSession, people: Sequence[Person]) -> None:
    for p in people:
        reason = None if p.enabled else "disabled"
        if reason is None and p.user_type == "Guest":
            reason = "guest"
        session.add(DirectoryUserRow(
            tenant_id=p.tenant_id, user_id=p.user_id, upn=p.upn, display_name=p.name, employee_id=p.employee_id,
            mail=p.mail, account_enabled=p.enabled, user_type=p.user_type, excluded_reason=reason,
            methods_registered=[], sync_run="test",
        ))
        for entry in p.schools:
            muni, school, role = entry[:3]
            why = entry[3] if len(entry) > 3 else reason
            session.add(DirectoryMembership(tenant_id=p.tenant_id, user_id=p.user_id, municipality=muni,
                                            school=school, role=role, excluded_reason=why, sync_run="test"))
    await session.flush()
