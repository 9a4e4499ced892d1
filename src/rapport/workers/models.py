"""Tables owned by the workers face: distributed-ingest chunk markers, the
dead letters of tasks that could not be done, and redelivery counts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rapport.storage.base import Base, BigId, UTCDateTime, utcnow


class IngestChunk(Base):
    """One chunk of a distributed import, written in the same transaction as
    the chunk's messages: its presence means the chunk is stored, so a
    redelivered chunk is recognised and not counted twice."""

    __tablename__ = "ingest_chunk"
    __table_args__ = (UniqueConstraint("import_batch_id", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    import_batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    read: Mapped[int] = mapped_column(Integer, default=0)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(255), default=None)
    done_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeadLetter(Base):
    """A task that failed for good (retries exhausted, a permanent error, or
    delivered too often): kept whole, so it can be read and replayed."""

    __tablename__ = "task_dead_letter"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[str] = mapped_column(String(64), index=True)
    task_name: Mapped[str] = mapped_column(String(200))
    queue: Mapped[str | None] = mapped_column(String(200), default=None)
    args: Mapped[list[Any]] = mapped_column(JSON, default=list)
    kwargs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error_type: Mapped[str] = mapped_column(String(200))
    error: Mapped[str] = mapped_column(Text)
    traceback: Mapped[str | None] = mapped_column(Text, default=None)
    retries: Mapped[int] = mapped_column(Integer, default=0)
    #: "failed" (waiting for a person) or "replayed".
    status: Mapped[str] = mapped_column(String(20), default="failed", index=True)
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    replayed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    replay_task_id: Mapped[str | None] = mapped_column(String(64), default=None)


class TaskDelivery(Base):
    """How often a message was delivered again (the broker's `redelivered`
    flag): a message that keeps killing its worker is dead-lettered."""

    __tablename__ = "task_delivery"

    task_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    task_name: Mapped[str] = mapped_column(String(200))
    deliveries: Mapped[int] = mapped_column(Integer, default=1)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
