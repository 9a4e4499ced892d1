"""docs/ROLES.md is the role matrix; this test calls every route of the app
as nobody and as each role and checks each answer against it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.routing import Mount, Route

from rapport.auth.roles import CAPABILITIES
from rapport.preferences.links import sign_link
from rapport.relationships.queries import person_for_identity
from rapport.storage.engine import session_scope
from rapport.users.models import ROLES
from rapport.web.app import create_app
from tests.web.conftest import Account

ROLES_MD = Path(__file__).resolve().parents[2] / "docs" / "ROLES.md"
COLUMNS = ("anonymous", *ROLES)
_ROW = re.compile(r"^\|\s*`(GET|POST|PUT|PATCH|DELETE) ([^`]+)`\s*\|(.+)\|\s*$")


def read_matrix() -> dict[tuple[str, str], dict[str, str]]:
    """(method, path) → {column: cell} from the table in docs/ROLES.md."""
    matrix: dict[tuple[str, str], dict[str, str]] = {}
    for line in ROLES_MD.read_text(encoding="utf-8").splitlines():
        m = _ROW.match(line)
        if not m:
            continue
        cells = [c.strip() for c in m.group(3).split("|")]
        assert len(cells) == 1 + len(COLUMNS), f"ROLES.md row has the wrong cells: {line}"
        key = (m.group(1), m.group(2))
        assert key not in matrix, f"ROLES.md lists {key} twice"
        matrix[key] = dict(zip(COLUMNS, cells[1:], strict=True))
    return matrix


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the app answers, routers included (not static mounts)."""
    found: set[tuple[str, str]] = set()

    def add(methods: Any, path: str) -> None:
        for method in methods or ():
            if method != "HEAD":
                found.add((method, path))

    for route in app.routes:
        if isinstance(route, Mount):
            continue
        if hasattr(route, "effective_route_contexts"):  # an included router (FastAPI >= 0.120)
            for ctx in route.effective_route_contexts():
                add(getattr(ctx.original_route, "methods", None), ctx.path)
        elif isinstance(route, Route) or hasattr(route, "methods"):
            add(getattr(route, "methods", None), route.path)  # type: ignore[attr-defined]
    return found


def test_every_route_is_in_the_matrix_and_every_row_is_a_route(db) -> None:
    matrix = read_matrix()
    routes = app_routes(create_app())
    assert routes - set(matrix) == set(), "routes missing from docs/ROLES.md"
    assert set(matrix) - routes == set(), "docs/ROLES.md rows naming no route"
    for key, cells in matrix.items():
        assert set(cells.values()) <= {"✓", "✗", "401", "login"}, (key, cells)


def test_every_capability_in_code_names_known_roles() -> None:
    for capability, roles in CAPABILITIES.items():
        assert roles and roles <= set(ROLES), capability


def _concrete(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "1"), path)


def test_each_route_answers_each_role_as_the_matrix_says(
    client: TestClient, conversations: Path, accounts: dict[str, Account]
) -> None:
    with session_scope() as session:
        thread = client.get("/api/v1/threads?limit=1", headers=accounts["admin"].headers).json()
        item = thread["items"][0]
        person = person_for_identity(session, item["thread"]["customer_identity_id"])
    assert person is not None
    values = {
        "thread_id": str(item["thread"]["id"]),
        "person_id": str(person),
        "user_id": str(accounts["agent"].id),
        "request_id": "999999",
        "token": sign_link(person)[0],
    }
    # Anonymous forms carry the double-submit CSRF token; bearer calls need none.
    client.cookies.set("rapport_csrf", "matrix-test-token")
    anon = {"X-CSRF-Token": "matrix-test-token", "Accept": "text/html"}
    problems = []
    for (method, path), cells in sorted(read_matrix().items()):
        url = _concrete(path, values)
        for column, expected in cells.items():
            headers = dict(anon)
            if column != "anonymous":
                headers.update(accounts[column].headers)
            response = client.request(method, url, headers=headers)
            status = response.status_code
            if expected == "✓":
                ok = status < 500 and status not in (401, 403)
            elif expected == "✗":
                ok = status == 403
            elif expected == "401":
                ok = status == 401
            else:  # login
                ok = status == 303 and response.headers["location"].startswith("/login?next=")
            if not ok:
                problems.append(f"{method} {url} as {column}: {status}, expected {expected}")
    assert problems == []
