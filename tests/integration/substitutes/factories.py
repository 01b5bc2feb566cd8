"""Building many substitute accounts fast: straight into the database and the emulator's state."""

from __future__ import annotations

from datetime import datetime, timedelta

from idops.container import Container
from idops.emulator.state import EmulatorState
from idops.kit.db import new_id
from idops.substitutes.models import ProvisionStep, Status, SubstitutePeriod, SubstitutePerson
from tests.integration.substitutes.conftest import SCHOOL
from tests.integration.substitutes.invariants import MARKER


async def make_due_accounts(c: Container, state: EmulatorState, n: int, *, ends_at: datetime,
                            school_key: str = SCHOOL) -> tuple[list[str], int]:
    """``n`` running accounts (one person, one active period each) at ``school_key`` ending at ``ends_at``;
    returns the Entra user ids and the Graph operations expiring one of them takes."""
    found = c.config.region.school(school_key)
    assert found is not None
    municipality, school = found
    tid = municipality.tenant_id
    created = ends_at - timedelta(days=1)
    tenant = state.tenant(tid)
    for sku in school.licence_sku_ids:
        tenant.skus[sku].enabled_units += n
    user_ids = []
    async with c.database.session() as s:
        for i in range(n):
            pid, upn = new_id(), f"bulk.{i}.{new_id()[:6]}@{municipality.upn_domain}"
            user = state.add_user(
                tid, upn, f"Bulk {i} (sijainen)", account_enabled=True, employee_id=pid, employee_type="Sijainen",
                ext={MARKER[0]: MARKER[1]}, licenses=tuple((k, ()) for k in school.licence_sku_ids),
            )
            for gid in school.substitute_group_ids:
                tenant.groups[gid].members[user.id] = None
            user_ids.append(user.id)
            s.add(SubstitutePerson(
                id=pid, tenant_id=tid, municipality=municipality.key, given_name="Bulk", surname=str(i),
                search_name=f"bulk {i}", user_principal_name=upn, mail_nickname=upn.split("@")[0],
                display_name=f"Bulk {i} (sijainen)", entra_user_id=user.id, created_at=created, created_by="test",
            ))
            s.add(SubstitutePeriod(
                person_id=pid, school=school_key, municipality=municipality.key, tenant_id=tid,
                starts_at=created, ends_at=ends_at, original_ends_at=ends_at, status=Status.ACTIVE,
                step=ProvisionStep.DONE, created_at=created, created_by="test", activated_at=created,
            ))
    # disable (PATCH), revoke sessions, each substitute group, one assignLicense for all SKUs
    ops = 1 + 1 + len(school.substitute_group_ids) + 1
    return user_ids, ops
