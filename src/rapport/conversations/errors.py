"""Errors of the conversations domain."""

from rapport.errors import NotFoundError, RapportError


class IngestError(RapportError):
    """A source cannot be imported at all (missing file, unknown format,
    header that matches no format). Row-level problems never raise: they go
    to quarantine."""


class ThreadNotFound(NotFoundError):
    """No thread has this id."""


class MessageNotFound(NotFoundError):
    """No message has this id."""
