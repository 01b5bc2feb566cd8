"""Schemathesis against the served OpenAPI document, once per caller kind, with counts.

The app runs under uvicorn on loopback (its own thread and event loop, lifespan included), wired
to the Graph emulator through the real msgraph-sdk adapter. ``fuzz(...)`` walks every operation
with a fixed seed and no example database, and returns per-role counts and failures, so the
bounded CI profile (``tests/integration/fuzz/test_schemathesis.py``) and the long command
(``python -m tests.integration.soak.fuzz``) share one definition of "passes".
"""

from __future__ import annotations

import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import hypothesis
import hypothesis.errors
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

PROBLEM = "application/problem+json"
ROLES = ("Principal", "ItAdmin", "RegionAdmin", "anonymous", "invalid-token")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]


@schemathesis.check
def errors_are_problem_json(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx/5xx answer is RFC 9457 ``application/problem+json`` with ``status`` matching the code."""
    if response.status_code < 400:
        return None
    ctype = response.headers.get("content-type", [""])
    ctype = ctype[0] if isinstance(ctype, list) else ctype
    if not ctype.startswith(PROBLEM):
        raise AssertionError(f"{response.status_code} answered with {ctype!r}, not {PROBLEM}")
    body = response.json()
    if body.get("status") != response.status_code or not body.get("title"):
        raise AssertionError(f"problem body does not match the status: {body}")
    if response.status_code in (429, 503) and not response.headers.get("retry-after"):
        raise AssertionError(f"{response.status_code} without Retry-After")
    return None


@dataclass
class RoleResult:
    role: str
    cases: int = 0
    operations: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def line(self) -> str:
        codes = " ".join(f"{k}:{v}" for k, v in sorted(self.statuses.items()))
        return (f"{self.role:<14} operations={self.operations:<3} cases={self.cases:<6} "
                f"failures={len(self.failures):<3} statuses[{codes}]")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def served(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on 127.0.0.1 in a thread; yield its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on", access_log=False))
    thread = threading.Thread(target=server.run, name="fuzz-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def fuzz(base_url: str, headers_for: Callable[[str], dict[str, str]], *, roles: tuple[str, ...] = ROLES,
         max_examples: int = 10, seed: int = 20261130, progress: Callable[[str], None] | None = None,
         ) -> list[RoleResult]:
    """Run every operation of the served schema for each role, with schema-valid data (half of it steered
    to a real school and to substitute ids that exist, so success paths run too) and with schema-violating
    data (which must be rejected with a 4xx). Failures are strings with a curl reproducer."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    operations = [r.ok() for r in schema.get_all_operations()]
    results = []
    for role in roles:
        result = RoleResult(role)
        headers = headers_for(role)
        known_ids: list[str] = []
        for op in operations:
            result.operations += 1
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                _fuzz_operation(op, mode, headers, result, known_ids, max_examples, seed)
        if progress:
            progress(result.line())
        results.append(result)
    return results


SCHOOL = "tampere/hervanta"


def _steer(case: Any, known_ids: list[str], pick: int) -> None:
    """Point a generated valid case at data that exists: the role's school, near-future times, a real id."""
    now = datetime.now(UTC)
    if case.method == "POST" and case.path == "/v1/substitutes" and isinstance(case.body, dict):
        case.body["school"] = SCHOOL
        case.body["starts_at"] = (now + timedelta(minutes=pick % 90)).isoformat()
        case.body["ends_at"] = (now + timedelta(days=1 + pick % 20)).isoformat()
        case.body.pop("person_id", None)
    if case.method == "PATCH" and isinstance(case.body, dict):
        case.body["ends_at"] = (now + timedelta(days=pick % 40)).isoformat()
    if case.path_parameters and "substitute_id" in case.path_parameters and known_ids:
        case.path_parameters["substitute_id"] = known_ids[pick % len(known_ids)]
    if case.query and "school" in case.query:
        case.query["school"] = SCHOOL


def _fuzz_operation(op: Any, mode: GenerationMode, headers: dict[str, str], result: RoleResult,
                    known_ids: list[str], max_examples: int, seed: int) -> None:
    checks = [*CHECKS, errors_are_problem_json]
    if mode is GenerationMode.NEGATIVE:
        checks = [not_a_server_error, negative_data_rejection, errors_are_problem_json, content_type_conformance]

    @given(case=op.as_strategy(generation_mode=mode), steer=st.integers(min_value=-1, max_value=10_000))
    @settings(max_examples=max_examples, deadline=None, database=None, derandomize=False,
              phases=[Phase.explicit, Phase.generate, Phase.shrink],
              suppress_health_check=list(HealthCheck), print_blob=False)
    @hypothesis.seed(seed)
    def run(case: Any, steer: int) -> None:
        result.cases += 1
        if mode is GenerationMode.POSITIVE and steer >= 0:
            _steer(case, known_ids, steer)
        merged = {**(case.headers or {}), **headers}
        if "Authorization" not in headers:
            merged.pop("Authorization", None)
        response = case.call(headers=merged, timeout=60)
        result.statuses[response.status_code] = result.statuses.get(response.status_code, 0) + 1
        if response.status_code in (200, 201) and case.path == "/v1/substitutes" and case.method == "POST":
            known_ids.append(response.json()["id"])
        case.validate_response(response, checks=checks)

    try:
        run()
    except (KeyboardInterrupt, SystemExit):
        raise
    except hypothesis.errors.Unsatisfiable:
        return  # nothing in this operation can be made schema-violating (e.g. no parameters at all)
    except BaseException as exc:  # one failure per operation and mode is enough to report; keep going
        text = "".join(traceback.format_exception_only(exc)) if isinstance(exc, BaseExceptionGroup) else (
            "".join(traceback.format_exception(exc)))
        result.failures.append(_mask(f"{op.label} [{mode.value}]: {text}", headers))


def _mask(text: str, headers: dict[str, str]) -> str:
    auth = headers.get("Authorization", "")
    token = auth.partition(" ")[2]
    return text.replace(token, "[token]") if len(token) > 8 else text


@contextmanager
def fuzz_environment(data_dir: Any, database_url: str, *, users_per_tenant: int = 50,
                     **overrides: Any) -> Iterator[tuple[str, Callable[[str], dict[str, str]]]]:
    """The app (real adapter → emulator over HTTP, migrated database) served on loopback, and a
    ``headers_for(role)`` that makes a demo token for each caller kind."""
    from idops.app import create_app
    from idops.auth.demo import DemoSigner, demo_claims
    from idops.bootstrap import bootstrap
    from idops.config import load_config
    from idops.emulator.generator import generate_region
    from idops.emulator.server import EmulatorServer
    from idops.migrations import upgrade
    from tests.conftest import CONFIG_DIR
    from tests.integration.substitutes.conftest import load_toml

    upgrade(database_url)
    config = load_config(
        CONFIG_DIR, demo=True, data_dir=data_dir, database={"url": database_url}, scheduler={"enabled": False},
        logging={"format": "json", "level": "WARNING"},
        graph={"max_backoff_seconds": 0.2, "replication_wait_seconds": 2.0, "max_retries": 3},
        **overrides,
    )
    state = generate_region(load_toml("region.toml"), load_toml("apps.toml"), seed=11,
                            users_per_tenant=users_per_tenant, now=datetime.now(UTC), days_of_signins=1).state
    emulator = EmulatorServer(state).start()
    signer = DemoSigner.load_or_create(config.resolve_path(config.settings.data_dir))

    def headers_for(role: str) -> dict[str, str]:
        now = datetime.now(UTC)
        if role == "anonymous":
            return {}
        if role == "invalid-token":
            claims = demo_claims(config, role="RegionAdmin", now=now)
            token = signer.sign(claims)
            return {"Authorization": f"Bearer {token[:-6]}AAAAAA"}  # signature no longer matches
        kw = {"Principal": {"school": "tampere/hervanta"}, "ItAdmin": {"municipality": "tampere"}}.get(role, {})
        return {"Authorization": f"Bearer {signer.sign(demo_claims(config, role=role, now=now, **kw))}"}

    app = create_app(config, container_factory=lambda: bootstrap(config, graph_base_url=emulator.base_url))
    try:
        with served(app) as base_url:
            yield base_url, headers_for
    finally:
        emulator.stop()
