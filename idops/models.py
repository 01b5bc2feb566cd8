"""Imports every table so ``Base.metadata`` is complete (Alembic, tests, create_all)."""

from idops.audit.models import AuditEvent
from idops.coverage.models import SingleLoginReport
from idops.directory.models import DirectoryMembership, DirectoryUserRow
from idops.jobruntime.models import JobLease, JobRun
from idops.mfa.models import MfaSnapshot
from idops.sessions.models import OneShotToken, WebSession
from idops.signins.models import SignInDaily, SignInIngestion
from idops.substitutes.models import IdempotencyRecord, OrphanAccount, SubstitutePeriod, SubstitutePerson
from idops.throttle.models import GraphBudgetRow, RateLimitRow

__all__ = [
    "AuditEvent",
    "DirectoryMembership",
    "DirectoryUserRow",
    "GraphBudgetRow",
    "IdempotencyRecord",
    "JobLease",
    "JobRun",
    "MfaSnapshot",
    "OneShotToken",
    "OrphanAccount",
    "RateLimitRow",
    "SignInDaily",
    "SignInIngestion",
    "SingleLoginReport",
    "SubstitutePeriod",
    "SubstitutePerson",
    "WebSession",
]
