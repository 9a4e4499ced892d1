"""engagement: full-text index of internal notes (text and author)

The same index as messages have (``search_0001``), so a search finds notes
with the same query language and ranks them on the same scale. SQLite: an
external-content FTS5 table `thread_note_fts` (columns text, author; the
tokenizer of `message_fts`) over `thread_note`, kept in step by triggers on
insert, update and delete (erasure rewrites a note's text: the index
follows). PostgreSQL: a `search_vector` tsvector column on `thread_note`
(text weight A, author weight B, built by ``search_0001``'s
``rapport_message_search_vector``), set by a trigger, with a GIN index.
Existing notes are indexed here.

Revision ID: engagement_0003
Revises: engagement_0002
Create Date: 2026-12-04 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from rapport.conversations.querylang import FTS5_TOKENIZER

revision: str = "engagement_0003"
down_revision: str | Sequence[str] | None = "engagement_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = ("search_0001",)

_SQLITE_TRIGGERS = ("thread_note_fts_ai", "thread_note_fts_au", "thread_note_fts_ad")


def _sqlite_statements() -> list[str]:
    tokenizer = FTS5_TOKENIZER.replace('"', '""')
    index_new = (
        "INSERT INTO thread_note_fts(rowid, text, author) VALUES (new.id, new.text, new.author);"
    )
    forget_old = (
        "INSERT INTO thread_note_fts(thread_note_fts, rowid, text, author) "
        "VALUES ('delete', old.id, old.text, old.author);"
    )
    return [
        "CREATE VIRTUAL TABLE thread_note_fts USING fts5(text, author, "
        "content='thread_note', content_rowid='id', "
        f'tokenize="{tokenizer}")',
        f"CREATE TRIGGER thread_note_fts_ai AFTER INSERT ON thread_note BEGIN {index_new} END",
        "CREATE TRIGGER thread_note_fts_au AFTER UPDATE OF text, author ON thread_note "
        f"BEGIN {forget_old} {index_new} END",
        f"CREATE TRIGGER thread_note_fts_ad AFTER DELETE ON thread_note BEGIN {forget_old} END",
        "INSERT INTO thread_note_fts(thread_note_fts) VALUES ('rebuild')",
    ]


_POSTGRESQL_STATEMENTS = [
    "ALTER TABLE thread_note ADD COLUMN search_vector tsvector",
    "UPDATE thread_note SET search_vector = rapport_message_search_vector(text, author)",
    "CREATE INDEX ix_thread_note_search_vector ON thread_note USING gin (search_vector)",
    "CREATE FUNCTION thread_note_search_vector_set() RETURNS trigger LANGUAGE plpgsql AS $fn$ "
    "BEGIN NEW.search_vector := rapport_message_search_vector(NEW.text, NEW.author); "
    "RETURN NEW; END $fn$",
    "CREATE TRIGGER thread_note_search_vector BEFORE INSERT OR UPDATE OF text, author "
    "ON thread_note FOR EACH ROW EXECUTE FUNCTION thread_note_search_vector_set()",
]


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    for statement in _sqlite_statements() if sqlite else _POSTGRESQL_STATEMENTS:
        bind.exec_driver_sql(statement)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for trigger in _SQLITE_TRIGGERS:
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}")
        bind.exec_driver_sql("DROP TABLE IF EXISTS thread_note_fts")
        return
    bind.exec_driver_sql("DROP TRIGGER IF EXISTS thread_note_search_vector ON thread_note")
    bind.exec_driver_sql("DROP FUNCTION IF EXISTS thread_note_search_vector_set()")
    bind.exec_driver_sql("DROP INDEX IF EXISTS ix_thread_note_search_vector")
    bind.exec_driver_sql("ALTER TABLE thread_note DROP COLUMN IF EXISTS search_vector")
