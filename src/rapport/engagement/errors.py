"""Errors of the engagement domain (CLI exit 1 with the message, API 422/404)."""

from rapport.errors import NotFoundError, RapportError


class EngagementError(RapportError):
    """A refused engagement operation (a claim taken by someone else...)."""


class PolicyInvalid(EngagementError):
    """A triage policy document that cannot be used: says where (line) and why."""

    def __init__(self, message: str, *, line: int | None = None, source: str | None = None):
        where = ""
        if source and line:
            where = f"{source}:{line}: "
        elif line:
            where = f"line {line}: "
        elif source:
            where = f"{source}: "
        super().__init__(where + message)
        self.line = line
        self.reason = message


class ReplyRefused(EngagementError):
    """A reply that may not be queued (empty, too long, consent denied...)."""


class ConsentRefused(ReplyRefused):
    """The customer's consent does not allow this message on this channel."""


class ClaimTaken(EngagementError):
    """The thread is claimed by another agent."""


class PermissionDenied(EngagementError):
    """The acting user's role does not allow this operation."""


class ThreadStateNotFound(NotFoundError):
    """No thread has this id."""


class OutboxItemNotFound(NotFoundError):
    """No outbox entry has this id."""


class TeamNotFound(NotFoundError):
    """No team has this name."""


class LabelNotFound(NotFoundError):
    """No label has this name."""


class CannedNotFound(NotFoundError):
    """No canned response has this shortcode."""


class ViewNotFound(NotFoundError):
    """No saved view has this name."""


class BulkRefused(EngagementError):
    """A bulk action refused as a whole (one reason per thread)."""
