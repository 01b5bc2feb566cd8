"""The ``Container``: everything a service, a job or a request handler needs, built once per process
by ``idops.bootstrap`` (the only place that constructs what it holds)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx
from pydantic import SecretStr

from idops.auth.demo import DemoSigner
from idops.auth.tokens import TokenValidator
from idops.config import Config
from idops.graph.port import DirectoryProvider
from idops.jobruntime.spec import JobSpec
from idops.jobruntime.units import RunningUnits
from idops.kit.clock import Clock
from idops.kit.db import Database
from idops.kit.metrics import Metrics
from idops.kit.oidc import StarletteOAuth2App
from idops.kit.ratelimit import RateLimiter
from idops.kit.response_cache import ResponseCache
from idops.substitutes.seats import SeatCache
from idops.substitutes.tenants import LeaveDates, TapPolicies
from idops.uow import UnitOfWork


@dataclass
class Container:
    """Everything a service, a job or a request handler needs, built once per process."""

    config: Config
    clock: Clock
    database: Database
    directories: DirectoryProvider
    metrics: Metrics
    seats: SeatCache
    leave_dates: LeaveDates
    tap_policies: TapPolicies
    rate_limits: RateLimiter  # in process (SQLite) or shared by the deployment's processes (PostgreSQL)
    mfa_responses: ResponseCache
    jobs: Mapping[str, JobSpec]
    holder: str  # this process's name on job leases
    running_units: RunningUnits  # the job units this process works on now
    http: httpx.AsyncClient
    token_validator: TokenValidator
    session_secret: SecretStr | None  # None: pages refuse to sign anyone in (no secret configured)
    demo_signer: DemoSigner | None  # only with demo auth
    oidc: StarletteOAuth2App | None  # the pages' Entra sign-in client, when [web] configures one
    on_close: list[Callable[[], None]] = field(default_factory=list)

    def uow(self) -> UnitOfWork:
        """A fresh unit of work for one caller (a request, a job run, a provisioning attempt)."""
        return UnitOfWork(self.database)

    async def aclose(self) -> None:
        await self.directories.aclose()
        await self.http.aclose()
        await self.database.dispose()
        for stop in self.on_close:
            stop()
