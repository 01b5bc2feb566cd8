"""The security probes: the tests that attack idops' boundaries, run together and counted per family —
the "security probes" table of RELIABILITY.md.

    .venv/bin/python -m tests.security_probes [pytest args]

Each family lists pytest node-id patterns (``fnmatch``; the first family that matches a test owns it).
A case is one pytest item; several items try many requests each (the scope matrices try every
endpoint, the CSRF probe every page form four ways). Exit status 1 when a case fails or a pattern
matches nothing (a renamed test must not drop out of the table unnoticed).
"""

from __future__ import annotations

import fnmatch
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent

#: family -> (what it attacks, node-id patterns)
FAMILIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "JWT": ("bearer tokens: expired, not yet valid, wrong audience/issuer/tenant, alg none, HS256 with the "
            "public key, tampered, unknown kid, garbage, no roles", (
                "tests/integration/auth/test_auth.py::*",
            )),
    "demo outside --demo": ("the shipped (demo) configuration without --demo: serve, config check, dev-token", (
        "tests/integration/cli/test_cli.py::*demo*",
        "tests/integration/cli/test_cli.py::test_a_deployment_must_name_its_identity_provider",
    )),
    "shared tenant": ("two municipalities in one tenant: every person/period endpoint, lists, search", (
        "tests/integration/substitutes/test_scope.py::*shared_tenant*",
        "tests/unit/test_config_check.py::*shared_tenant*",
    )),
    "scope": ("another school's or municipality's data through every endpoint and page; RegionAdmin only "
              "from the listed tenants; random tokens", (
                  "tests/unit/auth/test_scope.py::*",
                  "tests/integration/substitutes/test_scope.py::*",
                  "tests/integration/mfa/test_scope_csv.py::test_scope_matrix*",
                  "tests/integration/coverage/test_api.py::test_names_never_reach*",
                  "tests/integration/web/test_admin_pages.py::test_principals_do_not_reach_admin_pages",
                  "tests/integration/fuzz/test_properties.py::test_a_random_token_never_sees_another_scopes_data",
              )),
    "jobs": ("who may run and read jobs", (
        "tests/integration/jobruntime/test_jobs.py::test_principals_cannot_run_jobs",
        "tests/integration/jobruntime/test_jobs.py::test_jobs_api_shows_last_outcome_and_next_run",
        "tests/integration/web/test_admin_pages.py::test_it_admins_start_jobs_for_their_municipality_only_from_the_page",
        "tests/integration/jobruntime/test_job_units.py::test_an_it_admins_job_run*",
    )),
    "CSRF": ("every page form without, with an empty, another session's or a cut token", (
        "tests/integration/web/test_csrf.py::*",
    )),
    "session": ("forged cookies (real secret, foreign tenant), cookies after sign-out, sign out everywhere, "
                "idle/absolute limits, one-shot codes replayed, OIDC state/PKCE/bad ID tokens", (
                    "tests/integration/web/test_page_sessions.py::*",
                    "tests/unit/sessions/test_service.py::*",
                    "tests/integration/web/test_sign_in_and_session.py::*",
                    "tests/integration/substitutes/test_sign_in_code_page.py::*",
                    "tests/unit/config/test_config.py::test_web_sign_in_outside_the_demo_needs_an_https_public_url*",
                )),
    "secrets": ("secrets in logs (both formats, tracebacks), reprs, config check output; files 0600/0700", (
        "tests/integration/substitutes/test_secrets_in_logs.py::*",
        "tests/unit/kit/test_logging.py::*",
        "tests/unit/test_file_permissions.py::*",
        "tests/unit/graph/test_errormap_credentials.py::*secret*",
        "tests/unit/test_config_check.py::*secret*",
    )),
    "headers": ("CSP, X-Frame-Options, nosniff, Referrer-Policy on pages, error pages and the API's HTML "
                "report; /docs off outside the demo; /metrics needs its scrape token", (
                    "tests/integration/observability/test_metrics_fed.py::test_metrics_need_the_token*",
                    "tests/integration/web/test_admin_pages.py::test_coverage_page_shows_the_services_headline*",
                    "tests/integration/web/test_error_pages.py::test_an_unexpected_error_is_a_friendly_page*",
                    "tests/integration/api/test_api_shell.py::test_docs_are_off*",
                )),
    "supply chain": ("hash-pinned installs (image and ./dev), hadolint, non-root image", (
        "tests/unit/test_dev_script.py::*",
        "tests/unit/test_dockerfile.py::*",
        "tests/integration/test_dockerfile.py::*",
    )),
}


def family_of(nodeid: str) -> str | None:
    for family, (_, patterns) in FAMILIES.items():
        if any(fnmatch.fnmatchcase(nodeid, p) for p in patterns):
            return family
    return None


def files() -> list[str]:
    return sorted({p.split("::", 1)[0] for _, patterns in FAMILIES.values() for p in patterns})


class Probes:
    """A pytest plugin: keeps only the probes, counts outcomes per family."""

    def __init__(self) -> None:
        self.cases: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        self.matched: set[str] = set()

    def pytest_collection_modifyitems(self, config: Any, items: list[Any]) -> None:
        keep: list[Any] = []
        drop: list[Any] = []
        for item in items:
            (keep if family_of(item.nodeid) else drop).append(item)
            for _, patterns in FAMILIES.values():
                self.matched |= {p for p in patterns if fnmatch.fnmatchcase(item.nodeid, p)}
        if drop:
            config.hook.pytest_deselected(items=drop)
        items[:] = keep

    def pytest_runtest_logreport(self, report: Any) -> None:
        family = family_of(report.nodeid)
        if family is None:
            return
        if report.when == "call" or (report.when == "setup" and not report.passed):
            self.cases[family] += 1
            if not report.passed:
                self.failures[family] += 1

    def table(self) -> str:
        lines = ["| family | what is tried | cases | failures |", "|---|---|---:|---:|"]
        for family, (what, _) in FAMILIES.items():
            lines.append(f"| {family} | {what} | {self.cases[family]} | {self.failures[family]} |")
        total, failed = sum(self.cases.values()), sum(self.failures.values())
        lines.append(f"| **all** | | **{total}** | **{failed}** |")
        return "\n".join(lines)

    def unmatched(self) -> list[str]:
        return [p for _, patterns in FAMILIES.values() for p in patterns if p not in self.matched]


def main(argv: list[str]) -> int:
    probes = Probes()
    code = pytest.main(["-q", "-p", "no:cacheprovider", *argv, *files()], plugins=[probes])
    print(probes.table())
    missing = probes.unmatched()
    for pattern in missing:
        print(f"security_probes: no test matches {pattern}", file=sys.stderr)
    return 1 if code not in (0, 5) or missing or sum(probes.failures.values()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
