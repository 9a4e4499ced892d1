"""Creating and migrating the database with Alembic (`rapport db upgrade`)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from rapport.storage.engine import get_engine


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "rapport.storage:migrations")
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(url: str | None = None) -> list[str]:
    """Migrate the database to the newest schema (every branch head);
    idempotent. Returns the revisions now applied."""
    engine = get_engine(url)
    command.upgrade(alembic_config(engine), "heads")
    return current_revisions(url)


def current_revisions(url: str | None = None) -> list[str]:
    engine = get_engine(url)
    with engine.connect() as conn:
        return sorted(MigrationContext.configure(conn).get_current_heads())


def head_revisions(url: str | None = None) -> list[str]:
    """The revisions a fully migrated database holds: every branch head but
    those another revision depends on (``depends_on``), which Alembic stores
    as that revision only (``engagement_0003`` needs ``search_0001``)."""
    script = ScriptDirectory.from_config(alembic_config(get_engine(url)))
    return sorted(script.get_heads(consider_depends_on=True))


def is_current(url: str | None = None) -> bool:
    return current_revisions(url) == head_revisions(url)
