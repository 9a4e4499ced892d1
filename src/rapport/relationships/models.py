"""Tables owned by the relationships domain.

A person is one human across all their identities (channel handles, emails,
phones). Everything personal hangs off the person or its identities, so
export and erasure reach all of it. Labels on people belong to the inbox
issue (a `person_label` table keyed by `person.id`); export and erasure reach
them through the hooks in `relationships.hooks`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from rapport.storage.base import Base, BigId, UTCDateTime, utcnow

ACTIVE = "active"
MERGED = "merged"
ERASED = "erased"

ROLES = (
    "customer",
    "prospect",
    "influencer",
    "advocate",
    "detractor",
    "partner",
    "supplier",
    "employee",
)


class Person(Base):
    """A human on the other side of the relationship, across all identities."""

    __tablename__ = "person"
    __table_args__ = (
        Index("ix_person_status_last_seen", "status", "last_seen_at"),
        Index("ix_person_status", "status"),
        Index("ix_person_merged_into", "merged_into_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: `active`, `merged` (into `merged_into_id`; kept so the merge can be undone) or `erased`.
    status: Mapped[str] = mapped_column(String(10), default=ACTIVE, server_default=ACTIVE)
    merged_into_id: Mapped[int | None] = mapped_column(BigId, default=None)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    #: Activity of the person's identities (inbound messages), kept on ingest.
    first_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    message_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    #: Case-folded handles, names, emails and phones: what `people list --q` searches
    #: (indexed by trigrams: FTS5 `person_search` on SQLite, pg_trgm on PostgreSQL).
    search_key: Mapped[str] = mapped_column(Text, default="", server_default="")


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


class IdentityAttribute(Base):
    """A contact point known for an identity: an email or a phone number."""

    __tablename__ = "identity_attribute"
    __table_args__ = (
        UniqueConstraint("identity_id", "kind", "value_key"),
        Index("ix_identity_attribute_kind_key", "kind", "value_key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identity.id", ondelete="CASCADE"))
    #: `email` or `phone`.
    kind: Mapped[str] = mapped_column(String(10))
    value: Mapped[str] = mapped_column(String(320))
    #: As matched: emails case-folded, phones as `+` and digits.
    value_key: Mapped[str] = mapped_column(String(320))
    source: Mapped[str] = mapped_column(String(40), default="manual")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PersonRole(Base):
    """A role a person holds: set by hand (`manual`), suggested by a rule
    (`suggested`, with its reason), or a suggestion a user turned down
    (`dismissed`, never suggested again)."""

    __tablename__ = "person_role"
    __table_args__ = (Index("ix_person_role_role", "role", "person_id"),)

    person_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(20), primary_key=True)
    source: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PersonHealth(Base):
    """The latest relationship health of a person, with its factors."""

    __tablename__ = "person_health"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), primary_key=True
    )
    score: Mapped[float] = mapped_column(Float, index=True)
    #: Points gained or lost over the trend window; None for a new relationship.
    trend: Mapped[float | None] = mapped_column(Float, default=None)
    previous_score: Mapped[float | None] = mapped_column(Float, default=None)
    factors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    explanation: Mapped[str] = mapped_column(Text, default="")
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PersonHealthStale(Base):
    """People whose stored health no longer reflects their messages (queued
    on ingest, cleared when recomputed)."""

    __tablename__ = "person_health_stale"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), primary_key=True
    )


class Consent(Base):
    """Allow or deny contacting a person on a channel (`*`: every channel)."""

    __tablename__ = "consent"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), primary_key=True
    )
    channel: Mapped[str] = mapped_column(String(100), primary_key=True)
    allowed: Mapped[bool] = mapped_column(Boolean)
    #: Where it came from: `cli`, `api`, `customer`, `merge`...
    source: Mapped[str] = mapped_column(String(40), default="manual")
    actor: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PersonPreference(Base):
    """How a person wants to be reached."""

    __tablename__ = "person_preference"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), primary_key=True
    )
    preferred_channel: Mapped[str | None] = mapped_column(String(100), default=None)
    #: Local wall-clock times `HH:MM`; the window may wrap midnight (22:00-07:00).
    quiet_start: Mapped[str | None] = mapped_column(String(5), default=None)
    quiet_end: Mapped[str | None] = mapped_column(String(5), default=None)
    timezone: Mapped[str | None] = mapped_column(String(64), default=None)
    language: Mapped[str | None] = mapped_column(String(16), default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Sale(Base):
    """A purchase or deal linked from sales data to a person."""

    __tablename__ = "sale"
    __table_args__ = (Index("ix_sale_person_occurred", "person_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    identity_id: Mapped[int | None] = mapped_column(
        ForeignKey("identity.id", ondelete="SET NULL"), default=None
    )
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    currency: Mapped[str] = mapped_column(String(3))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    product: Mapped[str] = mapped_column(String(255))
    #: Pipeline stage; `won` (a purchase) when the file has none.
    stage: Mapped[str] = mapped_column(String(40), default="won")
    source: Mapped[str] = mapped_column(Text)
    line: Mapped[int | None] = mapped_column(Integer, default=None)
    #: sha256 of the normalised row and its repeat count in the file: re-imports add nothing.
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PersonMerge(Base):
    """One merge, with what it moved, so it can be undone exactly."""

    __tablename__ = "person_merge"
    __table_args__ = (Index("ix_person_merge_survivor", "survivor_id", "undone_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    survivor_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    absorbed_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    #: {"identity_ids": [...], "sale_ids": [...], "roles_added": [...], "absorbed": {...}}
    moved: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    actor: Mapped[str] = mapped_column(String(255))
    merged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    undone_by: Mapped[str | None] = mapped_column(String(255), default=None)


class NotDuplicate(Base):
    """Two people a user said are different: never suggested as duplicates again."""

    __tablename__ = "person_not_duplicate"

    person_a: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), primary_key=True
    )
    person_b: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), primary_key=True
    )
    actor: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PersonErasure(Base):
    """What is left of an erased person: anonymous counts, no personal data."""

    __tablename__ = "person_erasure"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), primary_key=True
    )
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
