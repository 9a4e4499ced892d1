"""Errors of the users domain."""

from rapport.errors import NotFoundError, RapportError


class UserError(RapportError):
    """A refused user operation (bad email, unknown role, weak password...)."""


class UserNotFound(NotFoundError):
    """No user has this id, email or username."""
