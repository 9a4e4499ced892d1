"""The preferences service: issuing a person's signed link and recording
what the customer asks for on their page (every write audited).

Consent and the preferred channel are stored by the relationships domain:
a customer's change is applied there at once (`do_set_consent`,
`do_set_preferences`, audited with the customer as actor) and kept here as a
done request, so the customer's page shows what they asked and when. Export
and erasure requests stay open until an admin carries them out
(`do_fulfil_request`, which calls the relationships service).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rapport.audit.service import do_record
from rapport.preferences.errors import PreferenceError, RequestNotFound
from rapport.preferences.links import max_age, sign_link
from rapport.preferences.models import CustomerRequest
from rapport.preferences.queries import person_identities
from rapport.preferences.schemas import (
    CustomerRequestPublic,
    CustomerRequestUpdate,
    PreferenceLink,
)
from rapport.relationships import service as relationships
from rapport.storage.base import utcnow


def customer_actor(person_id: int) -> str:
    return f"customer:{person_id}"


def do_issue_link(session: Session, person_id: int, *, actor: str) -> PreferenceLink:
    """A signed preference link for the person (audited: who handed it out)."""
    person_identities(session, person_id)
    _, path = sign_link(person_id)
    do_record(session, actor, "preferences.link", subject_type="person", subject_id=person_id)
    return PreferenceLink(person_id=person_id, path=path, expires_at=utcnow() + max_age())


def _ask(
    session: Session, person_id: int, kind: str, details: dict[str, Any], *, same: str | None
) -> CustomerRequestPublic:
    """Record a request; an open one of the same kind (and channel, ``same``)
    is updated rather than duplicated."""
    query = select(CustomerRequest).where(
        CustomerRequest.person_id == person_id,
        CustomerRequest.kind == kind,
        CustomerRequest.status == "open",
    )
    existing = None
    for row in session.execute(query.order_by(CustomerRequest.id)).scalars():
        if same is None or row.details.get(same) == details.get(same):
            existing = row
    if existing is None:
        existing = CustomerRequest(person_id=person_id, kind=kind, details=details)
        session.add(existing)
    else:
        existing.details = details
        existing.requested_at = utcnow()
    session.flush()
    do_record(
        session,
        customer_actor(person_id),
        f"preferences.{kind}",
        subject_type="person",
        subject_id=person_id,
        details={"request_id": existing.id, **details},
    )
    return CustomerRequestPublic.model_validate(existing)


def _channel_of(session: Session, person_id: int, channel: str) -> str:
    channels = sorted({i.channel for i in person_identities(session, person_id)})
    if channel not in channels:
        raise PreferenceError(
            f"channel {channel!r} is not one of this person's channels ({', '.join(channels)})"
        )
    return channel


def _applied(session: Session, request: CustomerRequestPublic) -> CustomerRequestPublic:
    row = session.get(CustomerRequest, request.id)
    assert row is not None
    row.status = "done"
    row.handled_at = utcnow()
    row.handled_by = customer_actor(request.person_id)
    row.note = "applied at once"
    session.flush()
    return CustomerRequestPublic.model_validate(row)


def do_change_consent(
    session: Session, person_id: int, channel: str, *, allow: bool
) -> CustomerRequestPublic:
    """The customer allows or refuses messages on one of their channels:
    recorded, and applied to their consent at once."""
    channel = _channel_of(session, person_id, channel)
    request = _ask(
        session, person_id, "consent", {"channel": channel, "allow": allow}, same="channel"
    )
    relationships.do_set_consent(
        session, person_id, channel, allow, actor=customer_actor(person_id), source="customer"
    )
    return _applied(session, request)


def do_set_preferred_channel(
    session: Session, person_id: int, channel: str
) -> CustomerRequestPublic:
    """The customer names the channel they want answers on (applied at once)."""
    channel = _channel_of(session, person_id, channel)
    request = _ask(session, person_id, "preferred_channel", {"channel": channel}, same=None)
    relationships.do_set_preferences(
        session, person_id, actor=customer_actor(person_id), preferred_channel=channel
    )
    return _applied(session, request)


def do_request_export(session: Session, person_id: int) -> CustomerRequestPublic:
    """The customer asks for a copy of everything held on them."""
    person_identities(session, person_id)
    return _ask(session, person_id, "export", {}, same=None)


def do_request_erasure(session: Session, person_id: int) -> CustomerRequestPublic:
    """The customer asks for their data to be erased."""
    person_identities(session, person_id)
    return _ask(session, person_id, "erasure", {}, same=None)


def do_fulfil_request(
    session: Session, request_id: int, *, actor: str
) -> tuple[CustomerRequestPublic, dict[str, Any] | None]:
    """Carry out an open export or erasure request with the relationships
    service and close it; an export also returns the document to hand over.
    (After an erasure, the caller runs `rapport.storage.vacuum.do_vacuum`
    once the transaction is committed.)"""
    row = session.get(CustomerRequest, request_id)
    if row is None:
        raise RequestNotFound(f"customer request {request_id} not found")
    if row.status != "open":
        raise PreferenceError(f"customer request {request_id} is already {row.status}")
    document: dict[str, Any] | None = None
    if row.kind == "export":
        document = relationships.do_export_person(session, row.person_id, actor=actor)
        note = "export prepared"
    elif row.kind == "erasure":
        summary = relationships.do_erase_person(session, row.person_id, actor=actor)
        note = f"erased: {summary.messages_redacted} messages redacted"
    else:
        raise PreferenceError(f"a {row.kind} request is applied when made; nothing to carry out")
    closed = do_close_request(
        session, request_id, CustomerRequestUpdate(status="done", note=note), actor=actor
    )
    return closed, document


def do_close_request(
    session: Session, request_id: int, update: CustomerRequestUpdate, *, actor: str
) -> CustomerRequestPublic:
    """Mark a request done (carried out) or rejected (with a note saying why)."""
    row = session.get(CustomerRequest, request_id)
    if row is None:
        raise RequestNotFound(f"customer request {request_id} not found")
    if row.status != "open":
        raise PreferenceError(f"customer request {request_id} is already {row.status}")
    if update.status == "rejected" and not (update.note or "").strip():
        raise PreferenceError("rejecting a request needs a note saying why")
    row.status = update.status
    row.note = update.note
    row.handled_at = utcnow()
    row.handled_by = actor
    session.flush()
    do_record(
        session,
        actor,
        f"preferences.request_{update.status}",
        subject_type="person",
        subject_id=row.person_id,
        details={"request_id": row.id, "kind": row.kind},
    )
    return CustomerRequestPublic.model_validate(row)
