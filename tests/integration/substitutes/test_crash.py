"""SIGKILL the worker that provisions requests and runs ``activate``/``expire`` at ≥ 20 random points;
restart it each time; then show the invariant: no account is enabled after its ``ends_at`` plus one
job run, no person has two accounts, no marked account is unknown to idops.

Time: the emulator is served by this test process (its state outlives every child) and the children
share the test database. Both run on the real clock plus an offset: life ``k`` of the worker runs
``k × 6`` minutes "later" (a child reads its offset at start), longer than the provisioning claim
(2 min) and the job lease (120 s here), so a killed life's claims and leases have lapsed for the next.
Requests are submitted over the first 100 minutes and last 30–90 minutes, so every life has
provisioning, activations and expiries to be killed in the middle of.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from idops.emulator.generator import generate_region
from idops.emulator.server import EmulatorServer
from idops.kit.clock import ShiftedClock
from idops.substitutes.access import is_running
from idops.substitutes.models import Status
from tests.integration.substitutes.conftest import load_toml
from tests.integration.substitutes.invariants import Snapshot, audit_problems, duplicates, marked_users, orphans
from tests.integration.substitutes.processes import Worker, child_config

SEED = int(os.environ.get("IDOPS_CRASH_SEED", "4242"))
KILLS = int(os.environ.get("IDOPS_CRASH_KILLS", "24"))
STEP = timedelta(minutes=6)
TAMPERE = ["hervanta", "kaleva", "tammela", "pispala", "lielahti", "vehmainen", "takahuhti", "sammon-koulu"]
GIVEN = ["Aino", "Eero", "Pär", "Liisa", "Nguyễn", "Åsa"]
SURNAMES = ["Äijälä", "Öhman-Ström", "O'Brien", "Korhonen", "Mäkinen"]


@pytest.fixture
def clock() -> ShiftedClock:
    return ShiftedClock()


@pytest.fixture
def emulator(clock: ShiftedClock) -> Iterator[EmulatorServer]:
    state = generate_region(load_toml("region.toml"), load_toml("apps.toml"), seed=7, users_per_tenant=40,
                            now=clock.now(), days_of_signins=1).state
    server = EmulatorServer(state, clock=clock).start()
    server.faults.add_rule("latency", latency_ms=3, jitter_ms=12)  # spreads kill points over Graph calls
    for sku in state.tenant(tampere_tenant()).skus.values():
        sku.enabled_units += 100
    yield server
    server.stop()


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[Worker]:
    w = Worker(tmp_path / "worker.log")
    yield w
    w.close()


def tampere_tenant() -> str:
    return str(load_toml("region.toml")["municipalities"][0]["tenant_id"])


def make_plan(rng: random.Random, t0: datetime, n: int = 30) -> list[dict[str, Any]]:
    plan = []
    for i in range(n):
        submit = t0 + timedelta(minutes=rng.uniform(0, 100))
        starts = submit if i % 3 == 0 else submit + timedelta(minutes=rng.uniform(1, 30))
        ends = starts + timedelta(minutes=rng.uniform(30, 90))
        plan.append({
            "submit_at": submit.isoformat(), "key": f"crash-{SEED}-{i}",
            "body": {"school": f"tampere/{TAMPERE[i % len(TAMPERE)]}", "given_name": GIVEN[i % len(GIVEN)],
                     "surname": SURNAMES[(i // len(GIVEN)) % len(SURNAMES)] + ("-Lahti" if i >= 30 else ""),
                     "starts_at": starts.isoformat(), "ends_at": ends.isoformat()},
        })
    return plan


def check_consistent(emulator: EmulatorServer, database_url: str, expired_up_to: datetime) -> Snapshot:
    """The invariants after a life that ran ``expire`` starting no earlier than ``expired_up_to``."""
    snap = Snapshot.read(database_url)
    tid = tampere_tenant()
    assert duplicates(emulator.state, tid) == {}, "a person has two accounts"
    assert orphans(emulator.state, tid, snap) == [], "marked accounts idops does not track"
    assert audit_problems(snap) == {}
    by_person: dict[str, list[Any]] = {}
    for p in snap.periods:
        by_person.setdefault(p.person_id, []).append(p)
    for person_id, periods in by_person.items():
        person = snap.persons[person_id]
        user = emulator.state.user(tid, person.entra_user_id) if person.entra_user_id else None
        if user is None:
            continue
        if all(p.ends_at <= expired_up_to for p in periods):  # THE invariant
            assert user.account_enabled is False, [(p.status, p.ends_at) for p in periods]
    return snap


@pytest.mark.xdist_group("processes")
def test_killing_the_worker_at_random_points_leaves_no_enabled_expired_account_duplicate_or_orphan(
    worker: Worker, emulator: EmulatorServer, clock: ShiftedClock, clean_db: str, data_dir: Path, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    t0 = datetime.now(UTC)
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(make_plan(rng, t0)))
    config = child_config(clean_db, data_dir)
    started = time.monotonic()

    def life(k: int, kill_after: float | None) -> tuple[int, float]:
        offset = k * STEP
        clock.advance(offset - clock.offset)  # the emulator's clock follows the worker's
        ready = tmp_path / f"ready.{k}"
        pids = worker.launch(mode="crash", plan=str(plan_file), jobs=["activate", "expire"], ready=str(ready),
                             emulator=emulator.base_url, offset_seconds=offset.total_seconds(), config=config)
        [code], worked = worker.wait_or_kill(pids, kill_after if kill_after is not None else 60, ready)
        assert code in (0, -9), worker.log_path.read_text()[-3000:]
        return code, worked

    # Kill points are uniform over the first part of a life's work (after start-up). A life's work takes
    # 0.1–1.2 s depending on the machine's load, so the window follows the lives seen to finish: most
    # lives die somewhere in the middle and some run to the end, on a quiet or a busy machine alike.
    kills, k, durations = 0, 0, []
    window = 0.8
    while kills < KILLS:
        assert k < 3 * KILLS, "the worker kept finishing before it could be killed"
        code, worked = life(k, kill_after=rng.uniform(0.0, window))
        if code == -9:
            kills += 1
        else:
            durations.append(worked)
            window = max(0.05, 0.8 * min(durations))
        k += 1
    lives = k

    # One life that is not killed: afterwards everything due has been handled.
    expire_from = datetime.now(UTC) + k * STEP
    assert life(k, kill_after=None)[0] == 0
    snap = check_consistent(emulator, clean_db, expire_from)
    now = datetime.now(UTC) + k * STEP
    stuck = [p for p in snap.periods if p.status in (Status.REQUESTED, Status.PROVISIONING)]
    assert stuck == [], [(p.status, p.step, p.last_error) for p in stuck]
    tid = tampere_tenant()
    for p in snap.periods:
        person = snap.persons[p.person_id]
        user = emulator.state.user(tid, person.entra_user_id) if person.entra_user_id else None
        if p.status == Status.ACTIVE:
            assert user is not None and user.account_enabled is True
        elif p.status == Status.SCHEDULED:
            assert user is not None and not is_running(p, now - timedelta(seconds=30))
    mid = snap.by_status()

    # And after every period has ended: one more run and no account is enabled.
    k += 60
    assert life(k, kill_after=None)[0] == 0
    snap = check_consistent(emulator, clean_db, datetime.now(UTC) + k * STEP - timedelta(seconds=5))
    assert set(snap.by_status()) <= {"expired", "failed"}, snap.by_status()
    assert not [u.user_principal_name for u in marked_users(emulator.state, tid) if u.account_enabled]
    elapsed = time.monotonic() - started
    adopted = worker.log_path.read_text().count("lost_account_adopted")
    print(f"\ncrash: {kills} kills in {lives} lives ({len(durations)} ran to the end, "
          f"{adopted} accounts created just before a kill adopted afterwards, "
          f"{max(durations, default=0):.2f} s at most); after recovery {dict(mid)}; "
          f"at the end {dict(Counter(p.status for p in snap.periods))}; {elapsed:.1f} s")
