"""search: full-text index of messages (text and author handle)

SQLite: an external-content FTS5 table `message_fts` over the view
`message_search_source` (message text, author handle), kept in step by
triggers on `message` and `identity`. PostgreSQL: a `search_vector` tsvector
column on `message` (text weight A, author handle weight B, never adjacent),
set by a trigger, with a GIN index. Both tokenise exactly as
`rapport.conversations.querylang.tokenize`: changing its tables needs a new
revision that rebuilds these indexes.

Revision ID: search_0001
Revises: 0002_audit_users
Create Date: 2026-11-25 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from rapport.conversations.querylang import ACCENTED, DIACRITICS, FTS5_TOKENIZER, UNACCENTED

revision: str = "search_0001"
down_revision: str | Sequence[str] | None = "0002_audit_users"
branch_labels: str | Sequence[str] | None = ("search",)
depends_on: str | Sequence[str] | None = None


def _author(ref: str) -> str:
    return f"coalesce((SELECT handle FROM identity WHERE id = {ref}.author_identity_id), '')"


def _sqlite_statements() -> list[str]:
    tokenizer = FTS5_TOKENIZER.replace('"', '""')
    index_new = (
        f"INSERT INTO message_fts(rowid, text, author) VALUES (new.id, new.text, {_author('new')});"
    )
    forget_old = (
        "INSERT INTO message_fts(message_fts, rowid, text, author) "
        f"VALUES ('delete', old.id, old.text, {_author('old')});"
    )
    return [
        "CREATE VIEW message_search_source AS "
        "SELECT m.id AS id, m.text AS text, coalesce(i.handle, '') AS author "
        "FROM message m LEFT JOIN identity i ON i.id = m.author_identity_id",
        "CREATE VIRTUAL TABLE message_fts USING fts5(text, author, "
        "content='message_search_source', content_rowid='id', "
        f'tokenize="{tokenizer}")',
        f"CREATE TRIGGER message_fts_ai AFTER INSERT ON message BEGIN {index_new} END",
        "CREATE TRIGGER message_fts_au AFTER UPDATE OF text, author_identity_id ON message "
        f"BEGIN {forget_old} {index_new} END",
        f"CREATE TRIGGER message_fts_ad AFTER DELETE ON message BEGIN {forget_old} END",
        # A renamed handle (erasure renames it) re-indexes its messages.
        "CREATE TRIGGER message_fts_identity_au AFTER UPDATE OF handle ON identity BEGIN "
        "INSERT INTO message_fts(message_fts, rowid, text, author) "
        "SELECT 'delete', id, text, coalesce(old.handle, '') FROM message "
        "WHERE author_identity_id = old.id; "
        "INSERT INTO message_fts(rowid, text, author) "
        "SELECT id, text, coalesce(new.handle, '') FROM message "
        "WHERE author_identity_id = new.id; END",
        # A deleted identity: its messages lose their author before the
        # foreign key's SET NULL runs the update trigger above (which then
        # finds no handle, as indexed here).
        "CREATE TRIGGER message_fts_identity_bd BEFORE DELETE ON identity BEGIN "
        "INSERT INTO message_fts(message_fts, rowid, text, author) "
        "SELECT 'delete', id, text, coalesce(old.handle, '') FROM message "
        "WHERE author_identity_id = old.id; "
        "INSERT INTO message_fts(rowid, text, author) "
        "SELECT id, text, '' FROM message WHERE author_identity_id = old.id; END",
        "INSERT INTO message_fts(message_fts) VALUES ('rebuild')",
    ]


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _postgresql_statements() -> list[str]:
    return [
        "CREATE FUNCTION rapport_search_words(body text) RETURNS text "
        "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$ SELECT regexp_replace(translate("
        f"regexp_replace(coalesce(body, ''), {_literal('[' + DIACRITICS + ']+')}, '', 'g'), "
        f"{_literal(ACCENTED)}, {_literal(UNACCENTED)}), '[^[:alnum:]]+', ' ', 'g') $fn$",
        # The author's words come after a removed placeholder position, so a
        # phrase never runs from the text's last word into the handle.
        "CREATE FUNCTION rapport_message_search_vector(body text, author text) "
        "RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$ SELECT ts_delete("
        "setweight(to_tsvector('simple'::regconfig, rapport_search_words(body)), 'A') "
        "|| '_:1'::tsvector "
        "|| setweight(to_tsvector('simple'::regconfig, rapport_search_words(author)), 'B'), "
        "'_'::text) $fn$",
        "ALTER TABLE message ADD COLUMN search_vector tsvector",
        "UPDATE message SET search_vector = rapport_message_search_vector(text, "
        "(SELECT handle FROM identity WHERE identity.id = message.author_identity_id))",
        "CREATE INDEX ix_message_search_vector ON message USING gin (search_vector)",
        "CREATE FUNCTION message_search_vector_set() RETURNS trigger LANGUAGE plpgsql AS $fn$ "
        "BEGIN NEW.search_vector := rapport_message_search_vector(NEW.text, "
        "(SELECT handle FROM identity WHERE id = NEW.author_identity_id)); RETURN NEW; END $fn$",
        "CREATE TRIGGER message_search_vector BEFORE INSERT OR UPDATE OF text, "
        "author_identity_id ON message FOR EACH ROW EXECUTE FUNCTION message_search_vector_set()",
        "CREATE FUNCTION identity_search_vector_set() RETURNS trigger LANGUAGE plpgsql AS $fn$ "
        "BEGIN UPDATE message SET search_vector = rapport_message_search_vector(text, NEW.handle) "
        "WHERE author_identity_id = NEW.id; RETURN NULL; END $fn$",
        "CREATE TRIGGER identity_search_vector AFTER UPDATE OF handle ON identity "
        "FOR EACH ROW WHEN (OLD.handle IS DISTINCT FROM NEW.handle) "
        "EXECUTE FUNCTION identity_search_vector_set()",
    ]


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    for statement in _sqlite_statements() if sqlite else _postgresql_statements():
        bind.exec_driver_sql(statement)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for trigger in (
            "message_fts_ai",
            "message_fts_au",
            "message_fts_ad",
            "message_fts_identity_au",
            "message_fts_identity_bd",
        ):
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}")
        bind.exec_driver_sql("DROP TABLE IF EXISTS message_fts")
        bind.exec_driver_sql("DROP VIEW IF EXISTS message_search_source")
        return
    bind.exec_driver_sql("DROP TRIGGER IF EXISTS identity_search_vector ON identity")
    bind.exec_driver_sql("DROP TRIGGER IF EXISTS message_search_vector ON message")
    bind.exec_driver_sql("DROP FUNCTION IF EXISTS identity_search_vector_set()")
    bind.exec_driver_sql("DROP FUNCTION IF EXISTS message_search_vector_set()")
    bind.exec_driver_sql("DROP INDEX IF EXISTS ix_message_search_vector")
    bind.exec_driver_sql("ALTER TABLE message DROP COLUMN IF EXISTS search_vector")
    bind.exec_driver_sql("DROP FUNCTION IF EXISTS rapport_message_search_vector(text, text)")
    bind.exec_driver_sql("DROP FUNCTION IF EXISTS rapport_search_words(text)")
