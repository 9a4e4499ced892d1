"""Alembic environment: runs migrations on the engine given by Rapport (or
the configured database when run by the `alembic` command)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from rapport.storage.engine import get_engine
from rapport.storage.models import load_all_models

config = context.config
target_metadata = load_all_models()


def run_migrations_online() -> None:
    engine: Engine = config.attributes.get("engine") or get_engine()
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
