"""Tables owned by the preferences domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from rapport.storage.base import Base, BigId, UTCDateTime, utcnow

#: What a customer can ask for from their preference page.
KINDS = ("export", "erasure", "consent", "preferred_channel")
STATUSES = ("open", "done", "rejected")


class CustomerRequest(Base):
    """Something a customer asked for on their preference page.

    ``person_id`` is deliberately not a foreign key: the record that an
    erasure was asked for and carried out outlives the person's data.
    ``details`` holds channel names and choices, never personal text.
    """

    __tablename__ = "customer_request"
    __table_args__ = (Index("ix_customer_request_status_at", "status", "requested_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(BigInteger, index=True)
    kind: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20), default="open")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    #: Who closed it (a user's email).
    handled_by: Mapped[str | None] = mapped_column(String(255), default=None)
    note: Mapped[str | None] = mapped_column(String(500), default=None)
