"""Errors of the scheduling domain."""

from rapport.errors import NotFoundError, RapportError


class ScheduleError(RapportError):
    """A job cannot be registered or run as asked."""


class JobNotFound(NotFoundError):
    """No scheduled job has this name."""


class UnknownJobKind(ScheduleError):
    """No handler is registered for a job's kind."""
