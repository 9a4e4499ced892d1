"""/preferences/{token}: the customer's own page, opened from a signed link
without logging in. Forms carry the anonymous double-submit CSRF token."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from rapport.preferences import service
from rapport.preferences.links import read_link
from rapport.preferences.queries import preference_view
from rapport.storage.engine import session_scope
from rapport.web.deps import db_session
from rapport.web.security import check_anon_csrf
from rapport.web.templating import render

router = APIRouter(prefix="/preferences", include_in_schema=False)
Token = Path(..., min_length=10, max_length=500)

DONE = {
    "consent": "Thank you: your consent choice is recorded.",
    "channel": "Thank you: your preferred channel is recorded.",
    "export": "Thank you: we will send you a copy of your data.",
    "erasure": "Thank you: your request to erase your data is recorded.",
}


@router.get("/{token}", response_class=HTMLResponse)
def preference_page(
    request: Request,
    token: str = Token,
    done: str | None = None,
    session: Session = Depends(db_session),
) -> HTMLResponse:
    person_id = read_link(token)
    view = preference_view(session, person_id)
    return render(
        request,
        "preferences.html",
        {"view": view, "token": token, "done": DONE.get(done or ""), "customer_page": True},
        headers={"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"},
    )


def _act(token: str, action: Callable[[Session, int], object], done: str) -> Response:
    person_id = read_link(token)
    with session_scope(write=True) as session:
        action(session, person_id)
    return RedirectResponse(f"/preferences/{token}?done={done}", status_code=303)


@router.post("/{token}/consent", dependencies=[Depends(check_anon_csrf)])
def change_consent(
    token: str = Token,
    channel: str = Form(..., max_length=100),
    allow: str = Form(..., pattern="^(yes|no)$"),
) -> Response:
    return _act(
        token,
        lambda s, p: service.do_change_consent(s, p, channel, allow=allow == "yes"),
        "consent",
    )


@router.post("/{token}/channel", dependencies=[Depends(check_anon_csrf)])
def preferred_channel(token: str = Token, channel: str = Form(..., max_length=100)) -> Response:
    return _act(token, lambda s, p: service.do_set_preferred_channel(s, p, channel), "channel")


@router.post("/{token}/export", dependencies=[Depends(check_anon_csrf)])
def request_export(token: str = Token) -> Response:
    return _act(token, service.do_request_export, "export")


@router.post("/{token}/erasure", dependencies=[Depends(check_anon_csrf)])
def request_erasure(token: str = Token, confirm: str = Form(..., pattern="^yes$")) -> Response:
    return _act(token, service.do_request_erasure, "erasure")
