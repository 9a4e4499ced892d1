"""What the API and the pages show, assembled from the domains' query
functions (the web face composes reads; it writes nothing itself): the
inbox is engagement's (decision, reason, priority, SLA, assignee, status),
threads add analysis, people and the triage card.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from rapport.analysis.queries import analyses_for
from rapport.conversations import queries as conversations
from rapport.conversations.errors import ThreadNotFound
from rapport.conversations.schemas import (
    MessagePublic,
    ThreadPublic,
    ThreadSummary,
)
from rapport.engagement import queries as engagement
from rapport.engagement.schemas import DecisionPublic, InboxFilter, OutboxPublic
from rapport.engagement.schemas import InboxItem as EngagementItem
from rapport.preferences.queries import requests_for
from rapport.preferences.schemas import CustomerRequestPublic
from rapport.relationships import queries as relationships
from rapport.relationships.schemas import PersonDetail

PERSON_TIMELINE = 200
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class InboxItem(BaseModel):
    """One row of the inbox: the thread, and engagement's triage of it."""

    thread: ThreadSummary
    customer_person_id: int | None = None
    decision: str | None = None
    rule_id: str | None = None
    reason: str | None = None
    priority: float | None = None
    priority_reason: str | None = None
    sla_due_at: datetime | None = None
    sla_overdue: bool = False
    sla_breaches: int = 0
    assignee: str | None = None
    team: str | None = None
    status: str | None = None
    labels: list[str] = []


class Inbox(BaseModel):
    items: list[InboxItem]
    total: int
    limit: int
    offset: int
    #: Whether the triage fields are filled (always, since engagement is installed).
    triaged: bool
    #: Threads per status under the same filters (the status tabs).
    counts: dict[str, int] = {}


class MessageView(MessagePublic):
    person_id: int | None = None
    #: The stored analysis (sentiment, intent, urgency, evidence...), if any.
    analysis: dict[str, Any] | None = None


class ThreadDetail(BaseModel):
    thread: ThreadPublic
    messages: list[MessageView]
    customer_person_id: int | None
    #: Engagement's triage: decision, reason, priority factors, SLA, assignee, status.
    decision: DecisionPublic | None = None
    outbox: list[OutboxPublic] = []


class PersonOverview(BaseModel):
    """The person page: everything the relationships service shows
    (identities, roles, health with factors, consent, sales, timeline) and
    what the customer asked for on their preference page."""

    person: PersonDetail
    requests: list[CustomerRequestPublic]


def _item(thread: ThreadSummary, i: EngagementItem | None, person: int | None) -> InboxItem:
    if i is None:
        return InboxItem(thread=thread, customer_person_id=person)
    return InboxItem(
        thread=thread,
        customer_person_id=i.customer_id if i.customer_id is not None else person,
        decision=i.decision,
        rule_id=i.rule_id,
        reason=i.reason,
        priority=i.priority,
        priority_reason=i.priority_reason,
        sla_due_at=i.sla_due_at,
        sla_overdue=i.sla_overdue,
        sla_breaches=i.sla_breaches,
        assignee=i.assignee,
        team=i.team,
        status=i.status,
        labels=i.labels,
    )


def inbox(session: Session, flt: InboxFilter, *, counts: bool = False) -> Inbox:
    """Threads by priority under ``flt`` (engagement's inbox)."""
    page = engagement.inbox(session, flt)
    items = [
        _item(
            ThreadSummary(
                id=i.thread_id,
                channel=i.channel,
                first_message_at=i.first_message_at or i.last_message_at or _EPOCH,
                last_message_at=i.last_message_at or _EPOCH,
                message_count=i.message_count,
                customer_identity_id=i.customer_identity_id,
                customer=i.customer,
                last_message=i.last_message,
            ),
            i,
            None,
        )
        for i in page.items
    ]
    return Inbox(
        items=items,
        total=page.total,
        limit=page.limit,
        offset=page.offset,
        triaged=True,
        counts=engagement.status_counts(session, flt) if counts else {},
    )


def threads(
    session: Session, *, channel: str | None = None, limit: int = 50, offset: int = 0
) -> Inbox:
    """Every thread, most recently active first, with its triage."""
    found, total = conversations.list_threads(session, channel=channel, limit=limit, offset=offset)
    people = relationships.people_for_identities(
        session, [t.customer_identity_id for t in found if t.customer_identity_id]
    )
    triage = engagement.items_for_threads(session, [t.id for t in found])
    items = [
        _item(
            t,
            triage.get(t.id),
            people.get(t.customer_identity_id) if t.customer_identity_id else None,
        )
        for t in found
    ]
    return Inbox(items=items, total=total, limit=limit, offset=offset, triaged=bool(triage))


def _with_people_and_analysis(session: Session, messages: list[MessagePublic]) -> list[MessageView]:
    people = relationships.people_for_identities(
        session, sorted({m.author_identity_id for m in messages if m.author_identity_id})
    )
    analyses = analyses_for(session, [m.id for m in messages])
    return [
        MessageView(
            **m.model_dump(),
            person_id=people.get(m.author_identity_id) if m.author_identity_id else None,
            analysis=asdict(analyses[m.id]) if m.id in analyses else None,
        )
        for m in messages
    ]


def thread_detail(session: Session, thread_id: int) -> ThreadDetail:
    thread = conversations.get_thread(session, thread_id)
    messages = _with_people_and_analysis(session, conversations.thread_messages(session, thread_id))
    accounts = conversations.account_identity_ids(session)
    customer = next(
        (
            m.person_id
            for m in messages
            if m.direction == "inbound" and m.author_identity_id not in accounts and m.person_id
        ),
        None,
    )
    try:
        decision = engagement.decision_of(session, thread_id)
    except ThreadNotFound:
        decision = None
    return ThreadDetail(
        thread=thread,
        messages=messages,
        customer_person_id=customer,
        decision=decision,
        outbox=engagement.list_outbox(session, thread_id=thread_id, limit=20),
    )


def person_overview(session: Session, person_id: int) -> PersonOverview:
    detail = relationships.show_person(session, person_id, timeline_limit=PERSON_TIMELINE)
    return PersonOverview(person=detail, requests=requests_for(session, person_id))
