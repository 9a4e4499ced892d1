"""Errors of the knowledge domain."""

from rapport.errors import NotFoundError, RapportError


class KnowledgeError(RapportError):
    """A knowledge-base operation was refused (bad query, bad state...)."""


class EntryNotFound(NotFoundError):
    """No knowledge-base entry has this id."""
