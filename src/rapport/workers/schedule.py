"""Periodic work: Celery beat sends `rapport.schedule.tick` every
``interval`` seconds; the tick asks the schedule table which jobs are due
and sends each job's task.

The schedule table belongs to `rapport.scheduling` (one table for every
periodic job: channel polls, report exports, health recomputation...). The
tick reaches it through one function, `CLAIM_DUE`:

    claim_due_jobs(now: datetime, limit: int) -> Iterable[job]

which returns the jobs due at ``now`` and, in the same transaction, moves
each one's next run forward (so two ticks, or two beats, never send a job
twice). A job has ``id``, ``task`` (a task name such as
``rapport.channels.poll``, or a kind from `JOB_KINDS`), ``args`` (list) and
``kwargs`` (dict). Until `rapport.scheduling` provides it, the tick reports
``wired: false`` and sends nothing.

Beat itself keeps no schedule of its own beyond the tick, so the table is
the one place periodic work is configured, and several beats (by mistake)
only tick more often: the claim makes that harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from rapport.storage.base import utcnow
from rapport.workers.errors import TaskNotWired
from rapport.workers.wiring import resolve

log = logging.getLogger(__name__)

CLAIM_DUE = "rapport.scheduling.service:claim_due_jobs"
TICK_TASK = "rapport.schedule.tick"

#: Short job kinds the schedule table may use instead of full task names.
JOB_KINDS = {
    "channel.poll": "rapport.channels.poll",
    "outbox.send": "rapport.outbox.send",
    "analysis.batch": "rapport.analysis.analyze_messages",
    "triage": "rapport.engagement.triage_threads",
    "health.recompute": "rapport.relationships.recompute_health",
    "report.render": "rapport.reports.render",
}


def task_for(job: Any) -> str:
    name = str(getattr(job, "task", None) or getattr(job, "kind", ""))
    return JOB_KINDS.get(name, name)


def beat_schedule(interval: float) -> dict[str, Any]:
    """The only entry beat needs: the tick."""
    return {"rapport-schedule-tick": {"task": TICK_TASK, "schedule": float(interval)}}


def dispatch_due(now: datetime | None = None, limit: int = 500) -> dict[str, Any]:
    """Send the task of every due job; returns what was sent."""
    from rapport.workers.app import get_app

    try:
        claim = resolve(CLAIM_DUE)
    except TaskNotWired as exc:
        log.info("schedule tick: %s", exc)
        return {"wired": False, "dispatched": 0, "jobs": []}
    app = get_app()
    now = now or utcnow()
    sent: list[dict[str, Any]] = []
    jobs: Iterable[Any] = claim(now, limit)
    for job in jobs:
        name = task_for(job)
        if name not in app.tasks:
            log.error("scheduled job %s names unknown task %r", getattr(job, "id", "?"), name)
            continue
        result = app.tasks[name].apply_async(
            args=list(getattr(job, "args", None) or []),
            kwargs=dict(getattr(job, "kwargs", None) or {}),
        )
        sent.append({"job": getattr(job, "id", None), "task": name, "task_id": result.id})
    return {"wired": True, "dispatched": len(sent), "jobs": sent}
