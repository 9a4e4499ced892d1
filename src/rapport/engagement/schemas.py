"""Pydantic schemas of the engagement domain (the API and `--json` shapes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rapport.conversations.schemas import MessagePreview


class InboxItem(BaseModel):
    """One thread in the inbox: its decision and why, priority and why, SLA."""

    thread_id: int
    customer_id: int | None
    customer: str | None = None
    customer_identity_id: int | None = None
    channel: str
    decision: str
    rule_id: str
    reason: str
    priority: float
    #: The factors behind the priority, in words ("urgency 12 + sla 25 + ...").
    priority_reason: str
    sla_due_at: datetime | None
    sla_kind: str | None = None
    #: The answer is overdue now.
    sla_overdue: bool = False
    #: Answers given later than their SLA so far.
    sla_breaches: int = 0
    waiting_since: datetime | None = None
    assignee: str | None
    team: str | None = None
    status: str
    labels: list[str] = Field(default_factory=list)
    message_count: int = 0
    first_message_at: datetime | None = None
    last_message_at: datetime | None = None
    last_message: MessagePreview | None


class InboxPage(BaseModel):
    items: list[InboxItem]
    #: Threads matching the filters (all pages), counted up to 5000.
    total: int
    #: The count stopped at its cap: there are more than ``total``.
    total_capped: bool = False
    limit: int
    offset: int = 0
    #: Threads per status under the same filters (the status tabs), each up to 5000.
    counts: dict[str, int] = Field(default_factory=dict)
    filters: dict[str, Any] = Field(default_factory=dict)


class InboxFilter(BaseModel):
    """What `rapport inbox` and `GET /api/v1/inbox` filter on."""

    all: bool = False
    status: str | None = None
    team: str | None = None
    channel: str | None = None
    decision: str | None = None
    #: A username, email or id; `none` for unassigned threads.
    assignee: str | None = None
    label: str | None = None
    limit: int = Field(50, ge=1, le=1000)
    offset: int = Field(0, ge=0)


class DecisionPublic(BaseModel):
    """A thread's triage: decision, rule and reason, priority with factors, SLA."""

    thread_id: int
    decision: str
    rule_id: str
    reason: str
    policy_version: int
    evidence: dict[str, Any]
    decided_at: datetime
    priority: float
    priority_factors: list[dict[str, Any]]
    priority_reason: str
    waiting_since: datetime | None
    sla_due_at: datetime | None
    sla_kind: str | None
    sla_overdue: bool
    sla_breaches: int
    first_response_at: datetime | None
    assignee: str | None
    assigned_at: datetime | None
    assigned_how: str | None
    team: str | None
    status: str
    status_changed_at: datetime
    resolved_at: datetime | None
    snoozed_until: datetime | None
    reopen_count: int
    csat_score: int | None
    csat_at: datetime | None
    customer_id: int | None
    customer_identity_id: int | None
    brand_identity_id: int | None


class OutboxPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    thread_id: int | None
    kind: str
    channel: str
    text: str
    private: bool
    to_handle: str | None
    in_reply_to_external_id: str | None
    from_account: str | None
    person_id: int | None
    canned: str | None
    status: str
    reason: str | None
    attempts: int
    max_attempts: int
    next_attempt_at: datetime | None
    external_id: str | None
    message_id: int | None
    created_by: str
    created_at: datetime
    sent_at: datetime | None


class ReplyCreate(BaseModel):
    """A reply to a thread (the API body of `POST /api/v1/threads/{id}/reply`)."""

    text: str | None = Field(None, max_length=100_000)
    #: Reply on this channel instead of the thread's (the customer's preferred one).
    channel: str | None = Field(None, max_length=100)
    private: bool = False
    #: A canned response's shortcode, rendered with the thread's variables.
    canned: str | None = Field(None, max_length=50)


class QueuedReply(BaseModel):
    outbox: OutboxPublic
    #: Variables that had no value (rendered as empty).
    warnings: list[str] = Field(default_factory=list)


class Suggestion(BaseModel):
    """A suggested answer: never sent by itself; placeholders mark personal details."""

    text: str
    score: float
    source_message_ids: list[int]
    #: `past_answer` (a brand's earlier answer to a similar message) or `knowledge`.
    kind: str
    reason: str
    placeholders: list[str] = Field(default_factory=list)
    entry_id: int | None = None


class SuggestionList(BaseModel):
    thread_id: int
    query_message_id: int | None
    suggestions: list[Suggestion]


class PolicyPublic(BaseModel):
    version: int
    name: str
    source: str
    created_by: str
    created_at: datetime | None
    #: Rules, SLA targets and priority weights as Rapport read them.
    compiled: dict[str, Any]


class PolicyChange(BaseModel):
    thread_id: int
    before: str
    after: str
    before_rule: str
    after_rule: str
    reason: str


class PolicyTestResult(BaseModel):
    """A dry run of a policy over the stored threads: what would change, and why."""

    threads: int
    changed: int
    before: dict[str, int]
    after: dict[str, int]
    changes: list[PolicyChange]


class TriageSummary(BaseModel):
    threads: int
    decisions: dict[str, int]
    policy_version: int
    seconds: float = 0.0


class TeamPublic(BaseModel):
    id: int
    name: str
    description: str | None
    members: list[str]
    created_at: datetime


class TeamCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    description: str | None = Field(None, max_length=2000)


class AssignBody(BaseModel):
    #: A username, email or id.
    to: str = Field(min_length=1, max_length=255)


# ---------------------------------------------------------------- inbox essentials


class NotePublic(BaseModel):
    """An internal note: never sent, never a message, never in a report."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    thread_id: int
    author: str
    text: str
    mentions: list[str]
    created_at: datetime
    internal: bool = True


class NoteCreate(BaseModel):
    text: str = Field(min_length=1, max_length=20_000)


class NotificationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    thread_id: int | None
    note_id: int | None
    actor: str
    text: str
    created_at: datetime
    read_at: datetime | None


class CannedPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    shortcode: str
    text: str
    variables: list[str] = Field(default_factory=list)
    created_by: str
    updated_at: datetime


class CannedCreate(BaseModel):
    shortcode: str = Field(min_length=1, max_length=50)
    text: str = Field(min_length=1, max_length=10_000)


class ViewPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    filters: dict[str, Any]
    created_by: str
    created_at: datetime


class ViewCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    filters: dict[str, Any]


class LabelSummary(BaseModel):
    name: str
    threads: int
    people: int = 0


class StatusChange(BaseModel):
    """`threads status`: the new status, and a satisfaction survey if one went out."""

    thread_id: int
    status: str
    previous: str
    status_changed_at: datetime
    snoozed_until: datetime | None = None
    resolved_at: datetime | None = None
    survey_outbox_id: int | None = None
    #: Why no survey was queued on resolving (public channel, consent, one a day...).
    survey_skipped: str | None = None


class StatusBody(BaseModel):
    status: str = Field(max_length=20)
    until: datetime | None = None


class LabelsBody(BaseModel):
    labels: list[str] = Field(min_length=1, max_length=50)


class BulkAction(BaseModel):
    """One change applied to many threads in one transaction (all or nothing)."""

    ids: list[int] = Field(min_length=1, max_length=5000)
    status: str | None = Field(None, max_length=20)
    until: datetime | None = None
    labels: list[str] = Field(default_factory=list, max_length=50)
    assign: str | None = Field(None, max_length=255)


class BulkResult(BaseModel):
    threads: int
    changed: dict[str, int]
    surveys: list[int] = Field(default_factory=list)
