"""Relationships: recompute relationship health (and suggested roles)."""

from __future__ import annotations

from typing import Any

from rapport.storage.engine import session_scope
from rapport.workers.app import celery_app
from rapport.workers.base import RapportTask
from rapport.workers.wiring import call_service

#: (session, person_ids or None for every active person) -> people scored; idempotent
#: (a person's stored health is replaced).
RECOMPUTE_HEALTH = "rapport.relationships.service:do_recompute_health"
#: (session, *, stale_only) -> people scored: those whose messages changed, or too old.
REFRESH_HEALTH = "rapport.relationships.service:do_refresh_health"


@celery_app.task(bind=True, base=RapportTask, name="rapport.relationships.recompute_health")
def recompute_health(self: RapportTask, person_ids: list[int] | None = None) -> dict[str, Any]:
    with session_scope(write=True) as session:
        scored = call_service(RECOMPUTE_HEALTH, session, person_ids)
    return {"scored": scored}


@celery_app.task(bind=True, base=RapportTask, name="rapport.relationships.refresh_health")
def refresh_health(self: RapportTask, stale_only: bool = False) -> dict[str, Any]:
    with session_scope(write=True) as session:
        scored = call_service(REFRESH_HEALTH, session, stale_only=stale_only)
    return {"scored": scored}
