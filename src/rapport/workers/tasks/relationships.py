"""Relationships: recompute relationship health."""

from __future__ import annotations

from typing import Any

from rapport.storage.engine import session_scope
from rapport.workers.app import celery_app
from rapport.workers.base import RapportTask
from rapport.workers.wiring import call_service

#: (session, person_ids or None for everyone) -> anything; idempotent.
RECOMPUTE_HEALTH = "rapport.relationships.service:do_recompute_health"


@celery_app.task(bind=True, base=RapportTask, name="rapport.relationships.recompute_health")
def recompute_health(self: RapportTask, person_ids: list[int] | None = None) -> dict[str, Any]:
    with session_scope(write=True) as session:
        call_service(RECOMPUTE_HEALTH, session, person_ids)
    return {"people": None if person_ids is None else len(person_ids)}
