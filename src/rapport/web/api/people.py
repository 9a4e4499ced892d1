"""/api/v1/people: a person's overview and their preference link."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy.orm import Session

from rapport.preferences.schemas import PreferenceLink
from rapport.preferences.service import do_issue_link
from rapport.relationships import queries as relationships
from rapport.relationships.schemas import PersonList
from rapport.storage.engine import session_scope
from rapport.web import views
from rapport.web.api import AUTH_ERRORS, NOT_FOUND
from rapport.web.deps import db_session
from rapport.web.security import Caller, requires

router = APIRouter(prefix="/api/v1/people", tags=["people"], responses=AUTH_ERRORS)

PersonId = Path(..., ge=1, le=2**62)


@router.get("", response_model=PersonList, dependencies=[Depends(requires("people.read"))])
def list_people(
    q: str | None = Query(None, max_length=200, description="handles, names, emails, phones"),
    role: str | None = Query(None, max_length=40),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=10_000_000),
    session: Session = Depends(db_session),
) -> PersonList:
    """Active people, most recently seen first, filtered by role and text."""
    return relationships.list_people(session, role=role, q=q, limit=limit, offset=offset)


@router.get(
    "/{person_id}",
    response_model=views.PersonOverview,
    responses=NOT_FOUND,
    dependencies=[Depends(requires("people.read"))],
)
def get_person(
    person_id: int = PersonId, session: Session = Depends(db_session)
) -> views.PersonOverview:
    """Identities, roles, health with its factors, consent, sales, timeline
    (the relationships service's view) and the customer's requests."""
    return views.person_overview(session, person_id)


@router.post(
    "/{person_id}/preference-link",
    response_model=PreferenceLink,
    status_code=201,
    responses=NOT_FOUND,
)
def issue_preference_link(
    request: Request,
    person_id: int = PersonId,
    caller: Caller = Depends(requires("preferences.link")),
) -> PreferenceLink:
    """A signed link to the person's preference page (no login needed);
    `path` is relative to this server, `url` absolute."""
    with session_scope(write=True) as session:
        link = do_issue_link(session, person_id, actor=caller.actor)
    return link.model_copy(update={"url": str(request.base_url).rstrip("/") + link.path})
