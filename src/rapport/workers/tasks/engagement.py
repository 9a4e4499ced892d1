"""Engagement: triage threads, send queued replies from the outbox."""

from __future__ import annotations

from typing import Any

from rapport.storage.engine import session_scope
from rapport.workers.app import celery_app
from rapport.workers.base import RapportTask
from rapport.workers.wiring import call_service, resolve

#: (session, thread_ids) -> decisions; idempotent (a thread's decision is replaced).
TRIAGE = "rapport.engagement.service:do_triage_threads"
#: (outbox_id) -> receipt; owns its transactions (it talks to a platform), and
#: must be idempotent: an item already sent is not sent again.
SEND = "rapport.engagement.service:do_send_outbox_item"


@celery_app.task(bind=True, base=RapportTask, name="rapport.engagement.triage_threads")
def triage_threads(self: RapportTask, thread_ids: list[int]) -> dict[str, Any]:
    with session_scope(write=True) as session:
        call_service(TRIAGE, session, thread_ids)
    return {"threads": len(thread_ids)}


@celery_app.task(bind=True, base=RapportTask, name="rapport.outbox.send")
def send_outbox_item(self: RapportTask, outbox_id: int) -> dict[str, Any]:
    call_service(SEND, outbox_id)
    return {"outbox_id": outbox_id}


def dispatch_send(outbox_id: int) -> Any:
    """Send a queued entry now: through a worker when a broker is configured
    (the task is acknowledged once sent), else here in this process. Returns
    the entry after the attempt (in-process), or None (queued for a worker)."""
    from rapport.settings import get_settings

    if get_settings().broker_url:
        send_outbox_item.apply_async(args=(outbox_id,))
        return None
    return resolve(SEND)(outbox_id)
