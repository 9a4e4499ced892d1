"""/api/v1/people: people, their overview, duplicates and merges, roles,
churn warnings, export and erasure, and the preference link (all on the
relationships service; consent is `rapport.web.api.consent`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy.orm import Session

from rapport.preferences.schemas import PreferenceLink
from rapport.preferences.service import do_issue_link
from rapport.relationships import queries as relationships
from rapport.relationships import service
from rapport.relationships.errors import RelationshipError
from rapport.relationships.resolution import find_duplicates
from rapport.relationships.schemas import (
    AtRiskList,
    AtRiskPerson,
    DuplicateList,
    ErasureConfirm,
    ErasureSummary,
    MergeCreate,
    MergeResult,
    NotDuplicateCreate,
    PersonList,
    RolesPublic,
    RolesUpdate,
    UnmergeCreate,
    UnmergeResult,
)
from rapport.settings import get_settings
from rapport.storage.engine import session_scope
from rapport.storage.vacuum import do_vacuum
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
    "/duplicates", response_model=DuplicateList, dependencies=[Depends(requires("people.read"))]
)
def list_duplicates(
    limit: int = Query(100, ge=1, le=1000),
    min_score: float = Query(0.5, ge=0, le=1),
    session: Session = Depends(db_session),
) -> DuplicateList:
    """People who are probably the same human, each pair with a score and
    the reasons (same email or phone, similar names or handles, shared
    signature)."""
    found = find_duplicates(session, limit=limit, min_score=min_score)
    return DuplicateList(suggestions=found, total=len(found))


@router.get("/at-risk", response_model=AtRiskList, dependencies=[Depends(requires("people.read"))])
def list_at_risk(
    limit: int = Query(50, ge=1, le=500), session: Session = Depends(db_session)
) -> AtRiskList:
    """Falling relationships (churn warnings), steepest fall first, each with
    its health, factors and the reason (health as last computed)."""
    falling = relationships.at_risk_people(session, limit=limit)
    people = {
        p.id: p
        for p in relationships.summaries(
            session, [relationships.get_person(session, h.person_id) for h in falling]
        )
    }
    items = [AtRiskPerson(person=people[h.person_id], health=h) for h in falling]
    return AtRiskList(people=items, total=len(items))


@router.post("/merge", response_model=MergeResult, status_code=201, responses=NOT_FOUND)
def merge_people(
    data: MergeCreate, caller: Caller = Depends(requires("people.write"))
) -> MergeResult:
    """Merge one person into another (identities, sales, roles move; the
    merge is audited and can be undone with an unmerge)."""
    with session_scope(write=True) as session:
        return service.do_merge_people(
            session, data.survivor_id, data.absorbed_id, actor=caller.actor
        )


@router.post("/{person_id}/unmerge", response_model=UnmergeResult, responses=NOT_FOUND)
def unmerge_person(
    data: UnmergeCreate,
    person_id: int = PersonId,
    caller: Caller = Depends(requires("people.write")),
) -> UnmergeResult:
    """Split an identity off a person: the merge that brought it is undone
    (the absorbed person comes back with what it brought), or the identity
    becomes a person of its own."""
    with session_scope(write=True) as session:
        return service.do_unmerge(
            session, person_id, data.identity, actor=caller.actor, only=data.only
        )


@router.post("/{person_id}/not-duplicate", status_code=204, responses=NOT_FOUND)
def mark_not_duplicate(
    data: NotDuplicateCreate,
    person_id: int = PersonId,
    caller: Caller = Depends(requires("people.write")),
) -> None:
    """Say two people are not the same human: never suggested again."""
    with session_scope(write=True) as session:
        service.do_mark_not_duplicates(session, person_id, data.other_person_id, actor=caller.actor)


@router.patch("/{person_id}/roles", response_model=RolesPublic, responses=NOT_FOUND)
def set_roles(
    data: RolesUpdate,
    person_id: int = PersonId,
    caller: Caller = Depends(requires("people.write")),
) -> RolesPublic:
    """Add or remove roles set by hand (customer, prospect, influencer,
    advocate, detractor, partner, supplier, employee); audited."""
    with session_scope(write=True) as session:
        roles = service.do_set_roles(
            session,
            person_id,
            add=data.add,
            remove=data.remove,
            actor=caller.actor,
            reason=data.reason,
        )
    return RolesPublic(person_id=person_id, roles=roles)


@router.get("/{person_id}/export", responses=NOT_FOUND)
def export_person(
    person_id: int = PersonId, caller: Caller = Depends(requires("people.export"))
) -> dict[str, Any]:
    """Everything held on the person (identities, messages with their raw
    payloads, analysis, consent, sales, audit, and every other domain's
    copies), as one JSON document; the export is audited."""
    with session_scope(write=True) as session:
        return service.do_export_person(session, person_id, actor=caller.actor)


@router.post("/{person_id}/erase", response_model=ErasureSummary, responses=NOT_FOUND)
def erase_person(
    data: ErasureConfirm,
    person_id: int = PersonId,
    caller: Caller = Depends(requires("people.erase")),
) -> ErasureSummary:
    """Erase the person: personal text and identifiers go everywhere,
    anonymous counts stay, the audit entry holds no personal data; then the
    database is vacuumed so no trace stays in its files. Cannot be undone:
    the body must say `{"confirm": true}`."""
    if not data.confirm:
        raise RelationshipError('erasure cannot be undone: send {"confirm": true}')
    with session_scope(write=True) as session:
        summary = service.do_erase_person(session, person_id, actor=caller.actor)
    summary.vacuum = do_vacuum(wait_seconds=get_settings().web_vacuum_wait_seconds)
    summary.vacuumed = True
    return summary


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
