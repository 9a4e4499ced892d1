"""Tables of the channels domain: one connector per live channel, with its
configuration, encrypted credentials, cursor and health."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rapport.storage.base import Base, BigId, UTCDateTime, utcnow


class ChannelConnector(Base):
    """The live connector of one channel (`channel` rows without one are
    imported history: nothing can be polled or sent there)."""

    __tablename__ = "channel_connector"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channel.id", ondelete="CASCADE"), unique=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    #: Settings that are not secret (URLs, handles, queries...).
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Fernet token of a JSON object of secrets (tokens, passwords, keys).
    secrets: Mapped[str | None] = mapped_column(Text, default=None)
    #: Fernet token of the connector's session state (access tokens it renews).
    state: Mapped[str | None] = mapped_column(Text, default=None)
    #: Where the next poll starts (connector-specific, often JSON).
    cursor: Mapped[str | None] = mapped_column(Text, default=None)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    poll_interval_seconds: Mapped[float] = mapped_column(Float, default=300.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # health
    last_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    #: No scheduled poll before this time (failures back off; rate limits wait).
    backoff_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    polls: Mapped[int] = mapped_column(Integer, default=0)
    fetched_total: Mapped[int] = mapped_column(Integer, default=0)
    inserted_total: Mapped[int] = mapped_column(Integer, default=0)
    duplicates_total: Mapped[int] = mapped_column(Integer, default=0)
    quarantined_total: Mapped[int] = mapped_column(Integer, default=0)
    webhooks_accepted: Mapped[int] = mapped_column(Integer, default=0)
    webhooks_refused: Mapped[int] = mapped_column(Integer, default=0)
    sent_total: Mapped[int] = mapped_column(Integer, default=0)
    send_failures: Mapped[int] = mapped_column(Integer, default=0)
