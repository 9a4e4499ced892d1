"""Errors of the preferences domain."""

from __future__ import annotations

from rapport.errors import NotFoundError, RapportError


class PreferenceError(RapportError):
    """A refused preference change or request."""


class LinkInvalid(PreferenceError):
    """A preference link that is forged, damaged or expired."""


class PersonNotFound(NotFoundError):
    """No person has this id."""


class RequestNotFound(NotFoundError):
    """No customer request has this id."""
