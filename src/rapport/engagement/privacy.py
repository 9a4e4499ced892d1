"""What engagement keeps about a person, for `people export` and erasure
(registered with `rapport.relationships.hooks` in `rapport.pipeline`).

Personal data here: replies and surveys we queued for the person (outbox
text and handle), and the threads they started (decisions hold no text).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from rapport.engagement.models import OutboxItem, ThreadState
from rapport.relationships.hooks import PersonData
from rapport.storage.bulk import in_values


def _their_threads(session: Session, data: PersonData) -> list[int]:
    if not data.identity_ids:
        return []
    return [
        int(t)
        for t in session.execute(
            select(ThreadState.thread_id).where(
                in_values(session, ThreadState.customer_identity_id, data.identity_ids)
            )
        ).scalars()
    ]


def _outbox_where(session: Session, data: PersonData, threads: list[int]) -> Any:
    clauses = [OutboxItem.person_id == data.person_id]
    if threads:
        clauses.append(in_values(session, OutboxItem.thread_id, threads))
    return or_(*clauses)


def export_person(session: Session, data: PersonData) -> dict[str, Any]:
    threads = _their_threads(session, data)
    items = session.execute(
        select(OutboxItem).where(_outbox_where(session, data, threads)).order_by(OutboxItem.id)
    ).scalars()
    states: list[ThreadState] = (
        list(
            session.execute(
                select(ThreadState).where(in_values(session, ThreadState.thread_id, threads))
            ).scalars()
        )
        if threads
        else []
    )
    return {
        "outbox": [
            {
                "id": o.id,
                "thread_id": o.thread_id,
                "kind": o.kind,
                "channel": o.channel,
                "text": o.text,
                "to": o.to_handle,
                "status": o.status,
                "created_at": o.created_at.isoformat(),
                "sent_at": o.sent_at.isoformat() if o.sent_at else None,
            }
            for o in items
        ],
        "threads": [
            {
                "thread_id": s.thread_id,
                "decision": s.decision,
                "reason": s.reason,
                "status": s.status,
                "csat_score": s.csat_score,
            }
            for s in states
        ],
    }


def erase_person(session: Session, data: PersonData) -> None:
    """Blank what we queued for the person (the entries stay, as counts)."""
    threads = _their_threads(session, data)
    session.execute(
        update(OutboxItem)
        .where(_outbox_where(session, data, threads))
        .values(text="", to_handle=None, person_id=None)
        .execution_options(synchronize_session=False)
    )
