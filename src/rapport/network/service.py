"""The network service: every write to interactions and ties.

The graph grows with each stored batch (`on_batch_stored`, registered in
`rapport.pipeline`): the batch's replies and mentions become interactions,
and their counts are added to the ties as deltas. Nothing is rebuilt from
scratch; `do_rebuild_graph` exists for databases filled before this domain
was installed, and `do_recount_ties` after messages were erased.

Counting rules (each message × identity counted once):
- a reply from A's message to B's message is one *reply* interaction A → B,
  counted when the later of the two messages arrives;
- an `@mention` of B in A's message is one *mention* interaction A → B,
  counted when both the message and B's identity exist; a reply's own
  `@B` (Twitter puts it there) is part of the reply, not an extra mention:
  a mention recorded before its reply link became known is upgraded;
- messages to oneself and messages without an author count nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from rapport.conversations import queries as conversations
from rapport.conversations.hooks import StoredBatch
from rapport.network.models import (
    MENTION,
    NEEDS_REBUILD,
    REPLY,
    NetworkInteraction,
    NetworkState,
    NetworkTie,
)
from rapport.relationships.hooks import PersonData
from rapport.storage.bulk import bulk_insert, in_values, timestamp_writer


@dataclass
class _Candidate:
    message_id: int
    source: int
    target: int
    kind: str
    at: datetime
    parent_message_id: int | None


@dataclass
class _Delta:
    replies: int = 0
    mentions: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None

    def add(self, kind: str, sign: int, at: datetime) -> None:
        if kind == REPLY:
            self.replies += sign
        else:
            self.mentions += sign
        if sign > 0:
            self.first_at = at if self.first_at is None else min(self.first_at, at)
            self.last_at = at if self.last_at is None else max(self.last_at, at)


@dataclass
class RecordResult:
    interactions_added: int = 0
    mentions_upgraded_to_replies: int = 0
    ties_touched: int = 0


def on_batch_stored(session: Session, batch: StoredBatch) -> None:
    """Ingest hook: add the batch's replies and mentions to the graph."""
    do_record_interactions(
        session,
        batch.message_ids,
        new_identity_ids=[*batch.new_identity_ids, *batch.new_account_identity_ids],
    )


def _candidates(
    session: Session,
    message_ids: Sequence[int],
    new_identity_ids: Sequence[int],
    *,
    as_reply_only: bool,
) -> dict[tuple[int, int], _Candidate]:
    found: dict[tuple[int, int], _Candidate] = {}
    for link in conversations.reply_links_touching(
        session, message_ids, as_reply_only=as_reply_only
    ):
        src, dst = link.child_author_id, link.parent_author_id
        if src is None or dst is None or src == dst:
            continue
        found[(link.child_id, dst)] = _Candidate(
            link.child_id, src, dst, REPLY, link.at, link.parent_id
        )
    mentions = conversations.mention_links(session, message_ids)
    mentions.extend(conversations.mentions_of(session, new_identity_ids))
    for m in mentions:
        src, dst = m.author_id, m.mentioned_identity_id
        if src is None or src == dst or (m.message_id, dst) in found:
            continue
        found[(m.message_id, dst)] = _Candidate(m.message_id, src, dst, MENTION, m.at, None)
    return found


def do_record_interactions(
    session: Session,
    message_ids: Sequence[int],
    *,
    new_identity_ids: Sequence[int] = (),
    as_reply_only: bool = False,
) -> RecordResult:
    """Record the interactions these stored messages complete (and the mentions
    of identities first seen now) and add them to the ties."""
    result = RecordResult()
    if not message_ids and not new_identity_ids:
        return result
    found = _candidates(session, message_ids, new_identity_ids, as_reply_only=as_reply_only)
    if not found:
        return result
    existing: dict[tuple[int, int], str] = {
        (mid, target): kind
        for mid, target, kind in session.execute(
            select(
                NetworkInteraction.message_id,
                NetworkInteraction.target_identity_id,
                NetworkInteraction.kind,
            ).where(
                in_values(session, NetworkInteraction.message_id, sorted({k[0] for k in found}))
            )
        )
    }
    deltas: dict[tuple[int, int], _Delta] = {}
    stamp = timestamp_writer(session)
    new_rows: list[tuple[Any, ...]] = []
    upgrades: list[dict[str, Any]] = []
    for key, cand in found.items():
        before = existing.get(key)
        pair = (cand.source, cand.target)
        if before is None:
            new_rows.append(
                (
                    cand.message_id,
                    cand.target,
                    cand.source,
                    cand.kind,
                    stamp(cand.at),
                    cand.parent_message_id,
                )
            )
            deltas.setdefault(pair, _Delta()).add(cand.kind, +1, cand.at)
        elif before == MENTION and cand.kind == REPLY:
            upgrades.append({"m": cand.message_id, "t": cand.target, "p": cand.parent_message_id})
            delta = deltas.setdefault(pair, _Delta())
            delta.add(MENTION, -1, cand.at)
            delta.add(REPLY, +1, cand.at)
    bulk_insert(
        session,
        NetworkInteraction.__table__,  # type: ignore[arg-type]
        (
            "message_id",
            "target_identity_id",
            "source_identity_id",
            "kind",
            "at",
            "parent_message_id",
        ),
        new_rows,
    )
    if upgrades:
        table: Any = NetworkInteraction.__table__
        session.execute(
            update(table)
            .where(
                table.c.message_id == bindparam("m"), table.c.target_identity_id == bindparam("t")
            )
            .values(kind=REPLY, parent_message_id=bindparam("p")),
            upgrades,
        )
    _apply_deltas(session, deltas)
    result.interactions_added = len(new_rows)
    result.mentions_upgraded_to_replies = len(upgrades)
    result.ties_touched = len(deltas)
    return result


def _apply_deltas(session: Session, deltas: dict[tuple[int, int], _Delta]) -> None:
    """Add the deltas to the ties (insert or update, one statement per batch)."""
    if not deltas:
        return
    rows = []
    for (src, dst), d in deltas.items():
        rows.append(
            {
                "source_identity_id": src,
                "target_identity_id": dst,
                "replies": d.replies,
                "mentions": d.mentions,
                "first_at": d.first_at,
                "last_at": d.last_at,
            }
        )
    dialect = session.get_bind().dialect.name
    tie: Any = NetworkTie.__table__
    earliest: Any
    latest: Any
    if dialect == "postgresql":
        stmt: Any = pg_insert(tie)
        earliest, latest = func.least, func.greatest
    else:
        stmt = sqlite_insert(tie)
        earliest, latest = func.min, func.max
    stmt = stmt.on_conflict_do_update(
        index_elements=[tie.c.source_identity_id, tie.c.target_identity_id],
        set_={
            "replies": tie.c.replies + stmt.excluded.replies,
            "mentions": tie.c.mentions + stmt.excluded.mentions,
            "first_at": earliest(tie.c.first_at, stmt.excluded.first_at),
            "last_at": latest(tie.c.last_at, stmt.excluded.last_at),
        },
    )
    session.execute(stmt, rows)


@dataclass
class RebuildResult:
    messages: int
    interactions: int
    ties: int


def do_rebuild_graph(session: Session, *, chunk: int = 10_000) -> RebuildResult:
    """Recompute every interaction and tie from the stored messages (for a
    database filled before the network domain was installed)."""
    session.execute(delete(NetworkTie))
    session.execute(delete(NetworkInteraction))
    session.execute(delete(NetworkState).where(NetworkState.key == NEEDS_REBUILD))
    messages = 0
    for ids in conversations.message_id_chunks(session, chunk):
        messages += len(ids)
        do_record_interactions(session, ids, as_reply_only=True)
    return RebuildResult(messages, _count(session, NetworkInteraction), _count(session, NetworkTie))


def do_recount_ties(session: Session) -> int:
    """Recount the ties from the interactions (after messages were erased)."""
    session.execute(delete(NetworkTie))
    i = NetworkInteraction
    replies = func.sum(func.cast(i.kind == REPLY, NetworkTie.replies.type))
    mentions = func.sum(func.cast(i.kind == MENTION, NetworkTie.mentions.type))
    query = select(
        i.source_identity_id,
        i.target_identity_id,
        replies,
        mentions,
        func.min(i.at),
        func.max(i.at),
    ).group_by(i.source_identity_id, i.target_identity_id)
    session.execute(
        insert(NetworkTie).from_select(
            [
                "source_identity_id",
                "target_identity_id",
                "replies",
                "mentions",
                "first_at",
                "last_at",
            ],
            query,
        )
    )
    return _count(session, NetworkTie)


def _count(session: Session, model: Any) -> int:
    return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def needs_rebuild(session: Session) -> bool:
    """True when messages were stored before the network domain was installed
    (its migration leaves a mark) and the graph has not been rebuilt since."""
    return (
        session.execute(
            select(NetworkState.value).where(NetworkState.key == NEEDS_REBUILD)
        ).scalar_one_or_none()
        == "1"
    )


def do_erase_person(session: Session, data: PersonData) -> None:
    """Erasure hook (`rapport.relationships.hooks`): every interaction to or
    from the person's identities and the ties they sum to go, so the erased
    person is no node of the graph; ties between other people are unchanged."""
    ids = list(data.identity_ids)
    if not ids:
        return
    i, t = NetworkInteraction, NetworkTie
    session.execute(
        delete(i).where(
            in_values(session, i.source_identity_id, ids)
            | in_values(session, i.target_identity_id, ids)
        )
    )
    session.execute(
        delete(t).where(
            in_values(session, t.source_identity_id, ids)
            | in_values(session, t.target_identity_id, ids)
        )
    )
