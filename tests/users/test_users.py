"""Users: creation with roles, passwords hashed, disabling, audit."""

from __future__ import annotations

from sqlalchemy import select

from rapport.storage.engine import session_scope
from rapport.users import service
from rapport.users.models import User
from tests.conftest import Database


def test_create_user_with_password_from_stdin(db: Database, cli) -> None:
    result = cli(
        "users",
        "create",
        "Ana@Example.com",
        "--role",
        "agent",
        "--password-stdin",
        "--json",
        input="correct horse battery\n",
    )
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    assert doc["email"] == "ana@example.com" and doc["role"] == "agent"
    assert doc["username"] == "ana" and "password" not in str(doc)
    with session_scope() as s:
        stored = s.execute(select(User)).scalar_one()
        assert stored.password_hash and stored.password_hash.startswith("$argon2")
        assert "correct horse" not in stored.password_hash
        assert service.authenticate(s, "ana@example.com", "correct horse battery") is not None
        assert service.authenticate(s, "ana@example.com", "wrong password") is None
        assert service.authenticate(s, "nobody@example.com", "x" * 10) is None


def test_unknown_role_and_duplicate_email_refused(db: Database, cli) -> None:
    assert cli("users", "create", "a@b.co", "--role", "overlord").exit_code == 1
    assert cli("users", "create", "a@b.co", "--role", "admin").exit_code == 0
    again = cli("users", "create", "A@b.co", "--role", "admin")
    assert again.exit_code == 1 and "exists already" in again.stderr
    short = cli("users", "create", "c@b.co", "--role", "admin", "--password-stdin", input="abc\n")
    assert short.exit_code == 1 and "too short" in short.stderr


def test_disabled_user_cannot_log_in_and_everything_is_audited(db: Database, cli) -> None:
    cli(
        "users",
        "create",
        "ops@acme.io",
        "--role",
        "admin",
        "--password-stdin",
        input="s3cret-pass\n",
    )
    assert cli("users", "disable", "ops@acme.io").exit_code == 0
    listing = cli("users", "list", "--json").json()["users"]
    assert listing[0]["active"] is False
    with session_scope() as s:
        assert service.authenticate(s, "ops@acme.io", "s3cret-pass") is None
    events = cli("audit", "--json").json()
    assert [e["action"] for e in events["events"]] == ["users.update", "users.create"]
    assert all(e["actor"].startswith("cli:") for e in events["events"])
    assert cli("users", "disable", "ghost@acme.io").exit_code == 1
