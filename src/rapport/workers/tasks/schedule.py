"""Schedule: the beat tick that sends due jobs from the schedule table."""

from __future__ import annotations

from typing import Any

from rapport.workers.app import celery_app
from rapport.workers.base import RapportTask
from rapport.workers.schedule import TICK_TASK, dispatch_due


@celery_app.task(bind=True, base=RapportTask, name=TICK_TASK)
def tick(self: RapportTask) -> dict[str, Any]:
    return dispatch_due()
