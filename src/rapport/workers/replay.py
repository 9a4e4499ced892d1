"""Replaying dead letters and reading queue depths from the broker."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from rapport.storage.engine import session_scope
from rapport.workers.errors import DeadLetterNotFound, WorkerConfigError
from rapport.workers.models import DeadLetter
from rapport.workers.service import do_mark_replayed, load_dead_letter


def do_replay_dead_letters(ids: list[int] | None) -> list[dict[str, Any]]:
    """Send each dead letter's task again with its original arguments and mark
    it replayed; ``None`` replays every waiting one. A letter already
    replayed is refused (its replay has its own task id to follow)."""
    from rapport.workers.app import get_app

    app = get_app()
    with session_scope() as session:
        if ids is None:
            letters = list(
                session.execute(
                    select(DeadLetter).where(DeadLetter.status == "failed").order_by(DeadLetter.id)
                ).scalars()
            )
        else:
            letters = [load_dead_letter(session, i) for i in ids]
    for letter in letters:
        if letter.status != "failed":
            raise DeadLetterNotFound(
                f"dead letter {letter.id} was already replayed as task {letter.replay_task_id}"
            )
        if letter.task_name not in app.tasks:
            raise WorkerConfigError(
                f"dead letter {letter.id}: task {letter.task_name!r} does not exist in this version"
            )
    replayed = []
    for letter in letters:
        result = app.tasks[letter.task_name].apply_async(
            args=list(letter.args or []), kwargs=dict(letter.kwargs or {})
        )
        with session_scope(write=True) as session:
            do_mark_replayed(session, letter.id, result.id)
        replayed.append({"id": letter.id, "task_name": letter.task_name, "task_id": result.id})
    return replayed


def queue_depths() -> dict[str, dict[str, int]]:
    """{queue: {"messages": waiting, "consumers": attached}} for Rapport's queues."""
    from rapport.workers.app import get_app

    app = get_app()
    out: dict[str, dict[str, int]] = {}
    with app.connection_for_read() as conn:
        conn.ensure_connection(max_retries=3)
        channel = conn.default_channel
        for queue in app.conf.task_queues:
            declared = queue.bind(channel).queue_declare()
            out[queue.name] = {
                "messages": int(declared.message_count),
                "consumers": int(declared.consumer_count),
            }
    return out
