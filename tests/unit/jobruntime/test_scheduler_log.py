"""The pick-up's expected overlaps are not logged as warnings; a scheduled job's still are."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from idops.jobruntime.scheduler import PICK_UP, quiet_pick_up_overlaps


def skipped(logger: logging.Logger, job_id: str) -> None:
    """What APScheduler 3 logs when a job is due while ``max_instances`` of it run (schedulers/base.py)."""
    job = SimpleNamespace(id=job_id)
    logger.warning('Execution of job "%s" skipped: maximum number of running instances reached (%d)', job, 1)


def test_only_the_pick_ups_overlap_warning_is_dropped(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.apscheduler.scheduler")
    quiet_pick_up_overlaps(logger)
    quiet_pick_up_overlaps(logger)  # installed once
    assert len(logger.filters) == 1
    with caplog.at_level(logging.WARNING, logger=logger.name):
        skipped(logger, PICK_UP)
        skipped(logger, "expire")
        logger.warning("Run time of job %s was missed by %s", SimpleNamespace(id=PICK_UP), "0:00:02")
    assert [r.getMessage().split(" skipped")[0] for r in caplog.records] == [
        "Execution of job \"namespace(id='expire')\"",
        "Run time of job namespace(id='__pick_up_units') was missed by 0:00:02",
    ]
