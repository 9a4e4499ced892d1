"""/people/{id}: the person page (identities, consent, timeline, requests)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from rapport.preferences.service import do_issue_link
from rapport.relationships import queries as relationships
from rapport.relationships.models import ROLES as PERSON_ROLES
from rapport.storage.engine import session_scope
from rapport.web import views
from rapport.web.deps import db_session
from rapport.web.security import Caller, page_requires
from rapport.web.templating import render

router = APIRouter(include_in_schema=False)
PAGE = 50
PersonId = Path(..., ge=1, le=2**62)


@router.get("/people", response_class=HTMLResponse)
def people_page(
    request: Request,
    q: str = Query("", max_length=200),
    role: str = Query("", max_length=40),
    page: int = Query(1, ge=1, le=100_000),
    session: Session = Depends(db_session),
    caller: Caller = Depends(page_requires("people.read")),
) -> HTMLResponse:
    found = relationships.list_people(
        session, q=q or None, role=role or None, limit=PAGE, offset=(page - 1) * PAGE
    )
    return render(
        request,
        "people.html",
        {
            "people": found,
            "q": q,
            "role": role,
            "roles": PERSON_ROLES,
            "page": page,
            "pages": max((found.total + PAGE - 1) // PAGE, 1),
        },
        caller=caller,
    )


@router.get("/people/{person_id}", response_class=HTMLResponse)
def person_page(
    request: Request,
    person_id: int = PersonId,
    session: Session = Depends(db_session),
    caller: Caller = Depends(page_requires("people.read")),
) -> HTMLResponse:
    person = views.person_overview(session, person_id)
    return render(request, "person.html", {"person": person, "link": None}, caller=caller)


@router.post("/people/{person_id}/preference-link", response_class=HTMLResponse)
def person_preference_link(
    request: Request,
    person_id: int = PersonId,
    caller: Caller = Depends(page_requires("preferences.link")),
) -> HTMLResponse:
    """Hand out the customer's signed preference link (htmx fragment, or the page)."""
    with session_scope(write=True) as session:
        link = do_issue_link(session, person_id, actor=caller.actor)
    url = str(request.base_url).rstrip("/") + link.path
    link = link.model_copy(update={"url": url})
    if request.headers.get("HX-Request") == "true":
        return render(request, "_preference_link.html", {"link": link}, caller=caller)
    with session_scope() as session:
        person = views.person_overview(session, person_id)
    return render(request, "person.html", {"person": person, "link": link}, caller=caller)
