"""What engagement keeps about a person, for `people export` and erasure
(registered with `rapport.relationships.hooks` in `rapport.pipeline`).

Personal data here: replies and surveys we queued for the person (outbox
text and handle), labels on the person, satisfaction answers, and internal
notes, which may copy their handle, name, e-mail, phone or the words of
their messages. Erasure deletes their labels, blanks what we queued for
them, and cuts every copy of their identifiers and of their messages' text
out of every note (and of the notifications quoting those notes); the rest
of a note, written by an agent, stays.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from rapport.engagement.models import (
    CsatSurvey,
    Notification,
    OutboxItem,
    PersonLabel,
    ThreadNote,
    ThreadState,
)
from rapport.engagement.queries import labels_of_people
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
        "labels": labels_of_people(session, [data.person_id]).get(data.person_id, []),
        "notes_on_their_threads": [
            {
                "thread_id": n.thread_id,
                "author": n.author,
                "text": n.text,
                "created_at": n.created_at.isoformat(),
            }
            for n in session.execute(
                select(ThreadNote).where(in_values(session, ThreadNote.thread_id, threads))
            ).scalars()
        ]
        if threads
        else [],
        "satisfaction": [
            {
                "thread_id": c.thread_id,
                "score": c.score,
                "channel": c.channel,
                "created_at": c.created_at.isoformat(),
            }
            for c in session.execute(
                select(CsatSurvey).where(CsatSurvey.person_id == data.person_id)
            ).scalars()
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


#: Quotes of a person's messages shorter than this are not looked for in notes.
MIN_QUOTE = 12
ERASED = "[erased]"


def _scrub_pattern(session: Session, data: PersonData) -> re.Pattern[str] | None:
    from rapport.conversations.queries import messages_by_ids

    parts = [
        rf"(?<![\w@.+-])@?{re.escape(i)}(?!\w)"
        for i in sorted({i for i in data.identifiers if len(i) >= 2}, key=len, reverse=True)
    ]
    quotes = {
        " ".join(m.text.split())
        for start in range(0, len(data.message_ids), 2000)
        for m in messages_by_ids(session, data.message_ids[start : start + 2000])
    }
    for quote in sorted((q for q in quotes if len(q) >= MIN_QUOTE), key=len, reverse=True):
        parts.insert(0, r"\s+".join(re.escape(w) for w in quote.split(" ")))
    return re.compile("|".join(parts), re.IGNORECASE) if parts else None


def _scrub_notes(session: Session, pattern: re.Pattern[str]) -> None:
    last = 0
    while True:
        rows = session.execute(
            select(ThreadNote.id, ThreadNote.text)
            .where(ThreadNote.id > last)
            .order_by(ThreadNote.id)
            .limit(2000)
        ).all()
        if not rows:
            return
        for nid, text in rows:
            cleaned = pattern.sub(ERASED, text)
            if cleaned != text:
                session.execute(update(ThreadNote).where(ThreadNote.id == nid).values(text=cleaned))
                session.execute(
                    update(Notification)
                    .where(Notification.note_id == nid)
                    .values(text=cleaned[:280])
                )
        last = int(rows[-1][0])


def erase_person(session: Session, data: PersonData) -> None:
    """Labels gone; what we queued blanked; copies in notes cut out."""
    session.execute(delete(PersonLabel).where(PersonLabel.person_id == data.person_id))
    session.execute(
        update(CsatSurvey).where(CsatSurvey.person_id == data.person_id).values(person_id=None)
    )
    pattern = _scrub_pattern(session, data)
    if pattern is not None:
        _scrub_notes(session, pattern)
    threads = _their_threads(session, data)
    session.execute(
        update(OutboxItem)
        .where(_outbox_where(session, data, threads))
        .values(text="", to_handle=None, person_id=None)
        .execution_options(synchronize_session=False)
    )
