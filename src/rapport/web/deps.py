"""Request-scoped resources of the web face."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy.orm import Session

from rapport.storage.engine import session_scope


def db_session() -> Iterator[Session]:
    """A read session for one request. Writes open their own
    `session_scope(write=True)` inside the route, so they commit before the
    response is sent."""
    with session_scope() as session:
        yield session
