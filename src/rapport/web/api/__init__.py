"""The REST API under /api/v1: one router module per area, each route
declaring the capability it needs (`rapport.web.security.requires`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorBody(BaseModel):
    """An error: what went wrong, in words."""

    detail: str


class ValidationErrorItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorBody(BaseModel):
    """Bad input: either the request's shape (a list of problems) or a
    refusal by the service (one sentence)."""

    detail: list[ValidationErrorItem] | str


def _error(description: str, model: type[BaseModel] = ErrorBody) -> dict[str, Any]:
    return {"model": model, "description": description}


#: Documented on every protected route.
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _error("The request body could not be parsed."),
    401: _error("Not authenticated: no, expired or invalid bearer token."),
    403: _error("Authenticated, but the role may not do this (or a CSRF failure)."),
    422: _error("Bad input, or an operation the service refused.", ValidationErrorBody),
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: _error("No such record.")}
BAD_INPUT: dict[int | str, dict[str, Any]] = {
    400: _error("The request body could not be parsed."),
    422: _error("Bad input, or an operation the service refused.", ValidationErrorBody),
}
