"""Tables owned by the conversations domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from rapport.storage.base import Base, BigId, UTCDateTime, utcnow

INBOUND = "inbound"
OUTBOUND = "outbound"


class Channel(Base):
    """A place messages come from: `twitter`, `reviews`, a feed, a mailbox..."""

    __tablename__ = "channel"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(40), default="import")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Identity(Base):
    """One handle on one channel (a Twitter id, an email address, a phone)."""

    __tablename__ = "identity"
    __table_args__ = (UniqueConstraint("channel_id", "handle_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id", ondelete="CASCADE"))
    handle: Mapped[str] = mapped_column(String(255))
    #: The handle as matched: case-folded, so `@AmazonHelp` finds `amazonhelp`.
    handle_key: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Account(Base):
    """One of our own brand handles: an identity we speak as, never a person."""

    __tablename__ = "account"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    identity_id: Mapped[int] = mapped_column(
        ForeignKey("identity.id", ondelete="CASCADE"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Thread(Base):
    """A conversation: the connected group of messages formed by reply links."""

    __tablename__ = "thread"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id", ondelete="CASCADE"))
    first_message_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ImportBatch(Base):
    """One run of an importer over one source (a file, a poll, a webhook)."""

    __tablename__ = "import_batch"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(40))
    channel_name: Mapped[str | None] = mapped_column(String(100), default=None)
    sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    status: Mapped[str] = mapped_column(String(20), default="running")
    read: Mapped[int] = mapped_column(Integer, default=0)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class Message(Base):
    """One message, stored once per (channel, external id), raw payload kept."""

    __tablename__ = "message"
    __table_args__ = (
        UniqueConstraint("channel_id", "external_id"),
        Index("ix_message_channel_parent", "channel_id", "parent_external_id"),
        Index("ix_message_direction_author", "direction", "author_identity_id"),
        Index("ix_message_thread_created", "thread_id", "created_at"),
        Index("ix_message_author_created", "author_identity_id", "created_at"),
        # Brands' messages for the report (per brand: count, threads), read
        # from the index alone; added by the `scale` migration branch.
        Index(
            "ix_message_outbound_author_thread",
            "author_identity_id",
            "thread_id",
            postgresql_where=text("direction = 'outbound'"),
            sqlite_where=text("direction = 'outbound'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(255))
    author_identity_id: Mapped[int | None] = mapped_column(
        ForeignKey("identity.id", ondelete="SET NULL"), default=None
    )
    direction: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    text: Mapped[str] = mapped_column(Text)
    #: The inbound payload exactly as received (a CSV record, a JSON line...).
    raw: Mapped[str] = mapped_column(Text)
    parent_external_id: Mapped[str | None] = mapped_column(String(255), default=None)
    thread_id: Mapped[int] = mapped_column(ForeignKey("thread.id"))
    import_batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("import_batch.id", ondelete="SET NULL"), default=None
    )
    #: Parsed extras of the source (retweet count, star rating, response ids...).
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MessageMention(Base):
    """An `@handle` written in a message's text (case-folded)."""

    __tablename__ = "message_mention"
    __table_args__ = (Index("ix_message_mention_handle", "handle_key"),)

    message_id: Mapped[int] = mapped_column(
        ForeignKey("message.id", ondelete="CASCADE"), primary_key=True
    )
    handle_key: Mapped[str] = mapped_column(String(255), primary_key=True)


class PendingReference(Base):
    """A reply link to a message not stored yet; resolved (and deleted) when
    that message arrives, merging the two threads."""

    __tablename__ = "pending_reference"
    __table_args__ = (Index("ix_pending_reference_target", "channel_id", "target_external_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id", ondelete="CASCADE"))
    source_message_id: Mapped[int] = mapped_column(
        ForeignKey("message.id", ondelete="CASCADE"), index=True
    )
    target_external_id: Mapped[str] = mapped_column(String(255))


class QuarantinedRow(Base):
    """Input that could not be stored, kept raw with where and why."""

    __tablename__ = "quarantined_row"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: sha256 of (source, line, raw): the same bad row is kept once, however often imported.
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    import_batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("import_batch.id", ondelete="SET NULL"), default=None
    )
    source: Mapped[str] = mapped_column(Text)
    line: Mapped[int | None] = mapped_column(Integer, default=None)
    field: Mapped[str | None] = mapped_column(String(100), default=None)
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text)
    #: The undecodable bytes themselves, when the row was not valid UTF-8.
    raw_bytes: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    retried: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
