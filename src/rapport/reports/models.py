"""Tables owned by the reports domain (insights).

- `insight_bucket` / `insight_topic_bucket` / `insight_thread_hour`: counts
  pre-aggregated per UTC hour, maintained by the ingest hook inside each
  stored batch's transaction (`rapport.reports.buckets`), so trends and
  alerts read a few thousand rows instead of every message.
- `listening_query` / `listening_match`: saved listening queries and the
  messages they matched (tagged on arrival, and backfilled when a query is
  added).
- `alert_rule` / `alert_notification`: configurable spike rules, and every
  notification sent for an alert (one per rule and alert: never twice).
- `insight_setting`: settings a manager records (the believed ranking of why
  customers engage, for the perception gap).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from rapport.storage.base import Base, BigId, UTCDateTime, utcnow

#: `query_id` of the buckets counting every message (not one listening query's).
ALL_MESSAGES = 0


class InsightBucket(Base):
    """Messages of one UTC hour, channel, brand and direction (and listening
    query: `query_id` 0 counts every message, n > 0 those query n matched)."""

    __tablename__ = "insight_bucket"
    #: SQLite: the key is the table (no rowid), so range scans read no second index.
    __table_args__ = ({"sqlite_with_rowid": False},)

    query_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channel.id", ondelete="CASCADE"), primary_key=True
    )
    #: The brand handle (case-folded) the message is by or addressed to; '' for none.
    brand: Mapped[str] = mapped_column(String(255), primary_key=True)
    direction: Mapped[str] = mapped_column(String(10), primary_key=True)
    messages: Mapped[int] = mapped_column(Integer, default=0)
    #: Messages with a stored analysis; the three sentiments add up to it.
    analysed: Mapped[int] = mapped_column(Integer, default=0)
    negative: Mapped[int] = mapped_column(Integer, default=0)
    neutral: Mapped[int] = mapped_column(Integer, default=0)
    positive: Mapped[int] = mapped_column(Integer, default=0)
    score_sum: Mapped[float] = mapped_column(Float, default=0.0)
    complaints: Mapped[int] = mapped_column(Integer, default=0)
    #: Reshares the platform reported (retweet counts in the message's meta).
    reshares: Mapped[int] = mapped_column(Integer, default=0)


class InsightTopicBucket(Base):
    """Analysed inbound messages of one hour, channel, brand and topic label
    (a message with two topics counts under both)."""

    __tablename__ = "insight_topic_bucket"
    __table_args__ = ({"sqlite_with_rowid": False},)

    query_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Second in the key: a topic's hours are contiguous, and "per topic and
    #: hour" aggregates stream in key order.
    topic: Mapped[str] = mapped_column(String(300), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channel.id", ondelete="CASCADE"), primary_key=True
    )
    brand: Mapped[str] = mapped_column(String(255), primary_key=True)
    messages: Mapped[int] = mapped_column(Integer, default=0)
    negative: Mapped[int] = mapped_column(Integer, default=0)
    neutral: Mapped[int] = mapped_column(Integer, default=0)
    positive: Mapped[int] = mapped_column(Integer, default=0)
    score_sum: Mapped[float] = mapped_column(Float, default=0.0)


class InsightThreadHour(Base):
    """Activity of one thread in one hour: messages and reshares, for the
    velocity of a single conversation (a complaint going viral)."""

    __tablename__ = "insight_thread_hour"
    __table_args__ = (
        # Velocity looks for the few thread-hours above a threshold.
        Index("ix_insight_thread_hour_activity", "activity"),
        {"sqlite_with_rowid": False},
    )

    thread_id: Mapped[int] = mapped_column(
        ForeignKey("thread.id", ondelete="CASCADE"), primary_key=True
    )
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    messages: Mapped[int] = mapped_column(Integer, default=0)
    reshares: Mapped[int] = mapped_column(Integer, default=0)
    #: messages + reshares: what the velocity rule compares with its threshold.
    activity: Mapped[int] = mapped_column(Integer, default=0)
    negative: Mapped[int] = mapped_column(Integer, default=0)
    complaints: Mapped[int] = mapped_column(Integer, default=0)


class ListeningQuery(Base):
    """A saved listening query (`"refund" AND (flight OR trip) NOT spam`),
    optionally about our brand or a competitor (for share of voice)."""

    __tablename__ = "listening_query"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    query: Mapped[str] = mapped_column(Text)
    #: `brand` (ours), `competitor`, or `general`.
    kind: Mapped[str] = mapped_column(String(12), default="general")
    #: The brand or competitor handle it is about (case-folded, no '@').
    brand: Mapped[str | None] = mapped_column(String(255), default=None)
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ListeningMatch(Base):
    """A message a listening query matched."""

    __tablename__ = "listening_match"
    __table_args__ = (Index("ix_listening_match_message", "message_id"),)

    query_id: Mapped[int] = mapped_column(
        ForeignKey("listening_query.id", ondelete="CASCADE"), primary_key=True
    )
    message_id: Mapped[int] = mapped_column(
        ForeignKey("message.id", ondelete="CASCADE"), primary_key=True
    )


class AlertRule(Base):
    """A spike rule: what to watch, how unusual is unusual, whom to tell."""

    __tablename__ = "alert_rule"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    #: `volume`, `negative` or `velocity`.
    kind: Mapped[str] = mapped_column(String(12))
    #: `all`, `brand`, `topic`, `query` (every one of them), or one of them
    #: (`brand:united`, `query:refunds`, `topic:<label>`); velocity: `thread`.
    scope: Mapped[str] = mapped_column(String(400), default="all")
    bucket: Mapped[str] = mapped_column(String(5), default="hour")
    #: Days of history the baseline is read from.
    baseline_days: Mapped[int] = mapped_column(Integer, default=7)
    #: Robust z-score at or above which a bucket is anomalous.
    threshold: Mapped[float] = mapped_column(Float, default=3.5)
    #: Fewer observed messages than this never alert.
    min_count: Mapped[int] = mapped_column(Integer, default=20)
    notify_channel: Mapped[str | None] = mapped_column(String(100), default=None)
    notify_to: Mapped[str | None] = mapped_column(String(255), default=None)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AlertNotification(Base):
    """One alert told to one rule's recipients (sent or failed, and why)."""

    __tablename__ = "alert_notification"
    __table_args__ = (UniqueConstraint("rule_id", "fingerprint"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rule.id", ondelete="CASCADE"))
    #: sha256 of (kind, scope, start): an alert that grows is the same alert.
    fingerprint: Mapped[str] = mapped_column(String(64))
    alert: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    channel: Mapped[str] = mapped_column(String(100))
    recipient: Mapped[str | None] = mapped_column(String(255), default=None)
    #: `sent` or `failed` (a retryable failure is tried again on the next run).
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    retryable: Mapped[bool] = mapped_column(Boolean, default=False)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    receipt_id: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class InsightSetting(Base):
    """A setting a manager records (e.g. `perception.believed`)."""

    __tablename__ = "insight_setting"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
