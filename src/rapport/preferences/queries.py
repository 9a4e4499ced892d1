"""Reads of the preferences domain: a person's preference view and the
customers' requests."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rapport.conversations.queries import identities_by_ids
from rapport.conversations.schemas import IdentityPublic
from rapport.preferences.errors import PersonNotFound
from rapport.preferences.models import CustomerRequest
from rapport.preferences.schemas import ChannelConsent, CustomerRequestPublic, PreferenceView
from rapport.relationships.queries import (
    consent_decision,
    get_person,
    identity_ids_of,
    preferences_of,
)


def person_identities(session: Session, person_id: int) -> list[IdentityPublic]:
    """The person's identities (not our own accounts); `PersonNotFound` if
    none, or if the person was erased or merged into another."""
    get_person(session, person_id)
    found = identities_by_ids(session, identity_ids_of(session, person_id))
    identities = [found[i] for i in sorted(found) if not found[i].is_account]
    if not identities:
        raise PersonNotFound(f"person {person_id} not found")
    return identities


def requests_for(
    session: Session, person_id: int, *, status: str | None = None
) -> list[CustomerRequestPublic]:
    """A person's requests, newest first."""
    query = select(CustomerRequest).where(CustomerRequest.person_id == person_id)
    if status:
        query = query.where(CustomerRequest.status == status)
    rows = session.execute(
        query.order_by(CustomerRequest.requested_at.desc(), CustomerRequest.id.desc())
    ).scalars()
    return [CustomerRequestPublic.model_validate(r) for r in rows]


def list_requests(
    session: Session, *, status: str | None = None, limit: int = 100, offset: int = 0
) -> tuple[list[CustomerRequestPublic], int]:
    """Every customer request (newest first) and how many match."""
    where = [CustomerRequest.status == status] if status else []
    rows = session.execute(
        select(CustomerRequest)
        .where(*where)
        .order_by(CustomerRequest.requested_at.desc(), CustomerRequest.id.desc())
        .limit(limit)
        .offset(offset)
    ).scalars()
    total = session.execute(
        select(func.count()).select_from(CustomerRequest).where(*where)
    ).scalar_one()
    return [CustomerRequestPublic.model_validate(r) for r in rows], int(total)


def preference_view(session: Session, person_id: int) -> PreferenceView:
    """What the person's preference page shows: their channels with the
    consent in force and any change they asked for that is not applied yet."""
    identities = person_identities(session, person_id)
    open_requests = requests_for(session, person_id, status="open")
    pending_consent: dict[str, bool] = {}
    pending_channel: str | None = None
    for request in reversed(open_requests):  # oldest first: the newest wins
        if request.kind == "consent":
            pending_consent[str(request.details["channel"])] = bool(request.details["allow"])
        elif request.kind == "preferred_channel":
            pending_channel = str(request.details["channel"])
    channels = []
    for name in sorted({i.channel for i in identities}):
        decision = consent_decision(session, person_id, name)
        channels.append(
            ChannelConsent(
                channel=name,
                allowed=decision.allowed,
                reason=decision.reason,
                pending=pending_consent.get(name),
            )
        )
    return PreferenceView(
        person_id=person_id,
        identities=identities,
        channels=channels,
        preferred_channel=preferences_of(session, person_id).preferred_channel,
        pending_preferred_channel=pending_channel,
        requests=requests_for(session, person_id),
    )
