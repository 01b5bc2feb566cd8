"""Imports every table so ``Base.metadata`` is complete (Alembic, tests, create_all)."""

from idops.audit.models import AuditEvent
from idops.coverage.models import SingleLoginReport
from idops.directory.models import DirectoryMembership, DirectoryUserRow
from idops.jobruntime.models import JobLease, JobRun
from idops.mfa.models import MfaSnapshot
from idops.sessions.models import OneShotToken, WebSession
from idops.signins.models import SignInDaily, SignInIngestion
from idops.substitutes.models import IdempotencyRecord, OrphanAccount, SubstitutePeriod, SubstitutePerson

__all__ = [
    "AuditEvent",
    "DirectoryMembership",
    "DirectoryUserRow",
    "IdempotencyRecord",
    "JobLease",
    "JobRun",
    "MfaSnapshot",
    "OneShotToken",
    "OrphanAccount",
    "SignInDaily",
    "SignInIngestion",
    "SingleLoginReport",
    "SubstitutePeriod",
    "SubstitutePerson",
    "WebSession",
]
