"""Distributed import: `rapport ingest PATH --distributed`.

The coordinator (the CLI process) reads each file once with the same
importer as an in-process import, cuts the parsed records into chunks of
``RAPPORT_INGEST_BATCH_SIZE`` and sends each chunk as one task message; the
workers store chunks with `rapport.conversations.service.do_store_records`
(the in-process import's batch writer, out-of-order safe threading and
all). A chunk is marked done in the same transaction as its messages, so:

- a chunk redelivered after a worker died, or sent twice, is stored once
  and counted once;
- the coordinator learns progress from the database (no result backend),
  keeps at most ``RAPPORT_INGEST_MAX_IN_FLIGHT`` chunks queued (broker
  memory stays flat whatever the file size), and re-sends chunks that made
  no progress for ``RAPPORT_INGEST_STALL_SECONDS`` (idempotent, so safe).

The files are read only by the coordinator: workers on other machines need
no shared filesystem. The result equals an in-process import of the same
files: same messages, threads, people, quarantine and report.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timezone
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from tenacity import retry, retry_if_exception, stop_after_delay, wait_exponential_jitter

from rapport.conversations.errors import IngestError
from rapport.conversations.importers.registry import OpenedSource, open_source
from rapport.conversations.service import (
    IngestSummary,
    StoreCache,
    do_finish_import,
    do_start_import,
    do_store_records,
    refresh_planner_statistics,
    sha256_file,
)
from rapport.settings import get_settings
from rapport.storage.engine import session_scope
from rapport.workers import queries
from rapport.workers.base import is_transient
from rapport.workers.errors import DistributedIngestError
from rapport.workers.models import DeadLetter, IngestChunk
from rapport.workers.wire import records_from_wire, records_to_wire

log = logging.getLogger(__name__)

#: Called with (chunks done, chunks sent, file finished reading) as an import advances.
ChunkProgress = Callable[[int, int, bool], None]

# ------------------------------------------------------------------ worker side

_caches: dict[int, StoreCache] = {}


def _cache_for(import_batch_id: int) -> StoreCache:
    """Identity/channel lookups stay valid across the chunks of one import."""
    cache = _caches.get(import_batch_id)
    if cache is None:
        if len(_caches) >= 4:
            _caches.pop(next(iter(_caches)))
        cache = _caches[import_batch_id] = StoreCache()
    return cache


def do_store_chunk(
    import_batch_id: int,
    seq: int,
    source: str,
    channel: str,
    wire: list[list[Any]],
    *,
    worker: str | None = None,
) -> dict[str, Any]:
    """Store chunk ``seq`` of an import once, however often it is delivered."""
    with session_scope() as session:
        if queries.chunk_is_done(session, import_batch_id, seq):
            return {"seq": seq, "already_stored": True}
    records = records_from_wire(wire)

    def mark_done(session: Session, part: IngestSummary) -> None:
        session.add(
            IngestChunk(
                import_batch_id=import_batch_id,
                seq=seq,
                read=part.read,
                inserted=part.inserted,
                duplicates=part.duplicates,
                quarantined=part.quarantined,
                worker=(worker or "")[:255] or None,
            )
        )
        session.flush()

    try:
        part = do_store_records(
            records,
            source=source,
            channel=channel,
            import_batch_id=import_batch_id,
            cache=_cache_for(import_batch_id),
            before_commit=mark_done,
        )
    except IntegrityError:
        # Another delivery of the same chunk committed first: nothing to do.
        with session_scope() as session:
            if queries.chunk_is_done(session, import_batch_id, seq):
                return {"seq": seq, "already_stored": True}
        raise
    return {"seq": seq, "already_stored": False, **part.contract()}


# ------------------------------------------------------------------ coordinator


@dataclass
class _Sent:
    wire: list[list[Any]]
    sent_at: float


def _publish(import_batch_id: int, seq: int, source: str, channel: str, wire: Any) -> None:
    from rapport.workers.tasks.ingest import store_chunk

    @retry(
        retry=retry_if_exception(is_transient),
        stop=stop_after_delay(600),
        wait=wait_exponential_jitter(multiplier=0.5, max=10),
        reraise=True,
        before_sleep=lambda state: log.warning(
            "broker unavailable (%s); retrying", state.outcome.exception() if state.outcome else ""
        ),
    )
    def send() -> None:
        store_chunk.apply_async(args=(import_batch_id, seq, source, channel, wire))

    send()


#: The coordinator's own reads survive a database restart or a dropped connection.
_db_retry = retry(
    retry=retry_if_exception(is_transient),
    stop=stop_after_delay(300),
    wait=wait_exponential_jitter(multiplier=0.5, max=10),
    reraise=True,
)


@_db_retry
def _done(import_batch_id: int, seqs: list[int]) -> set[int]:
    with session_scope() as session:
        return queries.done_chunks(session, import_batch_id, seqs)


@_db_retry
def _permanent_failures(import_batch_id: int, since_id: int) -> list[DeadLetter]:
    """Dead letters of this import's chunks (bad data the workers refused for good)."""
    with session_scope() as session:
        letters = session.execute(
            select(DeadLetter).where(
                DeadLetter.id > since_id,
                DeadLetter.task_name == "rapport.ingest.store_chunk",
                DeadLetter.status == "failed",
            )
        ).scalars()
        return [d for d in letters if d.args and d.args[0] == import_batch_id]


@_db_retry
def _last_dead_letter_id() -> int:
    with session_scope() as session:
        return int(
            session.execute(select(DeadLetter.id).order_by(DeadLetter.id.desc())).scalar() or 0
        )


def do_distributed_source(
    opened: OpenedSource,
    *,
    batch_size: int | None = None,
    progress: ChunkProgress | None = None,
    poll_seconds: float = 0.2,
) -> IngestSummary:
    """Import one opened source through the workers; returns when every chunk is stored."""
    settings = get_settings()
    batch_size = batch_size or settings.ingest_batch_size
    max_in_flight = settings.ingest_max_in_flight
    stall = settings.ingest_stall_seconds
    source = str(opened.path)
    batch_id = do_start_import(source, opened.format_name, opened.channel, sha256_file(opened.path))
    dead_mark = _last_dead_letter_id()
    in_flight: dict[int, _Sent] = {}
    sent = done = 0
    last_progress = time.monotonic()
    finished_reading = False

    def collect() -> None:
        nonlocal done, last_progress
        if not in_flight:
            return
        finished = _done(batch_id, list(in_flight))
        for seq in finished:
            in_flight.pop(seq, None)
        if finished:
            done += len(finished)
            last_progress = time.monotonic()
            if progress:
                progress(done, sent, finished_reading)
            return
        failed = _permanent_failures(batch_id, dead_mark)
        if failed:
            first = failed[0]
            raise DistributedIngestError(
                f"{source}: chunk {first.args[1]} failed for good on a worker "
                f"({first.error_type}: {first.error}); see `rapport tasks failed`, fix the "
                f"cause, then `rapport tasks retry {first.id}` and run the import again"
            )
        if time.monotonic() - last_progress > stall:
            log.warning(
                "no chunk finished for %.0fs: re-sending %d chunk(s)", stall, len(in_flight)
            )
            for seq, item in sorted(in_flight.items()):
                _publish(batch_id, seq, source, opened.channel, item.wire)
                item.sent_at = time.monotonic()
            last_progress = time.monotonic()

    status = "failed"
    try:
        chunk: list[Any] = []
        for record in opened.records:
            chunk.append(record)
            if len(chunk) < batch_size:
                continue
            while len(in_flight) >= max_in_flight:
                time.sleep(poll_seconds)
                collect()
            wire = records_to_wire(chunk)
            _publish(batch_id, sent, source, opened.channel, wire)
            in_flight[sent] = _Sent(wire, time.monotonic())
            sent += 1
            chunk = []
            collect()
        if chunk:
            wire = records_to_wire(chunk)
            _publish(batch_id, sent, source, opened.channel, wire)
            in_flight[sent] = _Sent(wire, time.monotonic())
            sent += 1
        finished_reading = True
        if progress:
            progress(done, sent, finished_reading)
        while in_flight:
            time.sleep(poll_seconds)
            collect()
        status = "done"
    finally:
        opened.close()
        do_finish_import(batch_id, status)
    with session_scope() as session:
        totals = queries.chunk_totals(session, batch_id)
    if totals["chunks"] != sent:
        raise DistributedIngestError(f"{source}: {totals['chunks']} of {sent} chunks stored")
    summary = IngestSummary(
        read=totals["read"],
        inserted=totals["inserted"],
        duplicates=totals["duplicates"],
        quarantined=totals["quarantined"],
        batch_ids=[batch_id],
    )
    if summary.inserted:
        refresh_planner_statistics()
    return summary


def do_distributed_ingest(
    paths: Sequence[Path],
    *,
    fmt: str | None = None,
    channel: str | None = None,
    mapping: str | None = None,
    assume_tz: timezone | None = None,
    batch_size: int | None = None,
    progress: Callable[[Path], ChunkProgress] | None = None,
) -> IngestSummary:
    """`rapport ingest --distributed`: every file is checked before any
    chunk is sent (a bad path refuses the whole command), then imported
    through the workers, one file after the other."""
    from rapport.workers.app import get_app

    get_app()  # refuses early without a broker
    if not paths:
        raise IngestError("no file given")
    opened: list[OpenedSource] = []
    try:
        for path in paths:
            opened.append(
                open_source(path, fmt, channel=channel, mapping=mapping, assume_tz=assume_tz)
            )
    except BaseException:
        for item in opened:
            item.close()
        raise
    total = IngestSummary()
    for index, item in enumerate(opened):
        try:
            total.add(
                do_distributed_source(
                    item,
                    batch_size=batch_size,
                    progress=progress(item.path) if progress else None,
                )
            )
        except BaseException:
            for rest in opened[index + 1 :]:
                rest.close()
            raise
    return total
