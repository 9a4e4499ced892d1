"""preferences: customer requests from the preference page

Revision ID: preferences_0001
Revises: 0002_audit_users
Create Date: 2026-11-24 08:34:00.509507
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import rapport.storage.base

revision: str = "preferences_0001"
down_revision: str | Sequence[str] | None = "0002_audit_users"
branch_labels: str | Sequence[str] | None = ("preferences",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_request",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("requested_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("handled_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("handled_by", sa.String(length=255), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_request")),
    )
    with op.batch_alter_table("customer_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_request_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            "ix_customer_request_status_at", ["status", "requested_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("customer_request", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_request_status_at")
        batch_op.drop_index(batch_op.f("ix_customer_request_person_id"))
    op.drop_table("customer_request")
