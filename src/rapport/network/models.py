"""Tables owned by the network domain.

`network_interaction` is the truth: one row per (message, identity it
addresses), a reply or a mention. `network_tie` aggregates it per directed
pair of identities and is kept up to date incrementally on every stored
batch (deltas, never a rebuild). People and accounts are mapped onto the
identities when the graph is read, so merging two people needs no rewrite.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from rapport.storage.base import Base, UTCDateTime

REPLY = "reply"
#: `network_state` key set by the first migration when messages already exist.
NEEDS_REBUILD = "needs_rebuild"
MENTION = "mention"


class NetworkInteraction(Base):
    """One message addressing one identity: a reply to its message, or an
    `@mention` of it (a reply's own `@parent` mention counts as the reply)."""

    __tablename__ = "network_interaction"
    __table_args__ = (Index("ix_network_interaction_source", "source_identity_id"),)

    message_id: Mapped[int] = mapped_column(
        ForeignKey("message.id", ondelete="CASCADE"), primary_key=True
    )
    target_identity_id: Mapped[int] = mapped_column(
        ForeignKey("identity.id", ondelete="CASCADE"), primary_key=True
    )
    source_identity_id: Mapped[int] = mapped_column(ForeignKey("identity.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The message replied to (replies only).
    parent_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("message.id", ondelete="SET NULL"), default=None, index=True
    )


class NetworkTie(Base):
    """Interactions from one identity to another, aggregated."""

    __tablename__ = "network_tie"
    __table_args__ = (Index("ix_network_tie_target", "target_identity_id"),)

    source_identity_id: Mapped[int] = mapped_column(
        ForeignKey("identity.id", ondelete="CASCADE"), primary_key=True
    )
    target_identity_id: Mapped[int] = mapped_column(
        ForeignKey("identity.id", ondelete="CASCADE"), primary_key=True
    )
    replies: Mapped[int] = mapped_column(Integer, default=0)
    mentions: Mapped[int] = mapped_column(Integer, default=0)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NetworkState(Base):
    """Small facts about the graph itself (`needs_rebuild`)."""

    __tablename__ = "network_state"

    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
