"""What the API and the pages show, assembled from the domains' query
functions (the web face composes reads; it writes nothing itself).

Engagement (decision, reason, priority, assignee, status, labels), analysis
and relationships fill in more of these views as their services land; until
then their fields are empty and the pages say so.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from rapport.analysis.queries import analyses_for
from rapport.conversations import queries as conversations
from rapport.conversations.schemas import (
    MessagePublic,
    ThreadPublic,
    ThreadSummary,
)
from rapport.preferences.queries import requests_for
from rapport.preferences.schemas import CustomerRequestPublic
from rapport.relationships import queries as relationships
from rapport.relationships.schemas import PersonDetail

PERSON_TIMELINE = 200


class InboxItem(BaseModel):
    """One row of the inbox. The triage fields come from the engagement
    service; until it is installed they are empty and the inbox lists
    threads by latest activity."""

    thread: ThreadSummary
    customer_person_id: int | None = None
    decision: str | None = None
    reason: str | None = None
    priority: float | None = None
    sla_due_at: datetime | None = None
    assignee: str | None = None
    status: str | None = None
    labels: list[str] = []


class Inbox(BaseModel):
    items: list[InboxItem]
    total: int
    limit: int
    offset: int
    #: Whether the triage fields are filled (the engagement service is there).
    triaged: bool


class MessageView(MessagePublic):
    person_id: int | None = None
    #: The stored analysis (sentiment, intent, urgency, evidence...), if any.
    analysis: dict[str, Any] | None = None


class ThreadDetail(BaseModel):
    thread: ThreadPublic
    messages: list[MessageView]
    customer_person_id: int | None


class PersonOverview(BaseModel):
    """The person page: everything the relationships service shows
    (identities, roles, health with factors, consent, sales, timeline) and
    what the customer asked for on their preference page."""

    person: PersonDetail
    requests: list[CustomerRequestPublic]


def inbox(
    session: Session, *, channel: str | None = None, limit: int = 50, offset: int = 0
) -> Inbox:
    threads, total = conversations.list_threads(
        session, channel=channel, limit=limit, offset=offset
    )
    people = relationships.people_for_identities(
        session, [t.customer_identity_id for t in threads if t.customer_identity_id]
    )
    items = [
        InboxItem(
            thread=t,
            customer_person_id=people.get(t.customer_identity_id)
            if t.customer_identity_id
            else None,
        )
        for t in threads
    ]
    return Inbox(items=items, total=total, limit=limit, offset=offset, triaged=False)


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
    return ThreadDetail(thread=thread, messages=messages, customer_person_id=customer)


def person_overview(session: Session, person_id: int) -> PersonOverview:
    detail = relationships.show_person(session, person_id, timeline_limit=PERSON_TIMELINE)
    return PersonOverview(person=detail, requests=requests_for(session, person_id))
