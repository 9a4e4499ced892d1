"""Tables owned by the relationships domain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from rapport.storage.base import Base, BigId, UTCDateTime, utcnow


class Person(Base):
    """A human on the other side of the relationship, across all identities."""

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PersonIdentity(Base):
    """Which person an identity belongs to (exactly one)."""

    __tablename__ = "person_identity"

    identity_id: Mapped[int] = mapped_column(
        ForeignKey("identity.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: How the link was made: `auto` on first sight, `merge` by a person's hand.
    source: Mapped[str] = mapped_column(String(20), default="auto")
