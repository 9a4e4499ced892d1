"""Reads of the workers face: dead letters and distributed-import progress."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rapport.storage.bulk import in_values
from rapport.workers.models import DeadLetter, IngestChunk
from rapport.workers.schemas import DeadLetterPublic, summarise_args


def list_dead_letters(
    session: Session, *, include_replayed: bool = False, limit: int | None = None
) -> tuple[list[DeadLetterPublic], int]:
    """Dead letters, oldest first (only those waiting, unless ``include_replayed``)."""
    query = select(DeadLetter).order_by(DeadLetter.id)
    count = select(func.count()).select_from(DeadLetter)
    if not include_replayed:
        query = query.where(DeadLetter.status == "failed")
        count = count.where(DeadLetter.status == "failed")
    if limit is not None:
        query = query.limit(limit)
    items = [
        DeadLetterPublic(
            id=d.id,
            task_id=d.task_id,
            task_name=d.task_name,
            queue=d.queue,
            error_type=d.error_type,
            error=d.error,
            retries=d.retries,
            status=d.status,
            failed_at=d.failed_at,
            replayed_at=d.replayed_at,
            replay_task_id=d.replay_task_id,
            args_summary=summarise_args(list(d.args or []), dict(d.kwargs or {})),
        )
        for d in session.execute(query).scalars()
    ]
    return items, int(session.execute(count).scalar_one())


def done_chunks(session: Session, import_batch_id: int, seqs: Sequence[int]) -> set[int]:
    """Which of ``seqs`` are stored for this import."""
    if not seqs:
        return set()
    rows = session.execute(
        select(IngestChunk.seq).where(
            IngestChunk.import_batch_id == import_batch_id,
            in_values(session, IngestChunk.seq, list(seqs)),
        )
    )
    return {int(s) for s in rows.scalars()}


def chunk_is_done(session: Session, import_batch_id: int, seq: int) -> bool:
    return (
        session.execute(
            select(IngestChunk.id).where(
                IngestChunk.import_batch_id == import_batch_id, IngestChunk.seq == seq
            )
        ).first()
        is not None
    )


def chunk_totals(session: Session, import_batch_id: int) -> dict[str, int]:
    """read/inserted/duplicates/quarantined summed over the stored chunks."""
    row = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(IngestChunk.read), 0),
            func.coalesce(func.sum(IngestChunk.inserted), 0),
            func.coalesce(func.sum(IngestChunk.duplicates), 0),
            func.coalesce(func.sum(IngestChunk.quarantined), 0),
        ).where(IngestChunk.import_batch_id == import_batch_id)
    ).one()
    return {
        "chunks": int(row[0]),
        "read": int(row[1]),
        "inserted": int(row[2]),
        "duplicates": int(row[3]),
        "quarantined": int(row[4]),
    }
