"""Who is calling, and may they: the web face of `rapport.auth`.

Two ways in, checked on every request:
- ``Authorization: Bearer <token>`` from `POST /api/v1/auth/token` (API
  clients; no CSRF check, the header is never sent by a browser on its own);
- the ``rapport_session`` cookie set by `/login` (the UI). Every unsafe
  request (POST, PUT, PATCH, DELETE) made with the cookie must carry the
  session's CSRF token, as the ``csrf_token`` form field or the
  ``X-CSRF-Token`` header (HTMX sends it from ``<body hx-headers>``).

Anonymous forms (login, the customer's preference page) use a double-submit
token instead: the ``rapport_csrf`` cookie must equal the form field.

Routes declare a capability (`rapport.auth.roles`): ``requires(cap)`` for
the API (no credentials → 401, wrong role → 403), ``page_requires(cap)`` for
pages (no session → redirect to /login, wrong role → 403 page).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request, Response
from fastapi.security import OAuth2PasswordBearer

from rapport.auth import tokens
from rapport.auth.errors import TokenInvalid
from rapport.auth.roles import allows, roles_for
from rapport.auth.schemas import Principal
from rapport.auth.service import principal_for
from rapport.settings import get_settings
from rapport.storage.engine import session_scope

SESSION_COOKIE = "rapport_session"
ANON_CSRF_COOKIE = "rapport_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

bearer_scheme = OAuth2PasswordBearer(
    tokenUrl="/api/v1/auth/token",
    auto_error=False,
    description="A bearer token from POST /api/v1/auth/token (OAuth2 password flow).",
)


@dataclass(frozen=True)
class Caller:
    """A logged-in user and how they came in."""

    principal: Principal
    via: Literal["token", "session"]
    #: The session's CSRF token (browser sessions).
    csrf: str | None = None

    @property
    def actor(self) -> str:
        """How the audit trail names them."""
        return self.principal.email

    def can(self, capability: str) -> bool:
        return allows(self.principal.role, capability)


class LoginRequired(Exception):
    """A page needs a logged-in user: the app redirects to /login."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CsrfFailed(HTTPException):
    def __init__(self) -> None:
        super().__init__(
            status_code=403,
            detail="missing or wrong CSRF token: reload the page and try again",
        )


def secure_cookies() -> bool:
    return get_settings().env == "prod"


def _resolve(request: Request, token: str | None) -> Caller | None:
    """The caller from the bearer token, else from the session cookie.
    A bad bearer token is an error (401); a bad cookie is just no login."""
    if token:
        try:
            claims = tokens.read_access_token(token)
            with session_scope() as session:
                return Caller(principal_for(session, claims), "token")
        except TokenInvalid as exc:
            raise HTTPException(
                status_code=401, detail=str(exc), headers={"WWW-Authenticate": "Bearer"}
            ) from exc
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    try:
        claims = tokens.read_session(cookie)
        with session_scope() as session:
            return Caller(principal_for(session, claims), "session", claims.csrf)
    except TokenInvalid:
        return None


def current_caller(request: Request, token: str | None = Depends(bearer_scheme)) -> Caller | None:
    """The caller, or None when nobody is logged in (resolved once per request)."""
    cached: Caller | None = getattr(request.state, "caller", None)
    if cached is not None:
        return cached
    caller = _resolve(request, token)
    request.state.caller = caller
    return caller


async def submitted_csrf(request: Request) -> str | None:
    """The CSRF token the request carries (header, else form field)."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


async def checked_caller(
    request: Request, caller: Caller | None = Depends(current_caller)
) -> Caller | None:
    """The caller, after the CSRF check of unsafe requests made with the cookie."""
    if (
        caller is not None
        and caller.via == "session"
        and request.method in UNSAFE_METHODS
        and not tokens.same_secret(await submitted_csrf(request), caller.csrf)
    ):
        raise CsrfFailed()
    return caller


def requires(capability: str) -> Callable[..., Caller]:
    """An API dependency: the caller must hold ``capability`` (401 / 403)."""
    roles_for(capability)  # fail at import time on a typo

    def dependency(caller: Caller | None = Depends(checked_caller)) -> Caller:
        if caller is None:
            raise HTTPException(
                status_code=401,
                detail="not authenticated: send a bearer token from POST /api/v1/auth/token",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not caller.can(capability):
            raise HTTPException(
                status_code=403,
                detail=f"the {caller.principal.role} role may not do this ({capability})",
            )
        return caller

    dependency.__name__ = f"requires_{capability.replace('.', '_')}"
    return dependency


def page_requires(capability: str) -> Callable[..., Caller]:
    """A page dependency: no login → /login, wrong role → 403 page."""
    roles_for(capability)

    def dependency(request: Request, caller: Caller | None = Depends(checked_caller)) -> Caller:
        if caller is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise LoginRequired(target)
        if not caller.can(capability):
            raise HTTPException(
                status_code=403,
                detail=f"the {caller.principal.role} role may not open this page ({capability})",
            )
        return caller

    dependency.__name__ = f"page_requires_{capability.replace('.', '_')}"
    return dependency


def login_redirect_target(next_path: str) -> str:
    return "/login?next=" + quote(next_path, safe="")


def safe_next(value: str | None) -> str:
    """A post-login destination on this site only (no open redirect)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/inbox"


# ---------------------------------------------------------------- anonymous CSRF


def anon_csrf(request: Request) -> str:
    """The double-submit token for anonymous forms (set as a cookie on the response)."""
    existing: str | None = getattr(request.state, "anon_csrf", None)
    if existing:
        return existing
    value = request.cookies.get(ANON_CSRF_COOKIE) or secrets.token_urlsafe(24)
    request.state.anon_csrf = value
    return value


def set_anon_csrf_cookie(request: Request, response: Response) -> None:
    value = getattr(request.state, "anon_csrf", None)
    if value and request.cookies.get(ANON_CSRF_COOKIE) != value:
        response.set_cookie(
            ANON_CSRF_COOKIE,
            value,
            httponly=True,
            samesite="strict",
            secure=secure_cookies(),
            path="/",
        )


async def check_anon_csrf(request: Request) -> None:
    """Refuse an anonymous form whose token does not match its cookie."""
    if not tokens.same_secret(await submitted_csrf(request), request.cookies.get(ANON_CSRF_COOKIE)):
        raise CsrfFailed()


def csrf_for(request: Request, caller: Caller | None) -> str:
    """The token a page's forms must send back."""
    if caller is not None and caller.via == "session" and caller.csrf:
        return caller.csrf
    return anon_csrf(request)


def start_session(response: Response, cookie_value: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        cookie_value,
        max_age=tokens.max_age_seconds(),
        httponly=True,
        samesite="lax",
        secure=secure_cookies(),
        path="/",
    )


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
