"""Schedule: the beat tick, and running one job of the schedule table."""

from __future__ import annotations

from typing import Any

from rapport.workers.app import celery_app
from rapport.workers.base import RapportTask
from rapport.workers.schedule import RUN_JOB_TASK, TICK_TASK, dispatch_due, run_scheduled_job


@celery_app.task(bind=True, base=RapportTask, name=TICK_TASK)
def tick(self: RapportTask) -> dict[str, Any]:
    return dispatch_due()


@celery_app.task(bind=True, base=RapportTask, name=RUN_JOB_TASK)
def run_job(self: RapportTask, name: str, kind: str) -> dict[str, Any]:
    """Idempotent: the claim lets exactly one delivery run a due occurrence."""
    return run_scheduled_job(name, kind)
