"""v1.0 sign-ins have no authenticationRequirement: MFA is read from the conditional-access result."""

from __future__ import annotations

from typing import Any

import pytest

from idops.graph.parse import sign_in_from_json

BASE: dict[str, Any] = {"id": "1", "createdDateTime": "2026-11-27T08:00:00Z", "userId": "u", "appId": "a"}


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"authenticationRequirement": "multiFactorAuthentication"}, True),
        ({"authenticationRequirement": "singleFactorAuthentication"}, False),
        ({"appliedConditionalAccessPolicies": [{"result": "success", "enforcedGrantControls": ["Mfa"]}]}, True),
        ({"appliedConditionalAccessPolicies": [{"result": "failure", "enforcedGrantControls": ["Mfa"]}]}, False),
        ({"appliedConditionalAccessPolicies": [{"result": "success", "enforcedGrantControls": ["Block"]}]}, False),
        ({"appliedConditionalAccessPolicies": []}, False),
        ({}, None),
    ],
)
def test_mfa_satisfied_is_read_from_the_fields_v1_has(extra: dict[str, Any], expected: bool | None) -> None:
    assert sign_in_from_json({**BASE, **extra}).mfa_satisfied is expected
