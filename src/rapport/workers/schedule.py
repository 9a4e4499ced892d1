"""Periodic work on Celery: beat sends `rapport.schedule.tick` every
``interval`` seconds; the tick reads the schedule table
(`rapport.scheduling`: one table for every periodic job — channel polls,
report exports, health recomputation...) and sends one
`rapport.schedule.run_job` task per due job. The worker that runs it claims
the job with the scheduler's conditional update
(`rapport.scheduling.runner.run_job`), so a job sent twice (two ticks, two
beats by mistake) still runs once; the table keeps each run's outcome.

Without a broker, `rapport serve` runs the same jobs in-process
(`rapport.scheduling.runner.SchedulerThread`): one schedule, two engines.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from rapport.storage.base import utcnow
from rapport.storage.engine import session_scope

log = logging.getLogger(__name__)

TICK_TASK = "rapport.schedule.tick"
RUN_JOB_TASK = "rapport.schedule.run_job"


def beat_schedule(interval: float) -> dict[str, Any]:
    """The only entry beat needs: the tick (the table holds the rest)."""
    return {"rapport-schedule-tick": {"task": TICK_TASK, "schedule": float(interval)}}


def dispatch_due(now: datetime | None = None) -> dict[str, Any]:
    """Send a `run_job` task for every job due at ``now``."""
    from rapport.scheduling import queries
    from rapport.workers.app import get_app

    app = get_app()
    moment = now or utcnow()
    with session_scope() as session:
        due = queries.due_jobs(session, moment)
    sent = []
    for job in due:
        result = app.tasks[RUN_JOB_TASK].apply_async(args=(job.name, job.kind))
        sent.append({"job": job.name, "kind": job.kind, "task_id": result.id})
    return {"dispatched": len(sent), "jobs": sent}


def run_scheduled_job(name: str, kind: str) -> dict[str, Any]:
    """Claim and run one due job (None from the runner: another took it)."""
    from rapport.scheduling.runner import run_job

    report = run_job(name, kind)
    if report is None:
        return {"job": name, "ran": False}
    return {"job": name, "ran": True, "ok": report.ok, "error": report.error}
