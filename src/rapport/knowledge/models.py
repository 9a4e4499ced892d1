"""Tables owned by the knowledge domain.

Full-text indexes live beside them, made by the migration: an FTS5 table
`kb_entry_fts` (kept in step by triggers) on SQLite, a generated
`search_vector` tsvector column with a GIN index on PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rapport.storage.base import Base, BigId, UTCDateTime, utcnow

CANDIDATE = "candidate"
APPROVED = "approved"
REJECTED = "rejected"
STATUSES = (CANDIDATE, APPROVED, REJECTED)


class KnowledgeEntry(Base):
    """One question and the answer that resolved it.

    Erasing the question or answer message erases the entry with it (its
    texts are copies of those messages)."""

    __tablename__ = "kb_entry"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    status: Mapped[str] = mapped_column(String(12), default=CANDIDATE, index=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    question_message_id: Mapped[int] = mapped_column(
        ForeignKey("message.id", ondelete="CASCADE"), index=True
    )
    answer_message_id: Mapped[int] = mapped_column(
        ForeignKey("message.id", ondelete="CASCADE"), unique=True
    )
    #: `channel:handle` of who answered.
    answered_by: Mapped[str] = mapped_column(String(255))
    #: `agent` (one of our accounts) or `peer` (another customer).
    answered_by_kind: Mapped[str] = mapped_column(String(10))
    answerer_identity_id: Mapped[int | None] = mapped_column(
        ForeignKey("identity.id", ondelete="SET NULL"), default=None, index=True
    )
    #: How the answer was judged to resolve: thanked, turned_positive, no_complaint.
    outcome: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    confidence: Mapped[float] = mapped_column(Float)
    #: How many harvested pairs say the same thing (this one included).
    support: Mapped[int] = mapped_column(Integer, default=1)
    #: float32 MiniLM embeddings of the question and of the answer.
    question_embedding: Mapped[bytes] = mapped_column(LargeBinary)
    answer_embedding: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reviewed_by: Mapped[str | None] = mapped_column(String(255), default=None)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    review_note: Mapped[str | None] = mapped_column(Text, default=None)


class KnowledgeSource(Base):
    """A message an entry cites: its question, answer, the thanks, and the
    pairs merged into it as duplicates."""

    __tablename__ = "kb_source"

    entry_id: Mapped[int] = mapped_column(
        ForeignKey("kb_entry.id", ondelete="CASCADE"), primary_key=True
    )
    message_id: Mapped[int] = mapped_column(
        ForeignKey("message.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    #: question, answer, evidence (thanks...), duplicate_question, duplicate_answer.
    role: Mapped[str] = mapped_column(String(20))
