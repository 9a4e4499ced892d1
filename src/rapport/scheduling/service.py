"""Writing the schedule: register, claim, mark run, enable, remove."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from rapport.scheduling.errors import JobNotFound
from rapport.scheduling.models import ScheduledJob
from rapport.scheduling.schemas import JobCreate, JobPublic
from rapport.storage.base import utcnow

#: How long a claimed job is held before another runner may take it again.
DEFAULT_LEASE_SECONDS = 600.0


def do_register_job(session: Session, data: JobCreate) -> JobPublic:
    """Create the job, or update kind/interval/payload/enabled of the job of
    that name (its run history and next run are kept; a shorter interval
    brings the next run forward)."""
    now = utcnow()
    row = session.execute(
        select(ScheduledJob).where(ScheduledJob.name == data.name)
    ).scalar_one_or_none()
    if row is None:
        row = ScheduledJob(
            name=data.name,
            kind=data.kind,
            payload=data.payload,
            interval_seconds=data.interval_seconds,
            enabled=data.enabled,
            next_run_at=data.first_run_at or now,
            runs=0,
            failures=0,
        )
        session.add(row)
    else:
        row.kind = data.kind
        row.payload = data.payload
        row.enabled = data.enabled
        if data.interval_seconds < row.interval_seconds:
            row.next_run_at = min(row.next_run_at, now + timedelta(seconds=data.interval_seconds))
        row.interval_seconds = data.interval_seconds
        if data.first_run_at is not None:
            row.next_run_at = data.first_run_at
    session.flush()
    return JobPublic.model_validate(row)


def do_remove_job(session: Session, name: str) -> bool:
    """Forget the job; True if it existed."""
    result = session.execute(delete(ScheduledJob).where(ScheduledJob.name == name))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def do_set_enabled(session: Session, name: str, enabled: bool) -> None:
    result = session.execute(
        update(ScheduledJob).where(ScheduledJob.name == name).values(enabled=enabled)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise JobNotFound(f"no scheduled job named {name!r}")


def do_claim(
    session: Session, name: str, now: datetime, *, lease_seconds: float = DEFAULT_LEASE_SECONDS
) -> bool:
    """Take the due occurrence of job ``name`` for this runner.

    One conditional UPDATE: it succeeds for exactly one runner, however many
    look at the same due job; the job's next run moves to the end of the
    lease, so a runner that dies lets it fall due again.
    """
    result = session.execute(
        update(ScheduledJob)
        .where(
            ScheduledJob.name == name,
            ScheduledJob.enabled.is_(True),
            ScheduledJob.next_run_at <= now,
        )
        .values(
            next_run_at=now + timedelta(seconds=lease_seconds),
            last_run_at=now,
            last_status="running",
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def do_mark_run(
    session: Session,
    name: str,
    *,
    started_at: datetime,
    error: str | None = None,
    next_run_at: datetime | None = None,
    finished_at: datetime | None = None,
) -> JobPublic:
    """Record one run of job ``name`` (``error`` None: it succeeded) and set
    its next run: ``next_run_at`` when the handler asked for one (a backoff,
    a platform's rate limit), else ``started_at`` plus the interval."""
    row = session.execute(
        select(ScheduledJob).where(ScheduledJob.name == name)
    ).scalar_one_or_none()
    if row is None:
        raise JobNotFound(f"no scheduled job named {name!r}")
    finished = finished_at or utcnow()
    row.last_run_at = started_at
    row.last_finished_at = finished
    row.runs += 1
    if error is None:
        row.last_status = "ok"
    else:
        row.last_status = "error"
        row.last_error = error[:4000]
        row.failures += 1
    if next_run_at is None:
        next_run_at = started_at + timedelta(seconds=row.interval_seconds)
        if next_run_at <= finished:
            # A run longer than its interval: start again from now, not in a burst.
            next_run_at = finished + timedelta(seconds=min(row.interval_seconds, 60.0))
    row.next_run_at = next_run_at
    session.flush()
    return JobPublic.model_validate(row)
