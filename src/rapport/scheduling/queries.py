"""Reading the schedule (Celery beat and the in-process scheduler alike)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from rapport.scheduling.errors import JobNotFound
from rapport.scheduling.models import ScheduledJob
from rapport.scheduling.schemas import JobPublic


def due_jobs(session: Session, now: datetime, *, kind: str | None = None) -> list[JobPublic]:
    """Enabled jobs whose ``next_run_at`` has come, the most overdue first."""
    query = select(ScheduledJob).where(
        ScheduledJob.enabled.is_(True), ScheduledJob.next_run_at <= now
    )
    if kind is not None:
        query = query.where(ScheduledJob.kind == kind)
    rows = session.execute(query.order_by(ScheduledJob.next_run_at, ScheduledJob.id)).scalars()
    return [JobPublic.model_validate(r) for r in rows]


def list_jobs(session: Session, *, kind: str | None = None) -> list[JobPublic]:
    query = select(ScheduledJob).order_by(ScheduledJob.name)
    if kind is not None:
        query = query.where(ScheduledJob.kind == kind)
    return [JobPublic.model_validate(r) for r in session.execute(query).scalars()]


def get_job(session: Session, name: str) -> JobPublic:
    row = session.execute(
        select(ScheduledJob).where(ScheduledJob.name == name)
    ).scalar_one_or_none()
    if row is None:
        raise JobNotFound(f"no scheduled job named {name!r}")
    return JobPublic.model_validate(row)


def next_due_at(session: Session) -> datetime | None:
    """When the next enabled job falls due (None: nothing scheduled)."""
    return session.execute(
        select(ScheduledJob.next_run_at)
        .where(ScheduledJob.enabled.is_(True))
        .order_by(ScheduledJob.next_run_at)
        .limit(1)
    ).scalar_one_or_none()
