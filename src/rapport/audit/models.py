"""The audit table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from rapport.storage.base import Base, BigId, UTCDateTime, utcnow


class AuditEvent(Base):
    """One recorded action. ``details`` must not hold personal text of a
    person who may later be erased: ids and field names, not contents."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    #: Who: a user's email, `cli:<os user>`, `system`, `customer:<person id>`.
    actor: Mapped[str] = mapped_column(String(255))
    #: What: a dotted verb such as `people.merge`, `consent.set`, `reply.queue`.
    action: Mapped[str] = mapped_column(String(100), index=True)
    subject_type: Mapped[str | None] = mapped_column(String(50), default=None)
    subject_id: Mapped[str | None] = mapped_column(String(100), default=None)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
