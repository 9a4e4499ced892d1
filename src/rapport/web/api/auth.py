"""/api/v1/auth: the OAuth2 password flow and "who am I"."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.security import OAuth2PasswordRequestForm

from rapport.auth import tokens
from rapport.auth.schemas import Principal, Token
from rapport.auth.service import do_login
from rapport.storage.engine import session_scope
from rapport.web.api import AUTH_ERRORS, BAD_INPUT, ErrorBody
from rapport.web.security import Caller, requires

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post(
    "/token",
    response_model=Token,
    responses={
        401: {"model": ErrorBody, "description": "Wrong email or password."},
        429: {"model": ErrorBody, "description": "Too many failed logins; see Retry-After."},
        **BAD_INPUT,
    },
)
def issue_token(request: Request, form: OAuth2PasswordRequestForm = Depends()) -> Token:
    """OAuth2 password flow: form fields `username` (the email) and `password`."""
    with session_scope(write=True) as session:
        result = do_login(session, form.username, form.password, client=client_address(request))
        token = tokens.issue_access_token(result.user) if result.user else None
    if token is None:
        if result.retry_after is not None:
            raise HTTPException(
                status_code=429,
                detail=str(result.refusal),
                headers={"Retry-After": str(result.retry_after)},
            )
        raise HTTPException(
            status_code=401, detail=str(result.refusal), headers={"WWW-Authenticate": "Bearer"}
        )
    return Token(access_token=token)


@router.get("/me", response_model=Principal, responses=AUTH_ERRORS)
def me(caller: Caller = Depends(requires("reports.read"))) -> Principal:
    """The logged-in user and their role."""
    return caller.principal
