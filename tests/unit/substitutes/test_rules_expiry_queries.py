"""Expiring many periods at once: the reads do not grow with their number (no N+1), the writes are one
conditional UPDATE and one audit row per period, recorded in one transaction, and Graph is asked for
exactly the account changes — nothing read per account.

Graph round trips ($batch of 20) are the adapter's business and are counted against the emulator in
``tests/integration/substitutes/test_round_trips.py`` (1 000 expiries: ≤ 200 batches + one listing); the fake
counts operations, which is what this test holds."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine

from idops.audit.models import AuditEvent
from idops.kit.db import new_id
from idops.substitutes.ending import expire_due
from idops.substitutes.models import ProvisionStep, Status, SubstitutePeriod, SubstitutePerson

if TYPE_CHECKING:
    from idops.graph.fake import FakeUser
    from tests.unit.substitutes.conftest import Substitutes


async def make_running(sub: Substitutes, n: int, *, ends_at: datetime) -> list[FakeUser]:
    """``n`` persons with one active period each at the school, ending at ``ends_at``: written straight
    into the database and the fake (provisioning them one by one would be the slow part of the test)."""
    found = sub.c.config.region.school(sub.SCHOOL)
    assert found is not None
    municipality, _ = found
    st = sub.state()
    for sku in sub.skus():
        st.skus[sku.lower()].enabled_units += n
    started = ends_at - timedelta(days=1)
    users = []
    async with sub.c.uow() as uow:
        for i in range(n):
            person_id, upn = new_id(), f"bulk.{i}.{new_id()[:8]}@{municipality.upn_domain}"
            user = st.add_user(upn, f"Bulk {i} (sijainen)", employee_id=person_id, usage_location="FI",
                               extension_attributes=sub.marker(), licences=list(sub.skus()))
            for gid in sub.groups():
                st.groups[gid.lower()].members[user.id] = None
            users.append(user)
            uow.substitutes.add(SubstitutePerson(
                id=person_id, tenant_id=municipality.tenant_id, municipality=municipality.key, given_name="Bulk",
                surname=str(i), search_name=f"bulk {i}", user_principal_name=upn, mail_nickname=upn.split("@")[0],
                display_name=f"Bulk {i} (sijainen)", entra_user_id=user.id, created_at=started, created_by="test",
            ))
            uow.substitutes.add(SubstitutePeriod(
                person_id=person_id, school=sub.SCHOOL, municipality=municipality.key,
                tenant_id=municipality.tenant_id, starts_at=started, ends_at=ends_at, original_ends_at=ends_at,
                status=Status.ACTIVE, step=ProvisionStep.DONE, created_at=started, created_by="test",
                activated_at=started,
            ))
        await uow.commit()
    return users


@dataclass
class Statements:
    """What the engine sent, each statement with the number of the transaction it ran in."""

    sent: list[tuple[int, str]] = field(default_factory=list)
    commits: Counter[int] = field(default_factory=Counter)
    transaction: int = 0

    def begin(self, conn: Any) -> None:
        self.transaction += 1

    def commit(self, conn: Any) -> None:
        self.commits[self.transaction] += 1

    def cursor(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.sent.append((self.transaction, " ".join(statement.split()[:3]).upper()))

    def count(self, prefix: str) -> int:
        return sum(1 for _, s in self.sent if s.startswith(prefix))

    def transactions_of(self, prefix: str) -> set[int]:
        return {t for t, s in self.sent if s.startswith(prefix)}


async def expire_counted(sub: Substitutes) -> tuple[dict[str, int], Statements]:
    engine: Engine = sub.c.database.engine.sync_engine
    seen = Statements()
    hooks: dict[str, Callable[..., None]] = {
        "begin": seen.begin, "commit": seen.commit, "before_cursor_execute": seen.cursor,
    }
    for name, fn in hooks.items():
        event.listen(engine, name, fn)
    try:
        counts = await expire_due(sub.c.uow(), sub.c)
    finally:
        for name, fn in hooks.items():
            event.remove(engine, name, fn)
    return counts, seen


async def test_expiring_a_thousand_periods_reads_as_few_times_as_ten_and_writes_once_each(sub: Substitutes) -> None:
    figures = {}
    for n in (10, 1000):
        ends_at = sub.clock.now() + timedelta(hours=1)
        users = await make_running(sub, n, ends_at=ends_at)
        sub.clock.advance(timedelta(hours=1, minutes=1))
        calls = Counter(c.operation for c in sub.state().calls)

        counts, seen = await expire_counted(sub)

        assert counts == {"expired": n}
        updates, inserts = seen.count("UPDATE SUBSTITUTE_PERIODS"), seen.count("INSERT INTO AUDIT_EVENTS")
        figures[n] = (seen.count("SELECT"), updates, inserts, len(seen.sent))
        # writes: one conditional UPDATE per period, the audit rows batched, all in ONE transaction
        assert updates == n and 1 <= inserts <= n
        (writes,) = seen.transactions_of("UPDATE") | seen.transactions_of("INSERT")
        assert seen.commits == Counter({writes: 1})
        assert not seen.transactions_of("DELETE")
        async with sub.c.uow() as uow:
            events = await uow.audit.session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "expired"))
        assert events == sum(figures)  # 10, then 10 + 1000: one audit row per expired period
        # Graph: exactly each account's change, nothing read per account
        done = Counter(c.operation for c in sub.state().calls) - calls
        per_account = 2 + len(sub.groups()) + len(sub.skus())  # disable, revoke, each group, each licence
        assert done == Counter({"patch": n, "revoke": n, "remove_group": n * len(sub.groups()),
                                "remove_licence": n * len(sub.skus())})
        assert sum(done.values()) == n * per_account
        assert all(not u.account_enabled and sub.has_none_of(u) for u in users)

    print(f"\nexpire 10 / 1000: (SELECTs, UPDATEs, audit INSERT statements, all statements) = "
          f"{figures[10]} / {figures[1000]}")
    selects_10, selects_1000 = figures[10][0], figures[1000][0]
    # reads: a constant number — the due list and persons, periods and their persons' periods, read by
    # id lists in chunks of 500 (and the loop's second look at the due list when a batch was full)
    assert selects_10 <= 4 and selects_1000 <= 8, figures
