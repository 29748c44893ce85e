"""Property-based run of schemathesis against the app's own OpenAPI schema: whatever the
generated request, no 5xx and every response matches what the schema documents.

Each operation runs as its own hypothesis test inside one pytest test (schemathesis'
``from_fixture`` does not work with pytest 9 yet), bounded to ``MAX_EXAMPLES`` examples.
The write token is sent, so creating, replacing and deleting are exercised too.

``positive_data_acceptance`` is left out: a JSON Schema cannot say everything the API checks
(an agreement needs ``first_expiry`` *or* ``start`` and ``term``; a duration's unit must be
known; ``to`` must not be before ``from``), so a schema-valid request may rightly get 422.
Every other check runs, including that invalid data is rejected.
"""

from __future__ import annotations

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings

from tests.api.conftest import AUTH

MAX_EXAMPLES = 20


def test_no_request_gets_a_server_error_or_an_undocumented_response(app: FastAPI) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    labels = []
    for result in schema.get_all_operations():
        operation = result.ok()
        labels.append(operation.label)

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(
                headers=AUTH, excluded_checks=[schemathesis.checks.positive_data_acceptance]
            )

        run()
    assert "POST /api/v1/agreements" in labels
    assert "GET /api/v1/deadlines" in labels
    assert len(labels) == 15
