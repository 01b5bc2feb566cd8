"""The chaos soak's short profile in CI: the service in a subprocess with its scheduler, SIGKILLed and
restarted, under emulator faults; every safety figure must be zero (see ``tests/integration/soak/soak.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import PG_URL
from tests.integration.soak.soak import PROFILES, run_soak

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("timing"), pytest.mark.timeout(240)]


def test_short_chaos_soak_keeps_every_invariant(
    tmp_path: Path, clean_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # On the PostgreSQL run the service and the checks use the test worker's PostgreSQL database;
    # otherwise the soak keeps its own SQLite file.
    report = run_soak(PROFILES["short"], tmp_path, db_url=clean_db if PG_URL else None)
    with capsys.disabled():
        print("\n" + report.render())
        for example in report.examples:
            print("  example:", example)
    assert report.kills >= 2 and report.restarts == report.kills
    # The load is real but its volume depends on the machine: each kill interrupts what is in flight and a
    # retry after a slow restart may find its (seconds-long) period already ended, a clear 422.
    assert report.operations >= 50 and report.succeeded >= report.operations // 4, report.render()
    assert report.unclear == 0, report.examples
    assert report.late_expiries == 0, "\n".join([*report.examples, *report.diagnostics])
    assert report.duplicates == 0 and report.orphans == 0
    assert report.audit_missing == 0, report.examples
    assert report.secrets_known > 50 and report.secrets_found == 0, report.examples
