"""schemathesis against /openapi.json: every API operation called with
generated requests (bounded), as an admin, on real conversations. No answer
may be a 5xx and every answer must match the documented schema, status code,
content type and headers."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from rapport.settings import reset_settings_cache
from rapport.storage.engine import dispose_engines
from rapport.web.app import create_app
from tests.conftest import BACKEND, _pg_admin, _pg_dsn, _sa_url
from tests.web.conftest import Account, load_sample, make_accounts

#: Generated requests per operation (bounded: the suite must stay fast).
EXAMPLES = 15

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


@pytest.fixture(scope="module")
def admin(
    _template: str, password_hash: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Account]:
    """One database for every operation of this module (a fresh one per
    operation would cost a database per test for nothing: the checks are
    about the answers' shape), with the sample conversations and an admin."""
    tmp = tmp_path_factory.mktemp("fuzz")
    name = None
    if BACKEND == "sqlite":
        shutil.copyfile(_template, tmp / "rapport.db")
        url = f"sqlite:///{tmp / 'rapport.db'}"
    else:
        name = f"rapport_t_{uuid.uuid4().hex[:12]}"
        _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{_template}"')
        url = _sa_url(_pg_dsn(name))
    os.environ["RAPPORT_DATABASE_URL"] = url
    reset_settings_cache()
    try:
        load_sample(tmp)
        yield make_accounts(password_hash)["admin"]
    finally:
        dispose_engines()
        os.environ.pop("RAPPORT_DATABASE_URL", None)
        reset_settings_cache()
        if name is not None:
            _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_match_the_schema(case: schemathesis.Case, admin: Account) -> None:
    case.call_and_validate(headers=admin.headers, checks=CHECKS)
