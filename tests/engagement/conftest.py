"""Fixtures of the engagement tests: the TWCS demo (`demo_db`, loaded once
per run and triaged on ingest), and users of each role."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.storage.engine import session_scope
from rapport.users.schemas import UserCreate
from rapport.users.service import do_create_user


def make_users(*specs: tuple[str, str, str | None]) -> dict[str, Any]:
    """Users (email local part → role, team) without passwords (fast)."""
    out = {}
    with session_scope(write=True) as session:
        for name, role, team in specs:
            out[name] = do_create_user(
                session,
                UserCreate(email=f"{name}@example.com", role=role, name=name.title(), team=team),
                actor="test",
            )
    return out


@pytest.fixture
def staff(demo_db: Any) -> dict[str, Any]:
    """ana and ben (agents), max (manager), ida (analyst) on the demo."""
    return make_users(
        ("ana", "agent", None), ("ben", "agent", None), ("max", "manager", None),
        ("ida", "analyst", None),
    )  # fmt: skip
