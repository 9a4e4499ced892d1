"""channels: live connectors (config, encrypted credentials, cursor, health)

Revision ID: channels_0001
Revises: 0002_audit_users
Create Date: 2026-11-24 08:41:57.605812
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import rapport.storage.base

revision: str = "channels_0001"
down_revision: str | Sequence[str] | None = "0002_audit_users"
branch_labels: str | Sequence[str] | None = ("channels",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channel_connector",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "channel_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("secrets", sa.Text(), nullable=True),
        sa.Column("state", sa.Text(), nullable=True),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("poll_interval_seconds", sa.Float(), nullable=False),
        sa.Column("created_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_poll_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "last_success_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("backoff_until", rapport.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("polls", sa.Integer(), nullable=False),
        sa.Column("fetched_total", sa.Integer(), nullable=False),
        sa.Column("inserted_total", sa.Integer(), nullable=False),
        sa.Column("duplicates_total", sa.Integer(), nullable=False),
        sa.Column("quarantined_total", sa.Integer(), nullable=False),
        sa.Column("webhooks_accepted", sa.Integer(), nullable=False),
        sa.Column("webhooks_refused", sa.Integer(), nullable=False),
        sa.Column("sent_total", sa.Integer(), nullable=False),
        sa.Column("send_failures", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channel.id"],
            name=op.f("fk_channel_connector_channel_id_channel"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_connector")),
        sa.UniqueConstraint("channel_id", name=op.f("uq_channel_connector_channel_id")),
    )


def downgrade() -> None:
    op.drop_table("channel_connector")
