"""Imports every table so ``Base.metadata`` is complete (Alembic, tests, create_all)."""

from idops.jobruntime.models import JobLease, JobRun

__all__ = ["JobLease", "JobRun"]
from idops.coverage.models import SingleLoginReport  # noqa: E402
from idops.signins.models import SignInDaily, SignInIngestion  # noqa: E402

__all__ += ["SignInDaily", "SignInIngestion", "SingleLoginReport"]
from idops.audit.models import AuditEvent
from idops.substitutes.models import IdempotencyRecord, OrphanAccount, SubstitutePeriod, SubstitutePerson

__all__ += ["AuditEvent", "IdempotencyRecord", "OrphanAccount", "SubstitutePeriod", "SubstitutePerson"]
