"""schemathesis: requests generated from /openapi.json never get a 500 or an undocumented answer.

Driven through hypothesis directly (schemathesis' own pytest loader does not run on pytest 9).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.counts import count
from tests.serving.conftest import Server

pytestmark = pytest.mark.server
EXAMPLES = 25  # per operation: 12 operations, a few hundred requests in all


def test_generated_requests_get_documented_answers(shop_server: Server) -> None:
    schema = schemathesis.openapi.from_url(shop_server.base + "/openapi.json", timeout=10)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 12
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:
            count("requests: schemathesis")
            # A condition's grammar and its attribute's name are beyond the schema: a valid
            # request with one may get a 422 (still never a 500 or an undocumented answer).
            conditions = (case.query or {}).get("where") or (
                case.body.get("where") if isinstance(case.body, dict) else None
            )
            excluded = [positive_data_acceptance] if conditions else None
            case.call_and_validate(base_url=shop_server.base, timeout=10, excluded_checks=excluded)

        check()
