"""Tables owned by the analysis domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from rapport.storage.base import Base, BigId, UTCDateTime, utcnow


class MessageAnalysis(Base):
    """The stored understanding of one message (one row per message; every
    stage's value, its evidence, and the versions of the models used)."""

    __tablename__ = "message_analysis"
    __table_args__ = (
        Index("ix_message_analysis_topic", "topic_id"),
        Index("ix_message_analysis_version", "model_version"),
    )

    message_id: Mapped[int] = mapped_column(
        ForeignKey("message.id", ondelete="CASCADE"), primary_key=True
    )
    language: Mapped[str] = mapped_column(String(8))
    sentiment: Mapped[str] = mapped_column(String(10))
    sentiment_score: Mapped[float] = mapped_column(Float)
    intent: Mapped[str] = mapped_column(String(12))
    intent_confidence: Mapped[float] = mapped_column(Float)
    urgency: Mapped[float] = mapped_column(Float)
    topic_id: Mapped[int | None] = mapped_column(
        ForeignKey("analysis_topic.id", ondelete="SET NULL"), default=None
    )
    #: Topic labels as shown (the scope's topic, or a general topic).
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    tier: Mapped[str] = mapped_column(String(10))
    #: `fast:<hash>+topics:<hash>...`: what produced this row.
    model_version: Mapped[str] = mapped_column(String(200))
    analyzed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AnalysisTopic(Base):
    """A discovered topic (a customer job to be done) in one scope: a brand
    account, or a channel when messages address no brand."""

    __tablename__ = "analysis_topic"
    __table_args__ = (
        UniqueConstraint("scope", "run_id", "rank"),
        Index("ix_analysis_topic_scope", "scope", "active"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: `brand:<handle key>` or `channel:<name>`.
    scope: Mapped[str] = mapped_column(String(300))
    run_id: Mapped[str] = mapped_column(String(40))
    rank: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(300))
    terms: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    centroid: Mapped[list[float]] = mapped_column(JSON, default=list)
    size: Mapped[int] = mapped_column(Integer, default=0)
    seed: Mapped[int] = mapped_column(Integer, default=0)
    method: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CustomIntentSet(Base):
    """A team's own intent labels, trained from examples; stored here so
    every worker and every process uses the same model."""

    __tablename__ = "custom_intent_set"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    labels: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    examples: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    model: Mapped[bytes] = mapped_column(LargeBinary)
    version: Mapped[str] = mapped_column(String(40))
    method: Mapped[str] = mapped_column(String(100))
    source: Mapped[str | None] = mapped_column(Text, default=None)
    created_by: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
