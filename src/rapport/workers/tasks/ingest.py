"""Ingest: store one chunk of a distributed import."""

from __future__ import annotations

from typing import Any

from rapport.workers.app import celery_app
from rapport.workers.base import RapportTask
from rapport.workers.ingest import do_store_chunk


@celery_app.task(bind=True, base=RapportTask, name="rapport.ingest.store_chunk")
def store_chunk(
    self: RapportTask,
    import_batch_id: int,
    seq: int,
    source: str,
    channel: str,
    records: list[list[Any]],
) -> dict[str, Any]:
    """Idempotent: a chunk already stored (redelivery, re-send) is skipped."""
    return do_store_chunk(
        import_batch_id, seq, source, channel, records, worker=self.request.hostname
    )
