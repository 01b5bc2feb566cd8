"""Bounded schemathesis profile (fixed seed, no example database): every role and no/invalid tokens;
zero 5xx, every error problem+json, every response as the served OpenAPI document declares.
The long profile is ``python -m tests.integration.soak.fuzz --max-examples 500``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.fuzz.harness import ROLES, fuzz, fuzz_environment

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("fuzz")]
MAX_EXAMPLES = 6


def test_served_api_survives_schemathesis_for_every_role(clean_db: str, data_dir: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    with fuzz_environment(data_dir, clean_db) as (base_url, headers_for):
        results = fuzz(base_url, headers_for, max_examples=MAX_EXAMPLES)
    with capsys.disabled():
        print()
        for r in results:
            print("schemathesis", r.line())
    assert [r.role for r in results] == list(ROLES)
    for r in results:
        assert r.cases >= r.operations, r.line()
        assert not any(code >= 500 for code in r.statuses), r.line()
    failures = [f for r in results for f in r.failures]
    assert not failures, "\n\n".join(failures)
    # the success paths ran too, not only rejections
    assert all(r.statuses.get(200, 0) > 0 for r in results)
    assert all(r.statuses.get(201, 0) > 0 for r in results if r.role in ("Principal", "ItAdmin", "RegionAdmin"))
