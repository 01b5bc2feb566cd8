"""Imports every table so ``Base.metadata`` is complete (Alembic, tests, create_all)."""

from idops.jobruntime.models import JobLease, JobRun

__all__ = ["JobLease", "JobRun"]
