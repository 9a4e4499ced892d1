"""Errors of the auth domain."""

from __future__ import annotations

from rapport.errors import RapportError


class AuthError(RapportError):
    """Authentication failed or was refused."""


class LoginRefused(AuthError):
    """Wrong email or password, or a disabled user (the message never says which)."""


class TooManyAttempts(AuthError):
    """Too many failed logins for this account or client; try again later."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TokenInvalid(AuthError):
    """A token or session that is forged, expired, or belongs to a changed user."""
