"""Two expirers at once expire each account exactly once: one ``expired`` audit event per period.

Two layers make that true. The job lease lets only one ``expire`` process run at a time; below it,
every state change is a conditional UPDATE (``WHERE status IN live``), so even two runners that
both got past the lease — or an API revoke racing the job — record each change once.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from idops.config import Config
from idops.container import Container
from idops.emulator.server import EmulatorServer
from idops.kit.clock import FrozenClock
from idops.substitutes.ending import end_access, expire_due
from tests.integration.substitutes.factories import make_due_accounts
from tests.integration.substitutes.invariants import Snapshot
from tests.integration.substitutes.processes import Worker, child_config

UNPACED = 100_000  # writes/s: client-side pacing (tested in tests/unit/graph) would only make this file slow


@pytest.fixture
def sub_config(make_config: Callable[..., Config]) -> Config:
    return make_config(graph={"max_backoff_seconds": 0.2, "replication_wait_seconds": 5.0, "max_retries": 6,
                              "writes_per_second": UNPACED})


def expired_events(database_url: str) -> tuple[Counter[int], Snapshot]:
    """How many periods have 0, 1, 2… ``expired`` events."""
    snap = Snapshot.read(database_url)
    per_period = Counter(snap.events.get(p.id, []).count("expired") for p in snap.periods)
    return per_period, snap


def assert_disabled(emulator: EmulatorServer, tenant_id: str, user_ids: list[str]) -> None:
    for uid in user_ids:
        user = emulator.state.user(tenant_id, uid)
        assert user is not None and user.account_enabled is False and not user.licenses


# ------------------------------------------------------------------------------ in one process, no lease


async def test_two_concurrent_expire_runs_without_a_lease_record_each_expiry_once(
    container: Container, emulator: EmulatorServer, clock: FrozenClock
) -> None:
    user_ids, _ = await make_due_accounts(container, emulator.state, 120, ends_at=clock.now() + timedelta(hours=1))
    clock.advance(timedelta(hours=2))

    a, b = await asyncio.gather(
        expire_due(container.uow(), container, actor="job:a"), expire_due(container.uow(), container, actor="job:b")
    )

    assert a.get("expired", 0) + b.get("expired", 0) == 120
    per_period, snap = expired_events(container.config.settings.database.url)
    assert per_period == {1: 120}
    assert snap.by_status() == {"expired": 120}
    assert_disabled(emulator, snap.periods[0].tenant_id, user_ids)


async def test_two_concurrent_end_access_calls_on_the_same_periods_record_each_once(
    container: Container, emulator: EmulatorServer, clock: FrozenClock
) -> None:
    await make_due_accounts(container, emulator.state, 60, ends_at=clock.now() + timedelta(minutes=5))
    clock.advance(timedelta(minutes=6))
    ids = [p.id for p in Snapshot.read(container.config.settings.database.url).periods]

    results = await asyncio.gather(
        *(end_access(container.uow(), container, ids, actor=f"caller:{i}") for i in range(3))
    )

    assert sum(r.get("expired", 0) for r in results) == 60
    per_period, _ = expired_events(container.config.settings.database.url)
    assert per_period == {1: 60}


# ------------------------------------------------------------------------------ two processes


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    w = Worker(tmp_path_factory.mktemp("worker") / "worker.log")
    yield w
    w.close()


def outputs(out: Path, n: int) -> list[dict[str, object]]:
    return [json.loads(Path(f"{out}.{i}").read_text()) for i in range(n)]


@pytest.mark.xdist_group("processes")
async def test_two_expire_processes_at_once_expire_each_account_exactly_once(
    worker: Worker, container: Container, emulator: EmulatorServer, clean_db: str, data_dir: Path, tmp_path: Path
) -> None:
    """Through the job runner: one process holds the lease and expires everything, the other skips."""
    user_ids, _ = await make_due_accounts(container, emulator.state, 200,
                                          ends_at=datetime.now(UTC) - timedelta(minutes=1))
    out = tmp_path / "out"
    worker.launch(mode="jobs", jobs=["expire"], copies=2, start_at=time.time() + 1.5, emulator=emulator.base_url,
                  config=child_config(clean_db, data_dir, writes_per_second=UNPACED), out=str(out))
    assert worker.wait() == [0, 0], worker.log_path.read_text()[-3000:]

    runs = sorted((o["expire"]["outcome"], o["expire"]["counts"]) for o in outputs(out, 2))  # type: ignore[index]
    assert runs == [("skipped", {}), ("succeeded", {"expired": 200})]
    per_period, snap = expired_events(clean_db)
    assert per_period == {1: 200}
    assert_disabled(emulator, snap.periods[0].tenant_id, user_ids)


@pytest.mark.xdist_group("processes")
async def test_two_processes_expiring_without_the_lease_still_expire_each_account_once(
    worker: Worker, container: Container, emulator: EmulatorServer, clean_db: str, data_dir: Path, tmp_path: Path
) -> None:
    """The layer below the lease, across processes: both see all 200 due, both call Graph, the
    database lets only one of them record each expiry."""
    user_ids, _ = await make_due_accounts(container, emulator.state, 200,
                                          ends_at=datetime.now(UTC) - timedelta(minutes=1))
    out = tmp_path / "out"
    worker.launch(mode="expire_direct", copies=2, start_at=time.time() + 1.5, emulator=emulator.base_url,
                  config=child_config(clean_db, data_dir, writes_per_second=UNPACED), out=str(out))
    assert worker.wait() == [0, 0], worker.log_path.read_text()[-3000:]

    counts = [o["counts"] for o in outputs(out, 2)]
    assert sum(c.get("expired", 0) for c in counts) == 200, counts  # type: ignore[attr-defined]
    per_period, snap = expired_events(clean_db)
    assert per_period == {1: 200}
    assert_disabled(emulator, snap.periods[0].tenant_id, user_ids)
