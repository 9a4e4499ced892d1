"""scheduling: the schedule table (periodic jobs of every domain)

Revision ID: scheduling_0001
Revises: 0002_audit_users
Create Date: 2026-11-24 08:41:57.605812
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import rapport.storage.base

revision: str = "scheduling_0001"
down_revision: str | Sequence[str] | None = "0002_audit_users"
branch_labels: str | Sequence[str] | None = ("scheduling",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scheduled_job",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=100), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("interval_seconds", sa.Float(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("next_run_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_run_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "last_finished_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("last_status", sa.String(length=20), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("created_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_job")),
        sa.UniqueConstraint("name", name=op.f("uq_scheduled_job_name")),
    )
    with op.batch_alter_table("scheduled_job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scheduled_job_kind"), ["kind"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_scheduled_job_next_run_at"), ["next_run_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("scheduled_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scheduled_job_next_run_at"))
        batch_op.drop_index(batch_op.f("ix_scheduled_job_kind"))
    op.drop_table("scheduled_job")
