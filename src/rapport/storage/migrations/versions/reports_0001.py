"""reports: insight buckets, listening queries, alert rules and notifications, settings

Revision ID: reports_0001
Revises: 0002_audit_users
Create Date: 2026-12-02 12:33:26.163164
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import rapport.storage.base

revision: str = "reports_0001"
down_revision: str | Sequence[str] | None = "0002_audit_users"
branch_labels: str | Sequence[str] | None = ("reports",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert_rule",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("scope", sa.String(length=400), nullable=False),
        sa.Column("bucket", sa.String(length=5), nullable=False),
        sa.Column("baseline_days", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("min_count", sa.Integer(), nullable=False),
        sa.Column("notify_channel", sa.String(length=100), nullable=True),
        sa.Column("notify_to", sa.String(length=255), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_rule")),
        sa.UniqueConstraint("name", name=op.f("uq_alert_rule_name")),
    )
    op.create_table(
        "insight_setting",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(length=255), nullable=False),
        sa.Column("updated_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_insight_setting")),
    )
    op.create_table(
        "listening_query",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("brand", sa.String(length=255), nullable=True),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listening_query")),
        sa.UniqueConstraint("name", name=op.f("uq_listening_query_name")),
    )
    op.create_table(
        "alert_notification",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("rule_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("alert", sa.JSON(), nullable=False),
        sa.Column("channel", sa.String(length=100), nullable=False),
        sa.Column("recipient", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("retryable", sa.Boolean(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("receipt_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["alert_rule.id"],
            name=op.f("fk_alert_notification_rule_id_alert_rule"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_notification")),
        sa.UniqueConstraint(
            "rule_id", "fingerprint", name=op.f("uq_alert_notification_rule_id_fingerprint")
        ),
    )
    op.create_table(
        "insight_bucket",
        sa.Column("query_id", sa.Integer(), nullable=False),
        sa.Column("hour", rapport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "channel_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("brand", sa.String(length=255), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("analysed", sa.Integer(), nullable=False),
        sa.Column("negative", sa.Integer(), nullable=False),
        sa.Column("neutral", sa.Integer(), nullable=False),
        sa.Column("positive", sa.Integer(), nullable=False),
        sa.Column("score_sum", sa.Float(), nullable=False),
        sa.Column("complaints", sa.Integer(), nullable=False),
        sa.Column("reshares", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channel.id"],
            name=op.f("fk_insight_bucket_channel_id_channel"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "query_id", "hour", "channel_id", "brand", "direction", name=op.f("pk_insight_bucket")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "insight_topic_bucket",
        sa.Column("query_id", sa.Integer(), nullable=False),
        sa.Column("hour", rapport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "channel_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("brand", sa.String(length=255), nullable=False),
        sa.Column("topic", sa.String(length=300), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("negative", sa.Integer(), nullable=False),
        sa.Column("neutral", sa.Integer(), nullable=False),
        sa.Column("positive", sa.Integer(), nullable=False),
        sa.Column("score_sum", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channel.id"],
            name=op.f("fk_insight_topic_bucket_channel_id_channel"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "query_id", "topic", "hour", "channel_id", "brand", name=op.f("pk_insight_topic_bucket")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "insight_thread_hour",
        sa.Column(
            "thread_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("hour", rapport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("reshares", sa.Integer(), nullable=False),
        sa.Column("activity", sa.Integer(), nullable=False),
        sa.Column("negative", sa.Integer(), nullable=False),
        sa.Column("complaints", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["thread.id"],
            name=op.f("fk_insight_thread_hour_thread_id_thread"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("thread_id", "hour", name=op.f("pk_insight_thread_hour")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("insight_thread_hour", schema=None) as batch_op:
        batch_op.create_index("ix_insight_thread_hour_activity", ["activity"], unique=False)

    op.create_table(
        "listening_match",
        sa.Column("query_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["message.id"],
            name=op.f("fk_listening_match_message_id_message"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["query_id"],
            ["listening_query.id"],
            name=op.f("fk_listening_match_query_id_listening_query"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("query_id", "message_id", name=op.f("pk_listening_match")),
    )
    with op.batch_alter_table("listening_match", schema=None) as batch_op:
        batch_op.create_index("ix_listening_match_message", ["message_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("listening_match", schema=None) as batch_op:
        batch_op.drop_index("ix_listening_match_message")

    op.drop_table("listening_match")
    with op.batch_alter_table("insight_thread_hour", schema=None) as batch_op:
        batch_op.drop_index("ix_insight_thread_hour_activity")

    op.drop_table("insight_thread_hour")
    op.drop_table("insight_topic_bucket")
    op.drop_table("insight_bucket")
    op.drop_table("alert_notification")
    op.drop_table("listening_query")
    op.drop_table("insight_setting")
    op.drop_table("alert_rule")
