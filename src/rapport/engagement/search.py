"""What engagement adds to `rapport search` (registered in `rapport.pipeline`):
the ``status`` and ``label`` thread filters, and internal notes as results.

Notes are read from their own full-text index (``engagement_0003``:
`thread_note_fts` on SQLite, `thread_note.search_vector` on PostgreSQL),
built like the messages' one, so one query finds both and the scores are on
the same scale: results of kind ``note`` (no ``message_id``; the author is
the agent who wrote it) merge with the messages by score. The search's
filters hold for notes too: the channel of the note's thread, since/until on
when the note was written, status and labels of its thread. Notes stay out
of everything that counts messages (reports, talk/listen): only the search
reads this index.
"""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from rapport.conversations.models import Channel, Thread
from rapport.conversations.querylang import Query
from rapport.conversations.search import (
    MESSAGE_INDEX,
    SearchFilters,
    SearchHit,
    SearchIndex,
    index_hits,
    ranked_page,
    search_conditions,
)
from rapport.engagement.models import ThreadNote, ThreadState
from rapport.engagement.queries import check_status, threads_with_label
from rapport.storage.bulk import in_values

NOTE_INDEX = SearchIndex(
    fts_table="thread_note_fts",
    vector="thread_note.search_vector",
    id=ThreadNote.id,
    thread_id=ThreadNote.thread_id,
    created_at=ThreadNote.created_at,
    text=ThreadNote.text,
    channel_id=None,  # the channel of the note's thread
    author=ThreadNote.author,
    # Words weigh what they weigh among the messages: scores merge with theirs.
    rank_like=MESSAGE_INDEX,
)


def status_threads(session: Session, status: str) -> Select[int]:
    """``--status``: the threads in ``status`` (an unknown status is refused
    with the valid ones, as `rapport inbox --status` does)."""
    return select(ThreadState.thread_id).where(ThreadState.status == check_status(status))


def label_threads(session: Session, label: str) -> Select[int]:
    """``--label``: the threads with ``label`` (an unknown label is refused by
    name, as `rapport inbox --label` does)."""
    return threads_with_label(session, label)


def search_notes(
    session: Session, query: Query, filters: SearchFilters, limit: int
) -> tuple[list[SearchHit], int]:
    """The best ``limit`` internal notes matching ``query`` under ``filters``
    (kind ``note``), and how many match in all."""
    where = search_conditions(session, filters, NOTE_INDEX)
    ranked, total = ranked_page(session, NOTE_INDEX, query, where, limit=limit)
    if not ranked:
        return [], total
    details = {
        int(nid): (text, author, channel)
        for nid, text, author, channel in session.execute(
            select(ThreadNote.id, ThreadNote.text, ThreadNote.author, Channel.name)
            .join(Thread, Thread.id == ThreadNote.thread_id)
            .join(Channel, Channel.id == Thread.channel_id)
            .where(in_values(session, ThreadNote.id, [r.id for r in ranked]))
        )
    }
    return index_hits(session, NOTE_INDEX, query, ranked, details, kind="note"), total
