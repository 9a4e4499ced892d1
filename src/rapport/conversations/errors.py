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


class QueryError(RapportError):
    """A search or listening query that cannot be used; ``position`` is the
    1-based character of the query where the problem is."""

    def __init__(self, what: str, position: int, query: str) -> None:
        self.what = what
        self.position = position
        self.query = query
        super().__init__(f"invalid query: {what} at {position}")

    def caret(self) -> str:
        """The query with a caret under the position (for terminals and pages)."""
        return f"{self.query}\n{' ' * (self.position - 1)}^"


class QuerySyntaxError(QueryError):
    """The query is malformed: an unclosed quote, a missing term or parenthesis."""


class QueryNotSearchable(QueryError):
    """The query is well formed but cannot run as a full-text search: it only
    excludes (``NOT spam``) or offers an exclusion as an alternative
    (``refund OR NOT spam``)."""
