"""knowledge: harvested entries, their sources, full-text indexes

Revision ID: knowledge_0001
Revises: 0002_audit_users
Create Date: 2026-11-24 11:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import rapport.storage.base

revision: str = "knowledge_0001"
down_revision: str | Sequence[str] | None = "0002_audit_users"
branch_labels: str | Sequence[str] | None = ("knowledge",)
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_WHEN = rapport.storage.base.UTCDateTime(timezone=True)

_SQLITE_FTS = [
    "CREATE VIRTUAL TABLE kb_entry_fts USING fts5("
    "question, answer, content='kb_entry', content_rowid='id', tokenize='porter unicode61')",
    "CREATE TRIGGER kb_entry_fts_ai AFTER INSERT ON kb_entry BEGIN "
    "INSERT INTO kb_entry_fts(rowid, question, answer) VALUES (new.id, new.question, new.answer); "
    "END",
    "CREATE TRIGGER kb_entry_fts_ad AFTER DELETE ON kb_entry BEGIN "
    "INSERT INTO kb_entry_fts(kb_entry_fts, rowid, question, answer) "
    "VALUES ('delete', old.id, old.question, old.answer); END",
    "CREATE TRIGGER kb_entry_fts_au AFTER UPDATE OF question, answer ON kb_entry BEGIN "
    "INSERT INTO kb_entry_fts(kb_entry_fts, rowid, question, answer) "
    "VALUES ('delete', old.id, old.question, old.answer); "
    "INSERT INTO kb_entry_fts(rowid, question, answer) VALUES (new.id, new.question, new.answer); "
    "END",
]
_PG_FTS = [
    "ALTER TABLE kb_entry ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
    "(setweight(to_tsvector('english', coalesce(question, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(answer, '')), 'B')) STORED",
    "CREATE INDEX ix_kb_entry_search_vector ON kb_entry USING gin (search_vector)",
]


def upgrade() -> None:
    op.create_table(
        "kb_entry",
        sa.Column("id", _ID, nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("question_message_id", _ID, nullable=False),
        sa.Column("answer_message_id", _ID, nullable=False),
        sa.Column("answered_by", sa.String(length=255), nullable=False),
        sa.Column("answered_by_kind", sa.String(length=10), nullable=False),
        sa.Column("answerer_identity_id", _ID, nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("support", sa.Integer(), nullable=False),
        sa.Column("question_embedding", sa.LargeBinary(), nullable=False),
        sa.Column("answer_embedding", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("reviewed_by", sa.String(length=255), nullable=True),
        sa.Column("reviewed_at", _WHEN, nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["answer_message_id"],
            ["message.id"],
            name=op.f("fk_kb_entry_answer_message_id_message"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["answerer_identity_id"],
            ["identity.id"],
            name=op.f("fk_kb_entry_answerer_identity_id_identity"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["question_message_id"],
            ["message.id"],
            name=op.f("fk_kb_entry_question_message_id_message"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_entry")),
        sa.UniqueConstraint("answer_message_id", name=op.f("uq_kb_entry_answer_message_id")),
    )
    with op.batch_alter_table("kb_entry", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_kb_entry_answerer_identity_id"), ["answerer_identity_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_kb_entry_question_message_id"), ["question_message_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_kb_entry_status"), ["status"], unique=False)
    op.create_table(
        "kb_source",
        sa.Column("entry_id", _ID, nullable=False),
        sa.Column("message_id", _ID, nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["kb_entry.id"],
            name=op.f("fk_kb_source_entry_id_kb_entry"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["message.id"],
            name=op.f("fk_kb_source_message_id_message"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("entry_id", "message_id", name=op.f("pk_kb_source")),
    )
    with op.batch_alter_table("kb_source", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kb_source_message_id"), ["message_id"], unique=False)
    statements = _SQLITE_FTS if op.get_bind().dialect.name == "sqlite" else _PG_FTS
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("kb_entry_fts_ai", "kb_entry_fts_ad", "kb_entry_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS kb_entry_fts")
    with op.batch_alter_table("kb_source", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kb_source_message_id"))
    op.drop_table("kb_source")
    with op.batch_alter_table("kb_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kb_entry_status"))
        batch_op.drop_index(batch_op.f("ix_kb_entry_question_message_id"))
        batch_op.drop_index(batch_op.f("ix_kb_entry_answerer_identity_id"))
    op.drop_table("kb_entry")
