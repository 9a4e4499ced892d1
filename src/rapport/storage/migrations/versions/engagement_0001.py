"""engagement: triage policy, thread state, outbox, teams

Revision ID: engagement_0001
Revises: 0002_audit_users
Create Date: 2026-12-02 12:35:35.779548
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import rapport.storage.base

revision: str = "engagement_0001"
down_revision: str | Sequence[str] | None = "0002_audit_users"
branch_labels: str | Sequence[str] | None = ("engagement",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "team",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team")),
        sa.UniqueConstraint("name", name=op.f("uq_team_name")),
    )
    op.create_table(
        "triage_policy",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triage_policy")),
        sa.UniqueConstraint("version", name=op.f("uq_triage_policy_version")),
    )
    op.create_table(
        "thread_state",
        sa.Column(
            "thread_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "channel_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "customer_identity_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "brand_identity_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("rule_id", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("decided_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("priority", sa.Float(), nullable=False),
        sa.Column("priority_factors", sa.JSON(), nullable=False),
        sa.Column("waiting_since", rapport.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sla_due_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sla_kind", sa.String(length=20), nullable=True),
        sa.Column(
            "first_response_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("sla_breaches", sa.Integer(), nullable=False),
        sa.Column(
            "first_inbound_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "last_inbound_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "last_outbound_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "last_message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "last_message_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "assignee_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("assigned_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("assigned_how", sa.String(length=10), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column(
            "status_changed_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("resolved_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("snoozed_until", rapport.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reopen_count", sa.Integer(), nullable=False),
        sa.Column("csat_score", sa.Integer(), nullable=True),
        sa.Column("csat_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_user_id"],
            ["app_user.id"],
            name=op.f("fk_thread_state_assignee_user_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channel.id"],
            name=op.f("fk_thread_state_channel_id_channel"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["team.id"], name=op.f("fk_thread_state_team_id_team"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["thread.id"],
            name=op.f("fk_thread_state_thread_id_thread"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("thread_id", name=op.f("pk_thread_state")),
    )
    with op.batch_alter_table("thread_state", schema=None) as batch_op:
        batch_op.create_index(
            "ix_thread_state_assignee", ["assignee_user_id", "status"], unique=False
        )
        batch_op.create_index("ix_thread_state_channel", ["channel_id", "status"], unique=False)
        batch_op.create_index("ix_thread_state_decision", ["decision", "status"], unique=False)
        batch_op.create_index("ix_thread_state_due", ["sla_due_at"], unique=False)
        batch_op.create_index(
            "ix_thread_state_inbox", ["status", "priority", "thread_id"], unique=False
        )
        batch_op.create_index("ix_thread_state_priority", ["priority", "thread_id"], unique=False)
        batch_op.create_index(
            "ix_thread_state_status_decision", ["status", "decision"], unique=False
        )
        batch_op.create_index("ix_thread_state_snoozed", ["status", "snoozed_until"], unique=False)
        batch_op.create_index("ix_thread_state_team", ["team_id", "status"], unique=False)

    op.create_table(
        "outbox_item",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("thread_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("channel", sa.String(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("private", sa.Boolean(), nullable=False),
        sa.Column("to_handle", sa.String(length=255), nullable=True),
        sa.Column("in_reply_to_external_id", sa.String(length=255), nullable=True),
        sa.Column("from_account", sa.String(length=255), nullable=True),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("canned", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=15), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column(
            "message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["message.id"],
            name=op.f("fk_outbox_item_message_id_message"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["thread.id"],
            name=op.f("fk_outbox_item_thread_id_thread"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_item")),
    )
    with op.batch_alter_table("outbox_item", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_item_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_item_thread_id"), ["thread_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_item_thread_id"))
        batch_op.drop_index("ix_outbox_item_due")

    op.drop_table("outbox_item")
    with op.batch_alter_table("thread_state", schema=None) as batch_op:
        batch_op.drop_index("ix_thread_state_team")
        batch_op.drop_index("ix_thread_state_snoozed")
        batch_op.drop_index("ix_thread_state_status_decision")
        batch_op.drop_index("ix_thread_state_priority")
        batch_op.drop_index("ix_thread_state_inbox")
        batch_op.drop_index("ix_thread_state_due")
        batch_op.drop_index("ix_thread_state_decision")
        batch_op.drop_index("ix_thread_state_channel")
        batch_op.drop_index("ix_thread_state_assignee")

    op.drop_table("thread_state")
    op.drop_table("triage_policy")
    op.drop_table("team")
