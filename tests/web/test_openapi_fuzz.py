"""schemathesis against /openapi.json: every API operation called with
generated requests (bounded), as an admin, on real conversations. No answer
may be a 5xx and every answer must match the documented schema, status code,
content type and headers."""

from __future__ import annotations

from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from rapport.web.app import create_app
from tests.web.conftest import Account

#: Generated requests per operation (bounded: the suite must stay fast).
EXAMPLES = 25

schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Not `negative_data_rejection`: FastAPI (pydantic's lax mode) accepts a
# number where the schema says date-time (`until=0.5` is read as a Unix time).


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_match_the_schema(
    case: schemathesis.Case, conversations: Path, accounts: dict[str, Account]
) -> None:
    case.call_and_validate(headers=accounts["admin"].headers, checks=CHECKS)
