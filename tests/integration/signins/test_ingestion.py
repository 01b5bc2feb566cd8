"""Sign-in ingestion: watermark, crash safety, non-premium tenants, window shrinking, MFA usage."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import unquote

import pytest

from idops.emulator.server import EmulatorServer
from idops.graph.errors import GraphThrottled
from idops.graph.port import SignIn
from idops.signins.repository import SignInRepository
from idops.signins.service import IngestOptions, ingest, utc_day
from idops.uow import UnitOfWork
from tests.integration.signins.conftest import TENANT, Provider

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
APP = "d6fee0fb-bff2-53b7-9e96-dd64433598e6"
OTHER_APP = "0e5a6b1c-3f2d-4b8e-9a61-5c1d2e3f4a01"
OPTS = IngestOptions(backfill=timedelta(days=4), lag=timedelta(0), chunk=timedelta(days=1))
# The crash tests read one window at a time, so "the crash happens in the 3rd window" is deterministic;
# with windows read ahead the commits take the same path, in the same order.
SERIAL = IngestOptions(backfill=timedelta(days=4), lag=timedelta(0), chunk=timedelta(days=1), windows_in_flight=1)


def seed(emulator: EmulatorServer) -> dict[str, Any]:
    """Two users; sign-ins on Nov 17, 18, 19 and 20 (before noon). Returns the users."""
    st = emulator.state
    anna = st.add_user(TENANT, "anna@koulu.example.fi", "Anna")
    ben = st.add_user(TENANT, "ben@koulu.example.fi", "Ben")
    for day, hours in ((17, (8, 9, 13)), (18, (7, 22)), (19, (10,)), (20, (6, 9, 11))):
        for h in hours:
            st.add_signin(TENANT, anna, APP, "Microsoft 365", datetime(2026, 11, day, h, 0, tzinfo=UTC), mfa=h % 2 == 0)
    st.add_signin(TENANT, ben, OTHER_APP, "Quizlet", datetime(2026, 11, 18, 12, 0, tzinfo=UTC))
    st.add_signin(TENANT, ben, OTHER_APP, "Quizlet", datetime(2026, 11, 18, 12, 5, tzinfo=UTC), error_code=50126)
    return {"anna": anna, "ben": ben}


async def per_day(uow: UnitOfWork) -> dict[date, int]:
    async with uow:
        return await uow.signins.counts_for_days(TENANT)


async def mfa_usage(uow: UnitOfWork, since: datetime) -> dict[str, tuple[int, int]]:
    """User id → (interactive sign-ins, MFA-satisfied ones) on UTC days from ``since``'s day on."""
    return await uow.signins.usage_by_user(TENANT.lower(), utc_day(since))


async def signins_available(uow: UnitOfWork) -> bool | None:
    """True: the sign-in log was read; False: it refused (non-premium); None: never asked."""
    state = await uow.signins.get_state(TENANT.lower())
    return None if state is None else state.available


def signin_requests(emulator: EmulatorServer) -> list[str]:
    return [unquote(e.query) for e in emulator.log.snapshot() if e.path.endswith("/auditLogs/signIns")]


EXPECTED = {date(2026, 11, 17): 3, date(2026, 11, 18): 4, date(2026, 11, 19): 1, date(2026, 11, 20): 3}


async def test_first_run_reads_the_backfill_and_aggregates_per_day_user_and_app(
    uow: UnitOfWork, emulator: EmulatorServer, provider: Provider
) -> None:
    users = seed(emulator)
    result = await ingest(uow, provider, [TENANT], NOW, OPTS)
    assert result.counts()["failed"] == 0
    assert result.tenants[0].sign_ins == 11
    assert await per_day(uow) == EXPECTED
    async with uow:
        usage = await mfa_usage(uow, NOW - timedelta(days=30))
        assert usage[users["anna"].id] == (9, 4)  # those at 8, 22, 10 and 6 o'clock satisfied MFA
        assert usage[users["ben"].id] == (2, 0)  # the failed attempt is an interactive sign-in too
        assert await mfa_usage(uow, datetime(2026, 11, 20, tzinfo=UTC)) == {users["anna"].id: (3, 1)}
        assert await signins_available(uow) is True
        state = await uow.signins.get_state(TENANT)
        assert state is not None and state.watermark == NOW


async def test_a_run_a_day_later_reads_only_the_new_window(
    uow: UnitOfWork, emulator: EmulatorServer, provider: Provider
) -> None:
    users = seed(emulator)
    await ingest(uow, provider, [TENANT], NOW, OPTS)
    first = len(signin_requests(emulator))
    emulator.log.clear()
    emulator.state.add_signin(TENANT, users["ben"], APP, "Microsoft 365", NOW + timedelta(hours=13))  # Nov 21 01:00
    await ingest(uow, provider, [TENANT], NOW + timedelta(days=1), OPTS)
    second = signin_requests(emulator)
    # the new window is [Nov 20 12:00, Nov 21 12:00): one request, nothing before the watermark
    assert len(second) == 1, second
    assert "createdDateTime ge 2026-11-20T12:00:00Z" in second[0]
    assert first > len(second)
    assert await per_day(uow) == {**EXPECTED, date(2026, 11, 21): 1}


class Crashing:
    """Delegates to a real directory; ``list_sign_ins`` dies after ``pages`` pages of call ``call``."""

    def __init__(self, inner: Any, call: int, pages: int, exc: BaseException) -> None:
        self.inner, self.call, self.pages, self.exc, self.calls = inner, call, pages, exc, 0

    async def list_sign_ins(self, start: datetime, end: datetime) -> AsyncIterator[list[SignIn]]:
        self.calls += 1
        n = 0
        async for page in self.inner.list_sign_ins(start, end):
            if self.calls == self.call and n == self.pages:
                raise self.exc
            n += 1
            yield page


@pytest.mark.parametrize("exc", [RuntimeError("process killed"), asyncio.CancelledError()])
async def test_a_crash_between_pages_neither_loses_nor_double_counts_a_day(
    uow: UnitOfWork, emulator: EmulatorServer, provider: Provider, exc: BaseException
) -> None:
    seed(emulator)
    # windows: [16th 12:00, 17th 12:00), [17th 12:00, 18th 12:00), [18th 12:00, 19th 12:00) … — die in the
    # 3rd (4 rows, 2 per page) after its first page
    crashing = Provider({TENANT: Crashing(provider.for_tenant(TENANT), call=3, pages=1, exc=exc)})
    with pytest.raises(type(exc)):
        await ingest(uow, crashing, [TENANT], NOW, SERIAL)
    # the first two windows: 17th 8:00, 9:00, 13:00 and 18th 7:00; nothing of the third
    assert await per_day(uow) == {date(2026, 11, 17): 3, date(2026, 11, 18): 1}
    async with uow:
        state = await uow.signins.get_state(TENANT)
        assert state is not None and state.watermark == datetime(2026, 11, 18, 12, tzinfo=UTC)
    await ingest(uow, provider, [TENANT], NOW, OPTS)
    assert await per_day(uow) == EXPECTED


async def test_a_crash_inside_the_commit_rolls_back_counts_and_watermark_together(
    uow: UnitOfWork, emulator: EmulatorServer, provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(emulator)
    real = SignInRepository.add_counts
    calls = {"n": 0}

    async def dying(self: SignInRepository, tenant_id: str, counts: Any) -> int:
        calls["n"] += 1
        written = await real(self, tenant_id, counts)
        if calls["n"] == 3:
            raise RuntimeError("killed after writing counts, before commit")
        return written

    monkeypatch.setattr(SignInRepository, "add_counts", dying)
    with pytest.raises(RuntimeError):
        await ingest(uow, provider, [TENANT], NOW, OPTS)
    assert await per_day(uow) == {date(2026, 11, 17): 3, date(2026, 11, 18): 1}
    monkeypatch.setattr(SignInRepository, "add_counts", real)
    await ingest(uow, provider, [TENANT], NOW, OPTS)
    await ingest(uow, provider, [TENANT], NOW, OPTS)  # re-running when up to date adds nothing
    assert await per_day(uow) == EXPECTED


async def test_a_non_premium_tenant_is_no_sign_in_data_not_a_failure(
    uow: UnitOfWork, emulator: EmulatorServer, provider: Provider
) -> None:
    seed(emulator)
    emulator.state.set_premium(TENANT, False)
    result = await ingest(uow, provider, [TENANT], NOW, OPTS)
    counts = result.counts()
    assert counts["unavailable"] == 1 and counts["failed"] == 0
    async with uow:
        assert await signins_available(uow) is False
        state = await uow.signins.get_state(TENANT)
        assert state is not None and "Authentication_RequestFromNonPremiumTenantOrB2CTenant" in (state.last_error or "")
    emulator.state.set_premium(TENANT, True)  # a licence is bought: the next run reads everything
    await ingest(uow, provider, [TENANT], NOW, OPTS)
    assert await per_day(uow) == EXPECTED
    async with uow:
        assert await signins_available(uow) is True


class ThrottledOverSixHours:
    """Graph keeps answering 429 for windows longer than 6 hours (as the docs warn it may)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.windows: list[timedelta] = []

    async def list_sign_ins(self, start: datetime, end: datetime) -> AsyncIterator[list[SignIn]]:
        self.windows.append(end - start)
        if end - start > timedelta(hours=6):
            raise GraphThrottled("throttled", status=429, code="TooManyRequests")
        async for page in self.inner.list_sign_ins(start, end):
            yield page


async def test_throttling_shrinks_the_window_and_still_reads_everything(
    uow: UnitOfWork, emulator: EmulatorServer, provider: Provider
) -> None:
    seed(emulator)
    throttled = ThrottledOverSixHours(provider.for_tenant(TENANT))
    result = await ingest(uow, Provider({TENANT: throttled}), [TENANT], NOW, OPTS)
    assert result.counts()["failed"] == 0
    assert result.tenants[0].shrinks == 2  # 1 day → 12 h → 6 h, then 6 h for the rest of the run
    # two windows are read at a time: two of 1 day, two of 12 h, then never more than 6 h
    assert throttled.windows[:4] == [timedelta(days=1)] * 2 + [timedelta(hours=12)] * 2
    assert max(throttled.windows[4:]) <= timedelta(hours=6)
    assert await per_day(uow) == EXPECTED


async def test_throttling_that_never_ends_fails_the_tenant_and_keeps_the_watermark(
    uow: UnitOfWork, emulator: EmulatorServer, provider: Provider
) -> None:
    seed(emulator)
    opts = IngestOptions(backfill=timedelta(days=4), lag=timedelta(0), chunk=timedelta(days=1),
                         min_chunk=timedelta(hours=12))
    result = await ingest(uow, Provider({TENANT: ThrottledOverSixHours(provider.for_tenant(TENANT))}),
                          [TENANT], NOW, opts)
    assert result.counts()["failed"] == 1
    async with uow:
        state = await uow.signins.get_state(TENANT)
        assert state is not None and state.watermark == NOW - timedelta(days=4) and state.last_error


async def test_longer_windows(
    uow: UnitOfWork, emulator: EmulatorServer, provider: Provider
) -> None:
    seed(emulator)
    opts = IngestOptions(backfill=timedelta(days=4), lag=timedelta(0), chunk=timedelta(days=3))
    await ingest(uow, provider, [TENANT], NOW, opts)
    windows = [q for q in signin_requests(emulator) if "skiptoken" not in q.lower()]
    assert len(windows) == 2  # [16th 12:00, 19th 12:00) and [19th 12:00, 20th 12:00)
    assert await per_day(uow) == EXPECTED


class Slow:
    """Delegates to a real directory, ``delay`` seconds per page (Graph takes seconds per page); records
    how many windows were being read at once."""

    def __init__(self, inner: Any, delay: float) -> None:
        self.inner, self.delay = inner, delay
        self.reading = self.peak = 0

    async def list_sign_ins(self, start: datetime, end: datetime) -> AsyncIterator[list[SignIn]]:
        self.reading += 1
        self.peak = max(self.peak, self.reading)
        try:
            async for page in self.inner.list_sign_ins(start, end):
                await asyncio.sleep(self.delay)
                yield page
        finally:
            self.reading -= 1


async def test_two_windows_are_read_at_a_time_and_committed_in_order(
    uow: UnitOfWork, emulator: EmulatorServer, provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(emulator)
    committed: list[datetime] = []
    real = SignInRepository.advance_watermark

    async def recording(self: SignInRepository, tenant_id: str, expected: Any, new: datetime, now: datetime) -> bool:
        committed.append(new)
        return await real(self, tenant_id, expected, new, now)

    monkeypatch.setattr(SignInRepository, "advance_watermark", recording)
    slow = Slow(provider.for_tenant(TENANT), delay=0.05)
    result = await ingest(uow, Provider({TENANT: slow}), [TENANT], NOW, OPTS)
    assert slow.peak == 2
    assert committed == [NOW - timedelta(days=4 - i) for i in range(1, 5)]
    assert result.tenants[0].chunks == 4 and result.tenants[0].watermark == NOW
    assert await per_day(uow) == EXPECTED
