"""Channels: poll a connector for what is new."""

from __future__ import annotations

from typing import Any

from rapport.workers.app import celery_app
from rapport.workers.base import RapportTask
from rapport.workers.wiring import call_service

#: (channel_name) -> anything; owns its transactions (HTTP happens outside
#: them); idempotent because messages are stored once by (channel, external id)
#: and the cursor moves in the same transaction as the page it covers.
POLL = "rapport.channels.service:do_poll_channel"


@celery_app.task(bind=True, base=RapportTask, name="rapport.channels.poll")
def poll_channel(self: RapportTask, channel: str) -> dict[str, Any]:
    result = call_service(POLL, channel)
    return {
        "channel": channel,
        **{
            k: getattr(result, k)
            for k in ("pages", "fetched", "inserted", "duplicates", "quarantined", "skipped")
            if hasattr(result, k)
        },
    }
