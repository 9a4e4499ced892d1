"""/inbox and /threads/{id}: the agent's workspace."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from rapport.conversations.errors import MessageNotFound
from rapport.conversations.queries import channel_names, messages_by_ids
from rapport.web import views
from rapport.web.deps import db_session
from rapport.web.security import Caller, page_requires
from rapport.web.templating import render

router = APIRouter(include_in_schema=False)
PAGE = 50


@router.get("/inbox", response_class=HTMLResponse)
def inbox_page(
    request: Request,
    channel: str | None = Query(None, max_length=100),
    page: int = Query(1, ge=1, le=100_000),
    session: Session = Depends(db_session),
    caller: Caller = Depends(page_requires("conversations.read")),
) -> HTMLResponse:
    channel = channel or None
    inbox = views.inbox(session, channel=channel, limit=PAGE, offset=(page - 1) * PAGE)
    context = {
        "inbox": inbox,
        "channel": channel,
        "channels": channel_names(session),
        "page": page,
        "pages": max((inbox.total + PAGE - 1) // PAGE, 1),
    }
    template = (
        "_inbox_list.html" if request.headers.get("HX-Target") == "inbox-list" else ("inbox.html")
    )
    return render(request, template, context, caller=caller)


@router.get("/messages/{message_id}")
def message_page(
    message_id: int = Path(..., ge=1, le=2**62),
    session: Session = Depends(db_session),
    caller: Caller = Depends(page_requires("conversations.read")),
) -> RedirectResponse:
    """A message, shown in its thread."""
    found = messages_by_ids(session, [message_id])
    if not found:
        raise MessageNotFound(f"message {message_id} not found")
    return RedirectResponse(f"/threads/{found[0].thread_id}#m{message_id}", status_code=303)


@router.get("/threads/{thread_id}", response_class=HTMLResponse)
def thread_page(
    request: Request,
    thread_id: int = Path(..., ge=1, le=2**62),
    session: Session = Depends(db_session),
    caller: Caller = Depends(page_requires("conversations.read")),
) -> HTMLResponse:
    detail = views.thread_detail(session, thread_id)
    return render(request, "thread.html", {"detail": detail}, caller=caller)
