"""Engines and sessions for SQLite (default, embedded) and PostgreSQL.

SQLite runs in WAL mode with foreign keys on, ``secure_delete`` on (erased
personal data leaves no trace in the file) and a busy timeout. Write
transactions can ask for ``BEGIN IMMEDIATE`` so two writers queue instead of
dead-locking on a lock upgrade.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import Session, sessionmaker

from rapport.settings import get_settings

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


class StorageError(RuntimeError):
    """The database cannot be reached or used."""


def _install_sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA secure_delete=ON")
        cur.execute("PRAGMA cache_size=-65536")
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("sqlite_immediate"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def make_engine(url: str) -> Engine:
    """A new engine for ``url`` with Rapport's connection settings."""
    settings = get_settings()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        _install_sqlite_pragmas(engine)
        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(
            url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_recycle=settings.db_pool_recycle_seconds,
            pool_pre_ping=True,
        )
    raise StorageError(
        f"unsupported database URL {parsed.render_as_string(hide_password=True)!r}: "
        "use sqlite:///PATH or postgresql+psycopg://..."
    )


def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for ``url`` (default: the configured database)."""
    url = url or get_settings().sqlalchemy_url
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = make_engine(url)
            _engines[url] = engine
        return engine


def dispose_engines() -> None:
    """Close every pooled connection (tests, forks, shutdown)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def is_sqlite(engine_or_session: Engine | Session | Connection) -> bool:
    bind = (
        engine_or_session.get_bind()
        if isinstance(engine_or_session, Session)
        else engine_or_session
    )
    return bind.dialect.name == "sqlite"


@contextmanager
def session_scope(*, write: bool = False, url: str | None = None) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on error.

    ``write=True`` takes SQLite's write lock at BEGIN so concurrent writers
    wait their turn instead of failing on a lock upgrade.
    """
    engine = get_engine(url)
    bind = engine.execution_options(sqlite_immediate=True) if write else engine
    factory = sessionmaker(bind=bind, expire_on_commit=False)
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
