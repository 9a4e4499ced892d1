"""/api/v1/threads and /api/v1/quarantine: what was heard."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel
from sqlalchemy.orm import Session

from rapport.conversations import queries
from rapport.conversations.schemas import QuarantinedRowPublic
from rapport.web import views
from rapport.web.api import AUTH_ERRORS, NOT_FOUND
from rapport.web.deps import db_session
from rapport.web.security import requires

router = APIRouter(prefix="/api/v1", responses=AUTH_ERRORS)


class QuarantineList(BaseModel):
    items: list[QuarantinedRowPublic]
    total: int


@router.get(
    "/threads",
    response_model=views.Inbox,
    tags=["threads"],
    dependencies=[Depends(requires("conversations.read"))],
)
def list_threads(
    channel: str | None = Query(None, max_length=100),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=10_000_000),
    session: Session = Depends(db_session),
) -> views.Inbox:
    """Every thread, most recently active first, with its triage (decision,
    reason, priority, SLA, assignee, status); the prioritized inbox of open
    threads that need us is `GET /api/v1/inbox`."""
    return views.threads(session, channel=channel, limit=limit, offset=offset)


@router.get(
    "/threads/{thread_id}",
    response_model=views.ThreadDetail,
    responses=NOT_FOUND,
    tags=["threads"],
    dependencies=[Depends(requires("conversations.read"))],
)
def get_thread(
    thread_id: int = Path(..., ge=1, le=2**62), session: Session = Depends(db_session)
) -> views.ThreadDetail:
    """A thread with its messages in time order, authors' people and analysis."""
    return views.thread_detail(session, thread_id)


@router.get(
    "/quarantine",
    response_model=QuarantineList,
    tags=["quarantine"],
    dependencies=[Depends(requires("quarantine.read"))],
)
def list_quarantine(
    source: str | None = Query(None, max_length=1000),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=10_000_000),
    session: Session = Depends(db_session),
) -> QuarantineList:
    """Input kept aside: source, line, field, reason and raw text."""
    items, total = queries.list_quarantine(session, source=source, limit=limit, offset=offset)
    return QuarantineList(items=items, total=total)
