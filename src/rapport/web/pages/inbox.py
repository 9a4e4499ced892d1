"""/inbox and /threads/{id}: the agent's workspace (engagement's inbox:
priorities, decisions with reasons, SLA; claim, release, reply, suggestions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from rapport.conversations.errors import MessageNotFound
from rapport.conversations.queries import channel_names, get_thread, messages_by_ids
from rapport.engagement import queries as engagement
from rapport.engagement import service, workspace
from rapport.engagement.errors import EngagementError
from rapport.engagement.models import DECISIONS, STATUSES
from rapport.engagement.schemas import BulkAction, InboxFilter
from rapport.errors import RapportError
from rapport.storage.base import utcnow
from rapport.storage.engine import session_scope
from rapport.web import views
from rapport.web.api.engagement import actor_of
from rapport.web.deps import db_session
from rapport.web.security import Caller, page_requires
from rapport.web.templating import render

router = APIRouter(include_in_schema=False)
PAGE = 50
ThreadId = Path(..., ge=1, le=2**62)


@router.get("/inbox", response_class=HTMLResponse)
def inbox_page(
    request: Request,
    channel: str | None = Query(None, max_length=100),
    status: str | None = Query(None, max_length=20),
    decision: str | None = Query(None, max_length=20),
    assignee: str | None = Query(None, max_length=255),
    team: str | None = Query(None, max_length=100),
    label: str | None = Query(None, max_length=50),
    view: str | None = Query(None, max_length=100),
    page: int = Query(1, ge=1, le=100_000),
    session: Session = Depends(db_session),
    caller: Caller = Depends(page_requires("conversations.read")),
) -> HTMLResponse:
    filters = {
        "channel": channel or None,
        "status": status or None,
        "decision": decision or None,
        "assignee": assignee or None,
        "team": team or None,
        "label": label or None,
    }
    if filters["assignee"] == "me":
        filters["assignee"] = caller.principal.username
    if view:
        flt = engagement.view_filter(session, view, **filters, limit=PAGE, offset=(page - 1) * PAGE)
        filters.update({k: v for k, v in flt.model_dump().items() if k in filters and v})
    else:
        flt = InboxFilter(limit=PAGE, offset=(page - 1) * PAGE, **filters)
    inbox = views.inbox(session, flt, counts=True)
    shown = {k: v for k, v in filters.items() if v and k != "status"}
    if assignee == "me":
        shown["assignee"] = "me"
    context = {
        "inbox": inbox,
        "channel": filters["channel"],
        "status": flt.status or "open",
        "filters": shown,
        "query": urlencode(shown),
        "channels": channel_names(session),
        "teams": [t.name for t in engagement.list_teams(session)],
        "labels": [x.name for x in engagement.list_labels(session)],
        "views": [v.name for v in engagement.list_views(session)],
        "view": view or "",
        "statuses": STATUSES,
        "decisions": DECISIONS,
        "page": page,
        "pages": max((inbox.total + PAGE - 1) // PAGE, 1),
    }
    template = (
        "_inbox_list.html" if request.headers.get("HX-Target") == "inbox-list" else "inbox.html"
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


@router.get("/inbox/version")
def inbox_version(
    session: Session = Depends(db_session),
    caller: Caller = Depends(page_requires("conversations.read")),
) -> JSONResponse:
    """What the inbox page polls: it reloads its list when this changes."""
    return JSONResponse({"version": engagement.inbox_version(session)})


@router.post("/inbox/bulk")
def inbox_bulk(
    ids: str = Form(..., max_length=100_000),
    status: str = Form(..., max_length=20),
    caller: Caller = Depends(page_requires("conversations.work")),
) -> JSONResponse:
    """The keyboard's bulk action (`x` to select, `e` to resolve): one
    transaction, all or nothing."""
    from rapport.workers.tasks.engagement import dispatch_send

    try:
        thread_ids = [int(x) for x in ids.split(",") if x.strip()]
        with session_scope(write=True) as session:
            result = workspace.do_bulk(
                session, BulkAction(ids=thread_ids, status=status), actor=actor_of(caller)
            )
    except (ValueError, RapportError) as exc:
        return JSONResponse({"detail": str(exc)}, status_code=422)
    for outbox_id in result.surveys:
        dispatch_send(outbox_id)
    return JSONResponse(result.model_dump())


def _thread_context(session: Session, thread_id: int, caller: Caller) -> dict[str, Any]:
    detail = views.thread_detail(session, thread_id)
    return {
        "notes": engagement.notes_of_thread(session, thread_id),
        "labels": engagement.labels_of_threads(session, [thread_id]).get(thread_id, []),
        "canned": [c.model_dump(mode="json") for c in engagement.list_canned(session)],
        "statuses": STATUSES,
        "detail": detail,
        "decision": detail.decision,
        "outbox": detail.outbox,
        "can_work": caller.can("conversations.work"),
        "mine": bool(detail.decision and detail.decision.assignee == caller.principal.username),
        "channels": channel_names(session),
    }


@router.get("/threads/{thread_id}", response_class=HTMLResponse)
def thread_page(
    request: Request,
    thread_id: int = ThreadId,
    session: Session = Depends(db_session),
    caller: Caller = Depends(page_requires("conversations.read")),
) -> HTMLResponse:
    context = _thread_context(session, thread_id, caller)
    context["notice"] = request.query_params.get("notice")
    return render(request, "thread.html", context, caller=caller)


@router.get("/threads/{thread_id}/suggestions", response_class=HTMLResponse)
def suggestions_fragment(
    request: Request,
    thread_id: int = ThreadId,
    session: Session = Depends(db_session),
    caller: Caller = Depends(page_requires("conversations.read")),
) -> HTMLResponse:
    """Suggested answers (an htmx fragment of the thread page)."""
    from rapport.engagement.suggest import suggest_for_thread

    get_thread(session, thread_id)
    result = suggest_for_thread(session, thread_id, limit=3)
    return render(request, "_suggestions.html", {"result": result}, caller=caller)


def _back(thread_id: int, notice: str) -> Response:
    return RedirectResponse(
        f"/threads/{thread_id}?" + urlencode({"notice": notice}), status_code=303
    )


def _refused(request: Request, thread_id: int, caller: Caller, exc: RapportError) -> HTMLResponse:
    with session_scope() as session:
        context = _thread_context(session, thread_id, caller)
    context["error"] = str(exc)
    return render(request, "thread.html", context, caller=caller, status_code=422)


def _work(request: Request, thread_id: int, caller: Caller, verb: Any, notice: str) -> Response:
    try:
        with session_scope(write=True) as session:
            verb(session, thread_id, caller.principal.id, actor=caller.actor)
    except RapportError as exc:
        return _refused(request, thread_id, caller, exc)
    return _back(thread_id, notice)


@router.post("/threads/{thread_id}/claim")
def claim_form(
    request: Request,
    thread_id: int = ThreadId,
    caller: Caller = Depends(page_requires("conversations.work")),
) -> Response:
    return _work(request, thread_id, caller, service.do_claim, "claimed")


@router.post("/threads/{thread_id}/release")
def release_form(
    request: Request,
    thread_id: int = ThreadId,
    caller: Caller = Depends(page_requires("conversations.work")),
) -> Response:
    return _work(request, thread_id, caller, service.do_release, "released")


@router.post("/threads/{thread_id}/reply")
def reply_form(
    request: Request,
    thread_id: int = ThreadId,
    text: str = Form("", max_length=100_000),
    channel: str = Form("", max_length=100),
    private: bool = Form(False),
    canned: str = Form("", max_length=50),
    caller: Caller = Depends(page_requires("conversations.work")),
) -> Response:
    """Queue (and send) a reply; a refusal shows on the thread, nothing queued."""
    from rapport.workers.tasks.engagement import dispatch_send

    try:
        with session_scope(write=True) as session:
            queued = service.do_queue_reply(
                session,
                thread_id,
                text,
                actor=actor_of(caller),
                channel=channel or None,
                private=private,
                canned=canned or None,
            )
    except RapportError as exc:
        return _refused(request, thread_id, caller, exc)
    sent = dispatch_send(queued.outbox.id)
    status = sent.status if sent is not None else "queued"
    note = f"reply {queued.outbox.id}: {status}"
    if sent is not None and sent.reason:
        note += f" ({sent.reason})"
    for warning in queued.warnings:
        note += f"; {warning}"
    return _back(thread_id, note)


SNOOZE_PRESETS = {"1h": timedelta(hours=1), "4h": timedelta(hours=4), "1d": timedelta(days=1),
                  "1w": timedelta(weeks=1)}  # fmt: skip


@router.post("/threads/{thread_id}/status")
def status_form(
    request: Request,
    thread_id: int = ThreadId,
    status: str = Form(..., max_length=20),
    until: str = Form("", max_length=40),
    preset: str = Form("", max_length=10),
    caller: Caller = Depends(page_requires("conversations.work")),
) -> Response:
    """Status buttons and the snooze picker (a preset, or a time: UTC unless it says)."""
    from rapport.workers.tasks.engagement import dispatch_send

    try:
        when: datetime | None = None
        if preset:
            if preset not in SNOOZE_PRESETS:
                raise EngagementError(f"unknown snooze preset {preset!r}")
            when = utcnow() + SNOOZE_PRESETS[preset]
        elif until:
            try:
                when = datetime.fromisoformat(until)
            except ValueError:
                raise EngagementError(f"{until!r} is not a date and time") from None
            when = when if when.tzinfo else when.replace(tzinfo=UTC)
        with session_scope(write=True) as session:
            result = workspace.do_set_status(
                session, thread_id, status, actor=actor_of(caller), until=when
            )
    except RapportError as exc:
        return _refused(request, thread_id, caller, exc)
    if result.survey_outbox_id:
        dispatch_send(result.survey_outbox_id)
    note = f"{result.previous} → {result.status}"
    if result.survey_skipped:
        note += f" (no survey: {result.survey_skipped})"
    elif result.survey_outbox_id:
        note += " (satisfaction survey sent)"
    return _back(thread_id, note)


@router.post("/threads/{thread_id}/labels")
def labels_form(
    request: Request,
    thread_id: int = ThreadId,
    add: str = Form("", max_length=50),
    remove: str = Form("", max_length=50),
    caller: Caller = Depends(page_requires("conversations.work")),
) -> Response:
    try:
        with session_scope(write=True) as session:
            if add.strip():
                workspace.do_label_thread(session, thread_id, [add], actor=caller.actor)
            if remove.strip():
                workspace.do_label_thread(
                    session, thread_id, [remove], actor=caller.actor, remove=True
                )
    except RapportError as exc:
        return _refused(request, thread_id, caller, exc)
    return _back(thread_id, "labels saved")


@router.post("/threads/{thread_id}/notes")
def notes_form(
    request: Request,
    thread_id: int = ThreadId,
    text: str = Form("", max_length=20_000),
    caller: Caller = Depends(page_requires("conversations.work")),
) -> Response:
    """The note composer: internal, never sent."""
    try:
        with session_scope(write=True) as session:
            note = workspace.do_add_note(session, thread_id, text, actor=actor_of(caller))
    except RapportError as exc:
        return _refused(request, thread_id, caller, exc)
    told = f"; notified {', '.join('@' + m for m in note.mentions)}" if note.mentions else ""
    return _back(thread_id, "internal note added" + told)
