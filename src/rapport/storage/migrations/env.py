"""Alembic environment: runs migrations on the engine given by Rapport (or
the configured database when run by the `alembic` command)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from rapport.storage.engine import get_engine
from rapport.storage.models import load_all_models

config = context.config
target_metadata = load_all_models()

#: Tables a migration made by hand that have no model (full-text indexes):
#: autogenerate must not propose dropping them.
UNMANAGED_PREFIXES = ("kb_entry_fts", "message_fts", "thread_note_fts")
#: Columns and indexes a migration made by hand (PostgreSQL full text).
UNMANAGED_NAMES = (
    "search_vector",
    "ix_kb_entry_search_vector",
    "ix_message_search_vector",
    "ix_thread_note_search_vector",
)


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    if name is None:
        return True
    if type_ == "table" and name.startswith(UNMANAGED_PREFIXES):
        return False
    return not (type_ in ("column", "index") and name in UNMANAGED_NAMES)


def run_migrations_online() -> None:
    engine: Engine = config.attributes.get("engine") or get_engine()
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_name=include_name,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
