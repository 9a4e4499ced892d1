"""relationships: fast people search (FTS5 trigram on SQLite, pg_trgm on PostgreSQL)

Revision ID: relationships_0002
Revises: relationships_0001
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "relationships_0002"
down_revision: str | Sequence[str] | None = "relationships_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_TRIGGERS = (
    "CREATE TRIGGER person_search_ai AFTER INSERT ON person BEGIN "
    "INSERT INTO person_search(rowid, search_key) VALUES (new.id, new.search_key); END",
    "CREATE TRIGGER person_search_ad AFTER DELETE ON person BEGIN "
    "INSERT INTO person_search(person_search, rowid, search_key) "
    "VALUES ('delete', old.id, old.search_key); END",
    "CREATE TRIGGER person_search_au AFTER UPDATE OF search_key ON person BEGIN "
    "INSERT INTO person_search(person_search, rowid, search_key) "
    "VALUES ('delete', old.id, old.search_key); "
    "INSERT INTO person_search(rowid, search_key) VALUES (new.id, new.search_key); END",
)


def upgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.create_index("ix_person_status", ["status"], unique=False)
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE person_search USING fts5("
            "search_key, content='person', content_rowid='id', tokenize='trigram')"
        )
        for trigger in SQLITE_TRIGGERS:
            op.execute(trigger)
        op.execute("INSERT INTO person_search(person_search) VALUES ('rebuild')")
        return
    op.execute(
        "CREATE INDEX ix_person_status_recent ON person "
        "(status, last_seen_at DESC NULLS LAST, id DESC)"
    )
    available = bind.exec_driver_sql(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'"
    ).scalar()
    if not available:
        return
    with bind.begin_nested() as savepoint:
        try:
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except Exception:  # no privilege: search stays correct, only slower
            savepoint.rollback()
            return
    op.execute(
        "CREATE INDEX ix_person_search_key_trgm ON person USING gin (search_key gin_trgm_ops)"
    )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in ("person_search_ai", "person_search_ad", "person_search_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS person_search")
    else:
        op.execute("DROP INDEX IF EXISTS ix_person_search_key_trgm")
        op.execute("DROP INDEX IF EXISTS ix_person_status_recent")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_index("ix_person_status")
