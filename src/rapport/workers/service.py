"""Writes of the workers face: dead letters, redelivery counts, replays."""

from __future__ import annotations

import json
import logging
import traceback as tb
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from tenacity import retry, stop_after_delay, wait_exponential_jitter

from rapport.settings import get_settings
from rapport.storage.base import utcnow
from rapport.storage.engine import session_scope
from rapport.workers.errors import DeadLetterNotFound
from rapport.workers.models import DeadLetter, TaskDelivery

log = logging.getLogger(__name__)


def _jsonable(value: Any) -> Any:
    """``value`` as it can be stored in a JSON column (it came as JSON)."""
    return json.loads(json.dumps(value, default=str))


def do_record_dead_letter(
    session: Session,
    *,
    task_id: str,
    task_name: str,
    queue: str | None,
    args: list[Any] | tuple[Any, ...],
    kwargs: dict[str, Any],
    exc: BaseException,
    traceback: str | None = None,
    retries: int = 0,
) -> int:
    """Keep a task that failed for good, whole, so it can be replayed."""
    letter = DeadLetter(
        task_id=task_id,
        task_name=task_name,
        queue=queue,
        args=_jsonable(list(args)),
        kwargs=_jsonable(dict(kwargs)),
        error_type=type(exc).__name__,
        error=str(exc) or repr(exc),
        traceback=traceback
        if traceback is not None
        else "".join(tb.format_exception(type(exc), exc, exc.__traceback__)),
        retries=retries,
        status="failed",
        failed_at=utcnow(),
    )
    session.add(letter)
    session.flush()
    return letter.id


def record_dead_letter_durably(**fields: Any) -> int | None:
    """Record a dead letter in its own transaction, retried for a minute
    (the failure may be the database itself); if the database stays away,
    the letter goes to ``<data dir>/dead-letters.jsonl`` and the log, never
    nowhere."""

    @retry(
        stop=stop_after_delay(60), wait=wait_exponential_jitter(multiplier=0.5, max=5), reraise=True
    )
    def attempt() -> int:
        with session_scope(write=True) as session:
            return do_record_dead_letter(session, **fields)

    try:
        return attempt()
    except Exception as db_exc:
        exc = fields.get("exc")
        line = {
            "task_id": fields.get("task_id"),
            "task_name": fields.get("task_name"),
            "queue": fields.get("queue"),
            "args": _jsonable(list(fields.get("args") or [])),
            "kwargs": _jsonable(dict(fields.get("kwargs") or {})),
            "error_type": type(exc).__name__ if exc else None,
            "error": str(exc),
            "failed_at": utcnow().isoformat(),
            "not_in_database_because": repr(db_exc),
        }
        path = Path(get_settings().data_dir) / "dead-letters.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(line) + "\n")
        log.critical("dead letter %s kept in %s: database unavailable", fields.get("task_id"), path)
        return None


def do_count_delivery(session: Session, task_id: str, task_name: str) -> int:
    """Count one more delivery of ``task_id``; returns the deliveries so far
    (the first redelivery returns 2)."""
    row = session.get(TaskDelivery, task_id, with_for_update=True)
    if row is None:
        session.add(TaskDelivery(task_id=task_id, task_name=task_name, deliveries=2))
        session.flush()
        return 2
    row.deliveries += 1
    row.last_seen = utcnow()
    session.flush()
    return row.deliveries


def do_mark_replayed(session: Session, letter_id: int, new_task_id: str) -> None:
    changed = session.execute(
        update(DeadLetter)
        .where(DeadLetter.id == letter_id)
        .values(status="replayed", replayed_at=utcnow(), replay_task_id=new_task_id)
    )
    if not changed.rowcount:  # type: ignore[attr-defined]
        raise DeadLetterNotFound(f"dead letter {letter_id} not found")


def load_dead_letter(session: Session, letter_id: int) -> DeadLetter:
    letter = session.execute(
        select(DeadLetter).where(DeadLetter.id == letter_id)
    ).scalar_one_or_none()
    if letter is None:
        raise DeadLetterNotFound(f"dead letter {letter_id} not found (see `rapport tasks failed`)")
    return letter
