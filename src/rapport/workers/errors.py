"""Errors of background work."""

from __future__ import annotations

from rapport.errors import NotFoundError, RapportError


class WorkerConfigError(RapportError):
    """Background work is asked for but no broker is configured (or it is unusable)."""


class DeadLetterNotFound(NotFoundError):
    """No dead letter with that id."""


class TaskNotWired(RapportError):
    """The domain service a task calls is not installed yet: the task is kept
    as a dead letter and can be replayed once it is."""


class DistributedIngestError(RapportError):
    """A distributed import cannot go on (workers report a permanent failure)."""
