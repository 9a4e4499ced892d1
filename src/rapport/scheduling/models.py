"""The schedule table: one row per periodic job."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rapport.storage.base import Base, BigId, UTCDateTime, utcnow


class ScheduledJob(Base):
    """A job run every ``interval_seconds``; ``next_run_at`` says when next.

    Claiming a due job moves ``next_run_at`` forward by a lease in one
    conditional UPDATE, so two schedulers (two `rapport serve`, or Celery
    beat beside one) never run the same occurrence twice; a runner that dies
    mid-run lets the job fall due again when the lease ends.
    """

    __tablename__ = "scheduled_job"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(100), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    interval_seconds: Mapped[float] = mapped_column(Float)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    #: `ok`, `error`, or `running` while claimed.
    last_status: Mapped[str | None] = mapped_column(String(20), default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    runs: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
