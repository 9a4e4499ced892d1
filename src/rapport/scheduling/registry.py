"""Which function runs which kind of job. Domains register their kinds at
start-up (`rapport.pipeline.install`); Celery workers and the in-process
scheduler look handlers up here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from rapport.scheduling.errors import UnknownJobKind
from rapport.scheduling.schemas import JobPublic


@dataclass(frozen=True)
class JobOutcome:
    """What a handler may tell the scheduler after a run."""

    #: When to run next (a backoff, a rate limit); None: after the interval.
    next_run_at: datetime | None = None
    #: A failure the handler dealt with itself but that the schedule should show.
    error: str | None = None
    summary: str | None = None


#: A handler runs one occurrence of a job; it opens its own transactions.
JobHandler = Callable[[JobPublic], JobOutcome | None]

_handlers: dict[str, JobHandler] = {}


def register_kind(kind: str, handler: JobHandler) -> None:
    """Run ``handler`` for jobs of ``kind`` (re-registering replaces it)."""
    _handlers[kind] = handler


def handler_for(kind: str) -> JobHandler:
    try:
        return _handlers[kind]
    except KeyError:
        raise UnknownJobKind(
            f"no handler registered for job kind {kind!r} "
            f"(known: {', '.join(sorted(_handlers)) or 'none'})"
        ) from None


def known_kinds() -> list[str]:
    return sorted(_handlers)
