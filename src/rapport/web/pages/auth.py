"""/login and /logout."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from rapport.audit.service import do_record
from rapport.auth import tokens
from rapport.auth.service import do_login
from rapport.storage.engine import session_scope
from rapport.web.api.auth import client_address
from rapport.web.security import (
    Caller,
    check_anon_csrf,
    checked_caller,
    end_session,
    safe_next,
    start_session,
)
from rapport.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request, next: str | None = None, caller: Caller | None = Depends(checked_caller)
) -> Response:
    if caller is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", {"next": safe_next(next), "error": None, "email": ""})


@router.post("/login", response_class=HTMLResponse, dependencies=[Depends(check_anon_csrf)])
def login(
    request: Request,
    email: str = Form(..., max_length=255),
    password: str = Form(..., max_length=1000),
    next: str = Form("/inbox", max_length=2000),
) -> Response:
    with session_scope(write=True) as session:
        result = do_login(session, email, password, client=client_address(request))
        cookie = tokens.issue_session(result.user)[0] if result.user else None
    if cookie is None:
        headers = (
            {"Retry-After": str(result.retry_after)} if result.retry_after is not None else None
        )
        return render(
            request,
            "login.html",
            {"next": safe_next(next), "error": str(result.refusal), "email": email},
            status_code=429 if result.retry_after is not None else 401,
            headers=headers,
        )
    response = RedirectResponse(safe_next(next), status_code=303)
    start_session(response, cookie)
    return response


@router.post("/logout")
def logout(caller: Caller | None = Depends(checked_caller)) -> Response:
    """End the browser session (CSRF-checked like every unsafe request)."""
    if caller is not None:
        with session_scope(write=True) as session:
            do_record(
                session,
                caller.actor,
                "auth.logout",
                subject_type="user",
                subject_id=caller.principal.id,
            )
    response = RedirectResponse("/login", status_code=303)
    end_session(response)
    return response
