"""network: interactions, ties, state

Revision ID: network_0001
Revises: 0002_audit_users
Create Date: 2026-11-24 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import rapport.storage.base

revision: str = "network_0001"
down_revision: str | Sequence[str] | None = "0002_audit_users"
branch_labels: str | Sequence[str] | None = ("network",)
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "network_interaction",
        sa.Column("message_id", _ID, nullable=False),
        sa.Column("target_identity_id", _ID, nullable=False),
        sa.Column("source_identity_id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("at", rapport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("parent_message_id", _ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["message.id"],
            name=op.f("fk_network_interaction_message_id_message"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_message_id"],
            ["message.id"],
            name=op.f("fk_network_interaction_parent_message_id_message"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["source_identity_id"],
            ["identity.id"],
            name=op.f("fk_network_interaction_source_identity_id_identity"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_identity_id"],
            ["identity.id"],
            name=op.f("fk_network_interaction_target_identity_id_identity"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "message_id", "target_identity_id", name=op.f("pk_network_interaction")
        ),
    )
    with op.batch_alter_table("network_interaction", schema=None) as batch_op:
        batch_op.create_index("ix_network_interaction_source", ["source_identity_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_network_interaction_parent_message_id"),
            ["parent_message_id"],
            unique=False,
        )
    op.create_table(
        "network_tie",
        sa.Column("source_identity_id", _ID, nullable=False),
        sa.Column("target_identity_id", _ID, nullable=False),
        sa.Column("replies", sa.Integer(), nullable=False),
        sa.Column("mentions", sa.Integer(), nullable=False),
        sa.Column("first_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_at", rapport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_identity_id"],
            ["identity.id"],
            name=op.f("fk_network_tie_source_identity_id_identity"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_identity_id"],
            ["identity.id"],
            name=op.f("fk_network_tie_target_identity_id_identity"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "source_identity_id", "target_identity_id", name=op.f("pk_network_tie")
        ),
    )
    with op.batch_alter_table("network_tie", schema=None) as batch_op:
        batch_op.create_index("ix_network_tie_target", ["target_identity_id"], unique=False)
    state = op.create_table(
        "network_state",
        sa.Column("key", sa.String(length=50), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_network_state")),
    )
    # Messages stored before this domain existed never went through its hook:
    # the first `rapport network` rebuilds the graph from them.
    has_messages = op.get_bind().execute(sa.text("SELECT 1 FROM message LIMIT 1")).first()
    if has_messages is not None:
        op.bulk_insert(state, [{"key": "needs_rebuild", "value": "1"}])


def downgrade() -> None:
    op.drop_table("network_state")
    with op.batch_alter_table("network_tie", schema=None) as batch_op:
        batch_op.drop_index("ix_network_tie_target")
    op.drop_table("network_tie")
    with op.batch_alter_table("network_interaction", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_network_interaction_parent_message_id"))
        batch_op.drop_index("ix_network_interaction_source")
    op.drop_table("network_interaction")
