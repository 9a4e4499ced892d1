"""/search: the search box's results: messages and internal notes (full
text, by thread status and label too) and people."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from rapport.conversations.querylang import Term, parse
from rapport.conversations.search import SearchPage, search_messages
from rapport.engagement.models import STATUSES
from rapport.errors import RapportError
from rapport.relationships import queries as relationships
from rapport.relationships.schemas import PersonList
from rapport.web.api.search import search_filters
from rapport.web.deps import db_session
from rapport.web.security import Caller, page_requires
from rapport.web.templating import render

router = APIRouter(include_in_schema=False)
PAGE = 20
PEOPLE = 10


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    q: str = Query("", max_length=2000),
    channel: str = Query("", max_length=100),
    status: str = Query("", max_length=40),
    label: str = Query("", max_length=100),
    page: int = Query(1, ge=1, le=500),
    session: Session = Depends(db_session),
    caller: Caller = Depends(page_requires("search.read")),
) -> HTMLResponse:
    found: SearchPage | None = None
    people: PersonList | None = None
    error: RapportError | None = None
    if q.strip():
        filters = search_filters(channel or None, None, None, status or None, label or None)
        try:
            found = search_messages(session, q, filters, limit=PAGE, offset=(page - 1) * PAGE)
            term = parse(q)
        except RapportError as exc:  # the query, an unknown channel, status or label
            error = exc
        else:
            # People are found by one handle, name, email or phone (relationships' search).
            if isinstance(term, Term) and caller.can("people.read"):
                people = relationships.list_people(session, q=q.strip().strip('"'), limit=PEOPLE)
    pages = max(((found.total if found else 0) + PAGE - 1) // PAGE, 1)
    return render(
        request,
        "search.html",
        {
            "q": q,
            "channel": channel,
            "status": status,
            "statuses": STATUSES,
            "label": label,
            "found": found,
            "people": people,
            "error": error,
            "page": page,
            "pages": pages,
        },
        caller=caller,
    )
