"""Tables owned by the engagement domain.

- `triage_policy`: every version of the triage policy (YAML as written).
- `thread_state`: one row per thread: the decision with its rule and reason,
  the priority with its factors, SLA dues and breaches, assignment, status.
- `outbox_item`: every reply (and survey) on its way out, never deleted.
- `team`: the teams users belong to (`app_user.team` names one).
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
)
from sqlalchemy.orm import Mapped, mapped_column

from rapport.storage.base import Base, BigId, UTCDateTime, utcnow

#: Decisions a policy may take.
DECISIONS = ("respond_now", "respond", "move_private", "escalate", "listen_only")
#: Thread statuses (issue 13): `pending` waits on the customer, `snoozed` until a time.
STATUSES = ("open", "pending", "snoozed", "resolved")
#: Outbox states: `pending` (queued or waiting for a retry), `sending`, `sent`,
#: `failed` (the platform refused, retries exhausted), `undeliverable` (no way out).
OUTBOX_STATES = ("pending", "sending", "sent", "failed", "undeliverable")


class TriagePolicy(Base):
    """One version of the triage policy; the highest version is in force."""

    __tablename__ = "triage_policy"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    name: Mapped[str] = mapped_column(String(200))
    #: The YAML document exactly as it was set.
    source: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Team(Base):
    """A team of users (support, social, VIP...): threads and SLAs per team."""

    __tablename__ = "team"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ThreadState(Base):
    """What engagement knows and decided about one thread."""

    __tablename__ = "thread_state"
    __table_args__ = (
        Index("ix_thread_state_inbox", "status", "priority", "thread_id"),
        Index("ix_thread_state_priority", "priority", "thread_id"),
        Index("ix_thread_state_assignee", "assignee_user_id", "status"),
        Index("ix_thread_state_team", "team_id", "status"),
        Index("ix_thread_state_channel", "channel_id", "status"),
        Index("ix_thread_state_decision", "decision", "status"),
        Index("ix_thread_state_status_decision", "status", "decision"),
        Index("ix_thread_state_due", "sla_due_at"),
        Index("ix_thread_state_snoozed", "status", "snoozed_until"),
    )

    thread_id: Mapped[int] = mapped_column(
        ForeignKey("thread.id", ondelete="CASCADE"), primary_key=True
    )
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id", ondelete="CASCADE"))
    #: The first customer who wrote (not one of our accounts).
    customer_identity_id: Mapped[int | None] = mapped_column(BigId, default=None)
    #: The account we speak as on this thread (the one that answered or was addressed).
    brand_identity_id: Mapped[int | None] = mapped_column(BigId, default=None)

    decision: Mapped[str] = mapped_column(String(20))
    rule_id: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    policy_version: Mapped[int] = mapped_column(Integer)
    #: The features the rule looked at (intent, urgency, evidence words...).
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    #: 0..100, higher first; `priority_factors` explains it.
    priority: Mapped[float] = mapped_column(Float, default=0.0)
    priority_factors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    #: The customer's first unanswered message (None: nothing waits for us).
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    #: When our next answer is due (first or next response), None when nothing is due.
    sla_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    #: `first_response` or `next_response`: which SLA `sla_due_at` is.
    sla_kind: Mapped[str | None] = mapped_column(String(20), default=None)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    #: Answers that came later than their SLA (first and next responses).
    sla_breaches: Mapped[int] = mapped_column(Integer, default=0)

    first_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_outbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_message_id: Mapped[int | None] = mapped_column(BigId, default=None)
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    message_count: Mapped[int] = mapped_column(Integer, default=0)

    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("team.id", ondelete="SET NULL"), default=None
    )
    assignee_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL"), default=None
    )
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    #: `claim` (the agent took it) or `assign` (a manager gave it).
    assigned_how: Mapped[str | None] = mapped_column(String(10), default=None)

    status: Mapped[str] = mapped_column(String(10), default="open")
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)

    csat_score: Mapped[int | None] = mapped_column(Integer, default=None)
    csat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxItem(Base):
    """A message on its way out through a channel's connector."""

    __tablename__ = "outbox_item"
    __table_args__ = (Index("ix_outbox_item_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    thread_id: Mapped[int | None] = mapped_column(
        ForeignKey("thread.id", ondelete="SET NULL"), default=None, index=True
    )
    #: `reply`, or `csat` (a satisfaction survey).
    kind: Mapped[str] = mapped_column(String(10), default="reply")
    channel: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    to_handle: Mapped[str | None] = mapped_column(String(255), default=None)
    in_reply_to_external_id: Mapped[str | None] = mapped_column(String(255), default=None)
    from_account: Mapped[str | None] = mapped_column(String(255), default=None)
    person_id: Mapped[int | None] = mapped_column(BigId, default=None)
    #: The canned response it was written from, if any.
    canned: Mapped[str | None] = mapped_column(String(100), default=None)

    status: Mapped[str] = mapped_column(String(15), default="pending")
    #: Why it is in that state (the platform's refusal, "no connector"...).
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    external_id: Mapped[str | None] = mapped_column(String(255), default=None)
    #: The outbound message the sent reply became.
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("message.id", ondelete="SET NULL"), default=None
    )
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


# ---------------------------------------------------------------- inbox essentials


class Label(Base):
    """A label for threads and people (`vip`, `billing`, `bug-1234`...)."""

    __tablename__ = "label"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ThreadLabel(Base):
    __tablename__ = "thread_label"
    __table_args__ = (Index("ix_thread_label_label", "label_id", "thread_id"),)

    thread_id: Mapped[int] = mapped_column(
        ForeignKey("thread.id", ondelete="CASCADE"), primary_key=True
    )
    label_id: Mapped[int] = mapped_column(
        ForeignKey("label.id", ondelete="CASCADE"), primary_key=True
    )
    actor: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PersonLabel(Base):
    """A label on a person: personal data (in their export, gone on erasure)."""

    __tablename__ = "person_label"
    __table_args__ = (Index("ix_person_label_label", "label_id", "person_id"),)

    person_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), primary_key=True
    )
    label_id: Mapped[int] = mapped_column(
        ForeignKey("label.id", ondelete="CASCADE"), primary_key=True
    )
    actor: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ThreadNote(Base):
    """An internal note on a thread: never sent, never a message, never counted."""

    __tablename__ = "thread_note"
    __table_args__ = (Index("ix_thread_note_thread", "thread_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("thread.id", ondelete="CASCADE"))
    author: Mapped[str] = mapped_column(String(255))
    author_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL"), default=None
    )
    text: Mapped[str] = mapped_column(Text)
    #: Usernames the note @mentions (each was notified).
    mentions: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Notification(Base):
    """Something for one user to see (an @mention in a note)."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user", "user_id", "read_at", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20), default="mention")
    thread_id: Mapped[int | None] = mapped_column(
        ForeignKey("thread.id", ondelete="SET NULL"), default=None
    )
    note_id: Mapped[int | None] = mapped_column(
        ForeignKey("thread_note.id", ondelete="CASCADE"), default=None
    )
    actor: Mapped[str] = mapped_column(String(255))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class CannedResponse(Base):
    """A reusable answer with `{{variables}}`, picked by its shortcode."""

    __tablename__ = "canned_response"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shortcode: Mapped[str] = mapped_column(String(50), unique=True)
    text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CsatSurvey(Base):
    """A one-question satisfaction survey sent when a thread was resolved."""

    __tablename__ = "csat_survey"
    __table_args__ = (Index("ix_csat_survey_thread", "thread_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    thread_id: Mapped[int | None] = mapped_column(
        ForeignKey("thread.id", ondelete="SET NULL"), default=None
    )
    outbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox_item.id", ondelete="SET NULL"), default=None
    )
    person_id: Mapped[int | None] = mapped_column(BigId, default=None)
    channel: Mapped[str] = mapped_column(String(100))
    #: Who held the thread when it was resolved (CSAT per agent).
    agent_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL"), default=None
    )
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("team.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    score: Mapped[int | None] = mapped_column(Integer, default=None)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    answer_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("message.id", ondelete="SET NULL"), default=None
    )
    #: `reply` (a digit) or `webhook` (a `{"csat": N}` body).
    via: Mapped[str | None] = mapped_column(String(10), default=None)


class SavedView(Base):
    """A named inbox filter (`inbox --view NAME`)."""

    __tablename__ = "saved_view"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ThreadEvent(Base):
    """A thread's status change: the history behind resolution time, reopen
    rate and time in pending."""

    __tablename__ = "thread_event"
    __table_args__ = (
        Index("ix_thread_event_thread", "thread_id", "at"),
        Index("ix_thread_event_at", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("thread.id", ondelete="CASCADE"))
    from_status: Mapped[str] = mapped_column(String(10))
    to_status: Mapped[str] = mapped_column(String(10))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(Text, default="")
    #: Who held the thread then (resolution time per agent).
    assignee_user_id: Mapped[int | None] = mapped_column(BigId, default=None)
