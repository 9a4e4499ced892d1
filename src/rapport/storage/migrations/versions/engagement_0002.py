"""engagement: labels, notes, notifications, canned, csat, views, events

Revision ID: engagement_0002
Revises: engagement_0001
Create Date: 2026-12-02 13:53:00.607874
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import rapport.storage.base

revision: str = "engagement_0002"
down_revision: str | Sequence[str] | None = "engagement_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = ("relationships_0001",)


def upgrade() -> None:
    op.create_table(
        "canned_response",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("shortcode", sa.String(length=50), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canned_response")),
        sa.UniqueConstraint("shortcode", name=op.f("uq_canned_response_shortcode")),
    )
    op.create_table(
        "label",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("created_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label")),
        sa.UniqueConstraint("name", name=op.f("uq_label_name")),
    )
    op.create_table(
        "saved_view",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_view")),
        sa.UniqueConstraint("name", name=op.f("uq_saved_view_name")),
    )
    op.create_table(
        "person_label",
        sa.Column(
            "person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("label_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("created_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["label_id"],
            ["label.id"],
            name=op.f("fk_person_label_label_id_label"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_person_label_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("person_id", "label_id", name=op.f("pk_person_label")),
    )
    with op.batch_alter_table("person_label", schema=None) as batch_op:
        batch_op.create_index("ix_person_label_label", ["label_id", "person_id"], unique=False)

    op.create_table(
        "thread_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "thread_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("from_status", sa.String(length=10), nullable=False),
        sa.Column("to_status", sa.String(length=10), nullable=False),
        sa.Column("at", rapport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "assignee_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["thread.id"],
            name=op.f("fk_thread_event_thread_id_thread"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_thread_event")),
    )
    with op.batch_alter_table("thread_event", schema=None) as batch_op:
        batch_op.create_index("ix_thread_event_at", ["at"], unique=False)
        batch_op.create_index("ix_thread_event_thread", ["thread_id", "at"], unique=False)

    op.create_table(
        "thread_label",
        sa.Column(
            "thread_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("label_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("created_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["label_id"],
            ["label.id"],
            name=op.f("fk_thread_label_label_id_label"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["thread.id"],
            name=op.f("fk_thread_label_thread_id_thread"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("thread_id", "label_id", name=op.f("pk_thread_label")),
    )
    with op.batch_alter_table("thread_label", schema=None) as batch_op:
        batch_op.create_index("ix_thread_label_label", ["label_id", "thread_id"], unique=False)

    op.create_table(
        "thread_note",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "thread_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("author", sa.String(length=255), nullable=False),
        sa.Column(
            "author_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("mentions", sa.JSON(), nullable=False),
        sa.Column("created_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_user_id"],
            ["app_user.id"],
            name=op.f("fk_thread_note_author_user_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["thread.id"],
            name=op.f("fk_thread_note_thread_id_thread"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_thread_note")),
    )
    with op.batch_alter_table("thread_note", schema=None) as batch_op:
        batch_op.create_index("ix_thread_note_thread", ["thread_id", "created_at"], unique=False)

    op.create_table(
        "notification",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("thread_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("note_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["note_id"],
            ["thread_note.id"],
            name=op.f("fk_notification_note_id_thread_note"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["thread.id"],
            name=op.f("fk_notification_thread_id_thread"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_notification_user_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index("ix_notification_user", ["user_id", "read_at", "id"], unique=False)

    op.create_table(
        "csat_survey",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("thread_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("outbox_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("channel", sa.String(length=100), nullable=False),
        sa.Column(
            "agent_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("team_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("answered_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "answer_message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("via", sa.String(length=10), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_user_id"],
            ["app_user.id"],
            name=op.f("fk_csat_survey_agent_user_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["answer_message_id"],
            ["message.id"],
            name=op.f("fk_csat_survey_answer_message_id_message"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["outbox_item.id"],
            name=op.f("fk_csat_survey_outbox_id_outbox_item"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["team.id"], name=op.f("fk_csat_survey_team_id_team"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["thread.id"],
            name=op.f("fk_csat_survey_thread_id_thread"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_csat_survey")),
    )
    with op.batch_alter_table("csat_survey", schema=None) as batch_op:
        batch_op.create_index("ix_csat_survey_thread", ["thread_id", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("csat_survey", schema=None) as batch_op:
        batch_op.drop_index("ix_csat_survey_thread")

    op.drop_table("csat_survey")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_user")

    op.drop_table("notification")
    with op.batch_alter_table("thread_note", schema=None) as batch_op:
        batch_op.drop_index("ix_thread_note_thread")

    op.drop_table("thread_note")
    with op.batch_alter_table("thread_label", schema=None) as batch_op:
        batch_op.drop_index("ix_thread_label_label")

    op.drop_table("thread_label")
    with op.batch_alter_table("thread_event", schema=None) as batch_op:
        batch_op.drop_index("ix_thread_event_thread")
        batch_op.drop_index("ix_thread_event_at")

    op.drop_table("thread_event")
    with op.batch_alter_table("person_label", schema=None) as batch_op:
        batch_op.drop_index("ix_person_label_label")

    op.drop_table("person_label")
    op.drop_table("saved_view")
    op.drop_table("label")
    op.drop_table("canned_response")
