"""The relationships service: writes to people and their identity links."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from rapport.conversations.hooks import StoredBatch
from rapport.relationships.models import Person, PersonIdentity
from rapport.storage.base import utcnow
from rapport.storage.bulk import allocate_ids, bulk_insert, db_timestamp


def do_create_people_for_identities(session: Session, identity_ids: Sequence[int]) -> list[int]:
    """One new person per identity (identities seen for the first time)."""
    if not identity_ids:
        return []
    person_ids = allocate_ids(session, Person.__table__, len(identity_ids))  # type: ignore[arg-type]
    now = db_timestamp(session, utcnow())
    bulk_insert(
        session,
        Person.__table__,  # type: ignore[arg-type]
        ("id", "created_at"),
        [(pid, now) for pid in person_ids],
    )
    bulk_insert(
        session,
        PersonIdentity.__table__,  # type: ignore[arg-type]
        ("identity_id", "person_id", "linked_at", "source"),
        [(iid, pid, now, "auto") for iid, pid in zip(identity_ids, person_ids, strict=True)],
    )
    return person_ids


def on_batch_stored(session: Session, batch: StoredBatch) -> None:
    """Ingest hook: every new author identity becomes a person."""
    do_create_people_for_identities(session, batch.new_identity_ids)
