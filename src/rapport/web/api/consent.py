"""/api/v1/people/{id}/consent: consent per channel and how the person wants
to be reached (the relationships service; the reply path checks the same
decisions before anything goes out)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path
from sqlalchemy.orm import Session

from rapport.relationships import queries, service
from rapport.relationships.schemas import ConsentPublic, ConsentUpdate, PreferencesUpdate
from rapport.storage.engine import session_scope
from rapport.web.api import AUTH_ERRORS, NOT_FOUND
from rapport.web.deps import db_session
from rapport.web.security import Caller, requires

router = APIRouter(prefix="/api/v1/people", tags=["consent"], responses=AUTH_ERRORS)

PersonId = Path(..., ge=1, le=2**62)
ChannelName = Path(..., min_length=1, max_length=100)


@router.get(
    "/{person_id}/consent",
    response_model=ConsentPublic,
    responses=NOT_FOUND,
    dependencies=[Depends(requires("people.read"))],
)
def get_consent(person_id: int = PersonId, session: Session = Depends(db_session)) -> ConsentPublic:
    """Consent per channel, preferences (preferred channel, quiet hours,
    timezone, language) and what a reply on each channel would be told now,
    with the reason."""
    return queries.consent_view(session, person_id)


@router.put("/{person_id}/consent/{channel}", response_model=ConsentPublic, responses=NOT_FOUND)
def set_consent(
    data: ConsentUpdate,
    person_id: int = PersonId,
    channel: str = ChannelName,
    caller: Caller = Depends(requires("consent.write")),
) -> ConsentPublic:
    """Allow or deny messages to the person on one channel (audited)."""
    with session_scope(write=True) as session:
        return service.do_set_consent(session, person_id, channel, data.allowed, actor=caller.actor)


@router.patch("/{person_id}/preferences", response_model=ConsentPublic, responses=NOT_FOUND)
def set_preferences(
    data: PreferencesUpdate,
    person_id: int = PersonId,
    caller: Caller = Depends(requires("consent.write")),
) -> ConsentPublic:
    """Change how the person wants to be reached; only the fields sent
    change, an empty string clears one (audited)."""
    with session_scope(write=True) as session:
        return service.do_set_preferences(
            session,
            person_id,
            actor=caller.actor,
            preferred_channel=data.preferred_channel,
            quiet_hours=data.quiet_hours,
            timezone=data.timezone,
            language=data.language,
        )
