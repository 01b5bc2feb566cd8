"""The security probes' list (``tests/security_probes.py``) names tests that exist: a renamed or moved
test fails here, in the suite, rather than dropping out of RELIABILITY.md's table."""

from __future__ import annotations

import fnmatch
import re

from tests.conftest import REPO
from tests.security_probes import FAMILIES, family_of


def test_every_pattern_matches_a_test_that_exists() -> None:
    for family, (_, patterns) in FAMILIES.items():
        for pattern in patterns:
            path, _, name = pattern.partition("::")
            source = (REPO / path).read_text()
            tests = re.findall(r"^(?:async )?def (test_\w+)", source, re.M)
            assert any(fnmatch.fnmatchcase(t, name) for t in tests), f"{family}: {pattern}"


def test_the_first_matching_family_owns_a_test() -> None:
    scope = "tests/integration/substitutes/test_scope.py::"
    assert family_of(scope + "test_in_a_shared_tenant_each_it_admin_lists_only_their_municipality") == "shared tenant"
    assert family_of(scope + "test_lists_never_include_out_of_scope_rows") == "scope"
    assert family_of("tests/unit/test_names.py::test_anything") is None
