"""/admin/...: users, channels, customer requests, quarantine, audit trail."""

from __future__ import annotations

import json
from typing import Any, get_origin

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from rapport.audit.service import do_record, list_events
from rapport.channels import queries as channel_queries
from rapport.channels import registry
from rapport.channels import service as channel_service
from rapport.channels.schemas import ChannelCreate
from rapport.conversations.queries import list_channels, list_quarantine
from rapport.errors import RapportError
from rapport.preferences.queries import list_requests
from rapport.preferences.schemas import CustomerRequestUpdate
from rapport.preferences.service import do_close_request, do_fulfil_request
from rapport.settings import get_settings
from rapport.storage.engine import session_scope
from rapport.storage.vacuum import do_vacuum
from rapport.users import service as users
from rapport.users.models import ROLES
from rapport.users.schemas import UserCreate, UserUpdate
from rapport.web.deps import db_session
from rapport.web.security import Caller, page_requires
from rapport.web.templating import render

router = APIRouter(prefix="/admin", include_in_schema=False)
PAGE = 100
UserId = Path(..., ge=1, le=2**62)


def _users_page(
    request: Request, caller: Caller, *, error: str | None = None, status_code: int = 200
) -> HTMLResponse:
    with session_scope() as session:
        rows = users.list_users(session)
    return render(
        request,
        "admin/users.html",
        {"users": rows, "roles": ROLES, "error": error},
        caller=caller,
        status_code=status_code,
    )


@router.get("/users", response_class=HTMLResponse)
def users_page(
    request: Request, caller: Caller = Depends(page_requires("users.read"))
) -> HTMLResponse:
    return _users_page(request, caller)


@router.post("/users", response_class=HTMLResponse)
def create_user(
    request: Request,
    email: str = Form(..., max_length=255),
    role: str = Form(..., max_length=20),
    name: str = Form("", max_length=255),
    password: str = Form("", max_length=1000),
    caller: Caller = Depends(page_requires("users.write")),
) -> Response:
    try:
        with session_scope(write=True) as session:
            users.do_create_user(
                session,
                UserCreate(email=email, role=role, name=name or None, password=password or None),
                actor=caller.actor,
            )
    except RapportError as exc:
        return _users_page(request, caller, error=str(exc), status_code=422)
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/users/{user_id}", response_class=HTMLResponse)
def update_user(
    request: Request,
    user_id: int = UserId,
    role: str | None = Form(None, max_length=20),
    active: str | None = Form(None, max_length=5),
    password: str | None = Form(None, max_length=1000),
    caller: Caller = Depends(page_requires("users.write")),
) -> Response:
    """Change a role, disable/enable (active=yes|no) or set a password."""
    try:
        with session_scope(write=True) as session:
            if password:
                users.do_set_password(session, user_id, password, actor=caller.actor)
            update = UserUpdate(
                role=role or None,
                active=None if active is None else active == "yes",
            )
            if update.model_dump(exclude_none=True):
                users.do_update_user(session, user_id, update, actor=caller.actor)
    except RapportError as exc:
        return _users_page(request, caller, error=str(exc), status_code=422)
    return RedirectResponse("/admin/users", status_code=303)


def _channels_page(
    request: Request,
    caller: Caller,
    *,
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    with session_scope() as session:
        channels = channel_queries.list_channels(session)
        volume = {c.name: c for c in list_channels(session)}
    kinds = [{**t.describe(), "list_fields": sorted(_list_fields(t))} for t in registry.all_types()]
    return render(
        request,
        "admin/channels.html",
        {
            "channels": channels,
            "volume": volume,
            "kinds": kinds,
            "error": error,
            "notice": notice,
        },
        caller=caller,
        status_code=status_code,
    )


def _list_fields(ctype: registry.ConnectorType) -> set[str]:
    """Options that take several values (typed one per line in the form)."""
    return {
        name
        for name, info in ctype.options.model_fields.items()
        if get_origin(info.annotation) is list or info.annotation is list
    }


@router.get("/channels", response_class=HTMLResponse)
def channels_page(
    request: Request, caller: Caller = Depends(page_requires("channels.read"))
) -> HTMLResponse:
    return _channels_page(request, caller)


def _add_channel(kind: str, name: str, enabled: bool, form: dict[str, str], actor: str) -> None:
    ctype = registry.get_type(kind)
    lists = _list_fields(ctype)
    options: dict[str, Any] = {}
    for field in ctype.options.model_fields:
        raw = form.get(f"opt_{field}", "").strip()
        if not raw:
            continue
        if field in lists:
            options[field] = [v.strip() for v in raw.replace(",", "\n").splitlines() if v.strip()]
        else:
            options[field] = raw
    with session_scope(write=True) as session:
        channel_service.do_add_channel(
            session,
            ChannelCreate(kind=ctype.kind, name=name.strip(), options=options, enabled=enabled),
            actor=actor,
        )


@router.post("/channels", response_class=HTMLResponse)
async def add_channel(
    request: Request,
    kind: str = Form(..., max_length=40),
    name: str = Form(..., max_length=100),
    enabled: str = Form("no", pattern="^(yes|no)$"),
    caller: Caller = Depends(page_requires("channels.write")),
) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    try:
        await run_in_threadpool(_add_channel, kind, name, enabled == "yes", form, caller.actor)
    except (RapportError, ValidationError) as exc:
        message = str(exc)
        return await run_in_threadpool(
            lambda: _channels_page(request, caller, error=message, status_code=422)
        )
    return RedirectResponse("/admin/channels", status_code=303)


@router.post("/channels/{name}/enabled", response_class=HTMLResponse)
def set_channel_enabled(
    request: Request,
    name: str = Path(..., min_length=1, max_length=100),
    enabled: str = Form(..., pattern="^(yes|no)$"),
    caller: Caller = Depends(page_requires("channels.write")),
) -> Response:
    try:
        with session_scope(write=True) as session:
            channel_service.do_set_enabled(session, name, enabled == "yes", actor=caller.actor)
    except RapportError as exc:
        return _channels_page(request, caller, error=str(exc), status_code=422)
    return RedirectResponse("/admin/channels", status_code=303)


@router.post("/channels/{name}/remove", response_class=HTMLResponse)
def remove_channel(
    request: Request,
    name: str = Path(..., min_length=1, max_length=100),
    caller: Caller = Depends(page_requires("channels.write")),
) -> Response:
    try:
        with session_scope(write=True) as session:
            channel_service.do_remove_channel(session, name, actor=caller.actor)
    except RapportError as exc:
        return _channels_page(request, caller, error=str(exc), status_code=422)
    return RedirectResponse("/admin/channels", status_code=303)


@router.post("/channels/{name}/poll", response_class=HTMLResponse)
def poll_channel(
    request: Request,
    name: str = Path(..., min_length=1, max_length=100),
    caller: Caller = Depends(page_requires("channels.poll")),
) -> Response:
    try:
        result = channel_service.do_poll_channel(name, force=True)
    except RapportError as exc:
        return _channels_page(request, caller, error=str(exc), status_code=422)
    with session_scope(write=True) as session:
        do_record(
            session,
            caller.actor,
            "channels.poll",
            subject_type="channel",
            subject_id=name,
            details=result.contract(),
        )
    if result.error:
        return _channels_page(request, caller, error=f"{name}: {result.error}")
    return _channels_page(
        request,
        caller,
        notice=f"{name}: fetched {result.fetched}, inserted {result.inserted}, "
        f"{result.duplicates} already there, {result.quarantined} quarantined",
    )


@router.get("/quarantine", response_class=HTMLResponse)
def quarantine_page(
    request: Request,
    page: int = Query(1, ge=1, le=100_000),
    session: Session = Depends(db_session),
    caller: Caller = Depends(page_requires("quarantine.read")),
) -> HTMLResponse:
    rows, total = list_quarantine(session, limit=PAGE, offset=(page - 1) * PAGE)
    return render(
        request,
        "admin/quarantine.html",
        {"rows": rows, "total": total, "page": page, "pages": max((total + PAGE - 1) // PAGE, 1)},
        caller=caller,
    )


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    action: str | None = Query(None, max_length=100),
    page: int = Query(1, ge=1, le=100_000),
    session: Session = Depends(db_session),
    caller: Caller = Depends(page_requires("audit.read")),
) -> HTMLResponse:
    events, total = list_events(
        session, action=action or None, limit=PAGE, offset=(page - 1) * PAGE
    )
    return render(
        request,
        "admin/audit.html",
        {
            "events": events,
            "total": total,
            "action": action or "",
            "page": page,
            "pages": max((total + PAGE - 1) // PAGE, 1),
        },
        caller=caller,
    )


@router.get("/requests", response_class=HTMLResponse)
def requests_page(
    request: Request,
    status: str | None = Query("open", max_length=20),
    session: Session = Depends(db_session),
    caller: Caller = Depends(page_requires("requests.read")),
) -> HTMLResponse:
    status = status if status in ("open", "done", "rejected") else None
    rows, total = list_requests(session, status=status, limit=PAGE)
    return render(
        request,
        "admin/requests.html",
        {"rows": rows, "total": total, "status": status or "all", "error": None},
        caller=caller,
    )


@router.post("/requests/{request_id}/fulfil", response_class=HTMLResponse)
def fulfil_request(
    request: Request,
    request_id: int = Path(..., ge=1, le=2**62),
    caller: Caller = Depends(page_requires("requests.write")),
) -> Response:
    """Carry out an export (downloaded as JSON) or an erasure."""
    try:
        with session_scope(write=True) as session:
            closed, document = do_fulfil_request(session, request_id, actor=caller.actor)
    except RapportError as exc:
        with session_scope() as session:
            rows, total = list_requests(session, status="open", limit=PAGE)
        return render(
            request,
            "admin/requests.html",
            {"rows": rows, "total": total, "status": "open", "error": str(exc)},
            caller=caller,
            status_code=422,
        )
    if closed.kind == "erasure":
        do_vacuum(wait_seconds=get_settings().web_vacuum_wait_seconds)
    if document is not None:
        return Response(
            json.dumps(document, default=str, ensure_ascii=False, indent=2),
            media_type="application/json",
            headers={
                "Content-Disposition": f'attachment; filename="person-{closed.person_id}.json"'
            },
        )
    return RedirectResponse("/admin/requests?status=done", status_code=303)


@router.post("/requests/{request_id}", response_class=HTMLResponse)
def close_request(
    request: Request,
    request_id: int = Path(..., ge=1, le=2**62),
    status: str = Form(..., max_length=20),
    note: str = Form("", max_length=500),
    caller: Caller = Depends(page_requires("requests.write")),
) -> Response:
    try:
        update = CustomerRequestUpdate.model_validate({"status": status, "note": note or None})
        with session_scope(write=True) as session:
            do_close_request(session, request_id, update, actor=caller.actor)
    except (RapportError, ValueError) as exc:
        with session_scope() as session:
            rows, total = list_requests(session, status="open", limit=PAGE)
        return render(
            request,
            "admin/requests.html",
            {"rows": rows, "total": total, "status": "open", "error": str(exc)},
            caller=caller,
            status_code=422,
        )
    return RedirectResponse("/admin/requests", status_code=303)
