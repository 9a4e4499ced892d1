"""Analysis: understand stored messages in batches (fast or accurate tier)."""

from __future__ import annotations

from typing import Any

from rapport.storage.engine import session_scope
from rapport.workers.app import celery_app
from rapport.workers.base import RapportTask
from rapport.workers.wiring import call_service

#: (session, message_ids, *, tier) -> anything countable; must be idempotent
#: (re-analysing a message replaces its stored analysis).
ANALYZE = "rapport.analysis.service:do_analyze_messages"


@celery_app.task(bind=True, base=RapportTask, name="rapport.analysis.analyze_messages")
def analyze_messages(
    self: RapportTask, message_ids: list[int], tier: str = "fast"
) -> dict[str, Any]:
    with session_scope(write=True) as session:
        call_service(ANALYZE, session, message_ids, tier=tier)
    return {"messages": len(message_ids), "tier": tier}
