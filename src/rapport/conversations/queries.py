"""Read-side functions of the conversations domain; other domains read
messages, threads and identities through these, never by raw SQL."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session, aliased

from rapport.conversations.errors import ThreadNotFound
from rapport.conversations.models import (
    INBOUND,
    Account,
    Channel,
    Identity,
    Message,
    MessageMention,
    QuarantinedRow,
    Thread,
)
from rapport.conversations.schemas import (
    ChannelPublic,
    ChannelSummary,
    IdentityPublic,
    MessagePreview,
    MessagePublic,
    QuarantinedRowPublic,
    ThreadPublic,
    ThreadSummary,
)
from rapport.storage.bulk import in_values


def list_quarantine(
    session: Session, *, source: str | None = None, limit: int | None = None, offset: int = 0
) -> tuple[list[QuarantinedRowPublic], int]:
    """Rows kept aside, oldest first, and how many there are in all."""
    query = select(QuarantinedRow)
    count = select(func.count()).select_from(QuarantinedRow)
    if source:
        query = query.where(QuarantinedRow.source == source)
        count = count.where(QuarantinedRow.source == source)
    query = query.order_by(QuarantinedRow.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    rows = [QuarantinedRowPublic.model_validate(r) for r in session.execute(query).scalars()]
    return rows, session.execute(count).scalar_one()


def get_thread(session: Session, thread_id: int) -> ThreadPublic:
    row = session.execute(
        select(Thread, Channel.name)
        .join(Channel, Channel.id == Thread.channel_id)
        .where(Thread.id == thread_id)
    ).one_or_none()
    if row is None:
        raise ThreadNotFound(f"thread {thread_id} not found")
    thread, channel = row
    return ThreadPublic(
        id=thread.id,
        channel=channel,
        first_message_at=thread.first_message_at,
        last_message_at=thread.last_message_at,
        message_count=thread.message_count,
    )


def _messages(session: Session, where: Sequence[object]) -> list[MessagePublic]:
    query = (
        select(Message, Channel.name, Identity.handle)
        .join(Channel, Channel.id == Message.channel_id)
        .outerjoin(Identity, Identity.id == Message.author_identity_id)
        .where(*where)  # type: ignore[arg-type]
        .order_by(Message.created_at, Message.id)
    )
    return [
        MessagePublic(
            id=m.id,
            channel=channel,
            external_id=m.external_id,
            author=handle,
            author_identity_id=m.author_identity_id,
            direction=m.direction,
            created_at=m.created_at,
            text=m.text,
            parent_external_id=m.parent_external_id,
            thread_id=m.thread_id,
            meta=m.meta or {},
        )
        for m, channel, handle in session.execute(query)
    ]


def thread_messages(session: Session, thread_id: int) -> list[MessagePublic]:
    """A thread's messages in time order."""
    get_thread(session, thread_id)
    return _messages(session, [Message.thread_id == thread_id])


def messages_by_ids(session: Session, message_ids: Sequence[int]) -> list[MessagePublic]:
    return _messages(session, [Message.id.in_(list(message_ids))])


def messages_by_authors(session: Session, identity_ids: Sequence[int]) -> list[MessagePublic]:
    """Every message written by these identities, in time order."""
    return _messages(session, [Message.author_identity_id.in_(list(identity_ids))])


def account_identity_ids(session: Session) -> set[int]:
    """Identities that are our own brand accounts."""
    return set(session.execute(select(Account.identity_id)).scalars())


def count_messages(session: Session) -> int:
    return session.execute(select(func.count()).select_from(Message)).scalar_one()


# --------------------------------------------------------------------------
# links between stored messages and identities (read by the network domain)


@dataclass(frozen=True)
class ReplyLink:
    """A stored message replying to another stored message."""

    child_id: int
    parent_id: int
    child_author_id: int | None
    parent_author_id: int | None
    #: When the reply was written.
    at: datetime


@dataclass(frozen=True)
class MentionLink:
    """A stored message naming (`@handle`) an identity of its own channel."""

    message_id: int
    author_id: int | None
    mentioned_identity_id: int
    at: datetime


def reply_links_touching(
    session: Session, message_ids: Sequence[int], *, as_reply_only: bool = False
) -> list[ReplyLink]:
    """Reply links in which one of these messages is the reply or the message
    replied to (both ends stored), each once; ``as_reply_only``: only the
    links in which they are the reply."""
    if not message_ids:
        return []
    child = aliased(Message)
    parent = aliased(Message)
    joined = and_(
        parent.channel_id == child.channel_id, parent.external_id == child.parent_external_id
    )
    columns = (
        child.id,
        parent.id,
        child.author_identity_id,
        parent.author_identity_id,
        child.created_at,
    )
    ids = list(message_ids)
    found: dict[tuple[int, int], ReplyLink] = {}
    sides = [in_values(session, child.id, ids)]
    if not as_reply_only:
        sides.append(in_values(session, parent.id, ids))
    for where in sides:
        query = select(*columns).select_from(child).join(parent, joined).where(where)
        for cid, pid, cauthor, pauthor, at in session.execute(query):
            found[(cid, pid)] = ReplyLink(cid, pid, cauthor, pauthor, at)
    return list(found.values())


def _identities_by_key(session: Session, *where: ColumnElement[bool]) -> dict[tuple[int, str], int]:
    """The identities matching ``where``, by (channel id, handle key)."""
    return {
        (channel, key): ident
        for ident, channel, key in session.execute(
            select(Identity.id, Identity.channel_id, Identity.handle_key).where(*where)
        )
    }


def mention_links(session: Session, message_ids: Sequence[int]) -> list[MentionLink]:
    """Mentions written in these messages that name a stored identity."""
    if not message_ids:
        return []
    # Two lookups by key rather than one three-way join: a planner that
    # still believes the tables empty (early in an import, before ANALYZE)
    # would loop over every identity for each mention.
    written = session.execute(
        select(
            Message.id,
            Message.author_identity_id,
            Message.channel_id,
            Message.created_at,
            MessageMention.handle_key,
        )
        .join(MessageMention, MessageMention.message_id == Message.id)
        .where(in_values(session, Message.id, list(message_ids)))
    ).all()
    if not written:
        return []
    named = _identities_by_key(
        session,
        # Both columns, so the (channel, handle) unique index serves.
        Identity.channel_id.in_(sorted({row[2] for row in written})),
        in_values(session, Identity.handle_key, sorted({row[4] for row in written})),
    )
    links = []
    for mid, author, channel, at, key in written:
        ident = named.get((channel, key))
        if ident is not None:
            links.append(MentionLink(mid, author, ident, at))
    return links


def mentions_of(session: Session, identity_ids: Sequence[int]) -> list[MentionLink]:
    """Stored messages that mention these identities."""
    if not identity_ids:
        return []
    wanted = _identities_by_key(session, in_values(session, Identity.id, list(identity_ids)))
    if not wanted:
        return []
    # By handle first (indexed), then the message: the cheap way round.
    query = (
        select(
            MessageMention.handle_key,
            Message.channel_id,
            Message.id,
            Message.author_identity_id,
            Message.created_at,
        )
        .join(Message, Message.id == MessageMention.message_id)
        .where(in_values(session, MessageMention.handle_key, sorted({k for _, k in wanted})))
    )
    found = []
    for key, channel, mid, author, at in session.execute(query):
        ident = wanted.get((channel, key))
        if ident is not None:
            found.append(MentionLink(mid, author, ident, at))
    return found


def message_id_chunks(session: Session, size: int = 10_000) -> Iterator[list[int]]:
    """Every stored message id, in increasing order, ``size`` at a time."""
    last = 0
    while True:
        chunk = list(
            session.execute(
                select(Message.id).where(Message.id > last).order_by(Message.id).limit(size)
            ).scalars()
        )
        if not chunk:
            return
        yield chunk
        last = chunk[-1]


def identities_by_ids(session: Session, identity_ids: Sequence[int]) -> dict[int, IdentityPublic]:
    """Identities by id, with their channel and whether they are our accounts."""
    if not identity_ids:
        return {}
    ids = list(identity_ids)
    # A short list as a plain IN: SQLite plans `IN (json_each)` as a long list
    # and would walk the identity table to match a page's handful of ids.
    wanted = Identity.id.in_(ids) if len(ids) <= 500 else in_values(session, Identity.id, ids)
    query = (
        select(Identity, Channel.name, Account.id)
        .join(Channel, Channel.id == Identity.channel_id)
        .outerjoin(Account, Account.identity_id == Identity.id)
        .where(wanted)
    )
    return {
        ident.id: IdentityPublic(
            id=ident.id,
            channel=channel,
            handle=ident.handle,
            display_name=ident.display_name,
            is_account=account is not None,
        )
        for ident, channel, account in session.execute(query)
    }


def thread_ids_of_messages(session: Session, message_ids: Sequence[int]) -> set[int]:
    if not message_ids:
        return set()
    return set(
        session.execute(
            select(Message.thread_id).where(in_values(session, Message.id, list(message_ids)))
        ).scalars()
    )


def iter_threads(
    session: Session, thread_ids: Sequence[int] | None = None, *, chunk: int = 500
) -> Iterator[list[MessagePublic]]:
    """Threads' messages in time order, one list per thread (all threads when
    ``thread_ids`` is None), read ``chunk`` threads at a time."""
    if thread_ids is None:
        ids = list(session.execute(select(Thread.id).order_by(Thread.id)).scalars())
    else:
        ids = sorted(set(thread_ids))
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        grouped: dict[int, list[MessagePublic]] = {tid: [] for tid in part}
        for msg in _messages(session, [in_values(session, Message.thread_id, part)]):
            grouped[msg.thread_id].append(msg)
        for tid in part:
            if grouped[tid]:
                yield grouped[tid]


def message_by_external_id(
    session: Session, channel: str, external_id: str
) -> MessagePublic | None:
    """The message stored on ``channel`` under ``external_id`` (None: not stored)."""
    found = _messages(session, [Channel.name == channel, Message.external_id == external_id])
    return found[0] if found else None


def latest_external_id_by_author(session: Session, channel: str, handle: str) -> str | None:
    """The external id of the newest message ``handle`` wrote on ``channel``."""
    return session.execute(
        select(Message.external_id)
        .join(Channel, Channel.id == Message.channel_id)
        .join(Identity, Identity.id == Message.author_identity_id)
        .where(
            Channel.name == channel, Identity.handle_key == handle.strip().lstrip("@").casefold()
        )
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def channel_message_counts(session: Session) -> dict[str, int]:
    """Messages stored per channel name."""
    rows = session.execute(
        select(Channel.name, func.count(Message.id))
        .outerjoin(Message, Message.channel_id == Channel.id)
        .group_by(Channel.name)
    )
    return {name: int(count) for name, count in rows}


PREVIEW_CHARS = 280


def channel_names(session: Session) -> list[str]:
    """Every channel's name, sorted (cheap: no counting)."""
    return list(session.execute(select(Channel.name).order_by(Channel.name)).scalars())


def channels_by_name(session: Session) -> dict[str, ChannelPublic]:
    """Every channel (id, kind: `import` or its connector's kind) by name, uncounted."""
    return {
        c.name: ChannelPublic.model_validate(c) for c in session.execute(select(Channel)).scalars()
    }


def list_channels(session: Session) -> list[ChannelSummary]:
    """Every channel with its message and thread counts, by name."""
    volume = (
        select(
            Message.channel_id.label("cid"),
            func.count().label("messages"),
            func.max(Message.created_at).label("last_at"),
        )
        .group_by(Message.channel_id)
        .subquery("volume")
    )
    threads = (
        select(Thread.channel_id.label("cid"), func.count().label("threads"))
        .group_by(Thread.channel_id)
        .subquery("threads")
    )
    rows = session.execute(
        select(Channel, volume.c.messages, threads.c.threads, volume.c.last_at)
        .outerjoin(volume, volume.c.cid == Channel.id)
        .outerjoin(threads, threads.c.cid == Channel.id)
        .order_by(Channel.name)
    )
    out = []
    for channel, messages, thread_count, last_at in rows:
        out.append(
            ChannelSummary(
                id=channel.id,
                name=channel.name,
                kind=channel.kind,
                created_at=channel.created_at,
                messages=int(messages or 0),
                threads=int(thread_count or 0),
                last_message_at=last_at,
            )
        )
    return out


def _previews(
    session: Session, thread_ids: Sequence[int], *, first_inbound: bool
) -> dict[int, tuple[Message, str | None]]:
    """Per thread: its latest message, or its first inbound one, with the author's handle."""
    if not thread_ids:
        return {}
    order = (
        (Message.created_at.asc(), Message.id.asc())
        if first_inbound
        else (Message.created_at.desc(), Message.id.desc())
    )
    ranked = select(
        Message.id.label("mid"),
        func.row_number().over(partition_by=Message.thread_id, order_by=order).label("rn"),
    ).where(Message.thread_id.in_(list(thread_ids)))
    if first_inbound:
        ranked = ranked.where(Message.direction == INBOUND)
    sub = ranked.subquery("ranked")
    rows = session.execute(
        select(Message, Identity.handle)
        .join(sub, and_(sub.c.mid == Message.id, sub.c.rn == 1))
        .outerjoin(Identity, Identity.id == Message.author_identity_id)
    )
    return {m.thread_id: (m, handle) for m, handle in rows}


def list_threads(
    session: Session,
    *,
    channel: str | None = None,
    thread_ids: Sequence[int] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[ThreadSummary], int]:
    """Threads, most recently active first (or in the order of ``thread_ids``),
    each with its first customer and latest message, and how many match."""
    where = []
    if channel:
        where.append(Channel.name == channel)
    if thread_ids is not None:
        where.append(Thread.id.in_(list(thread_ids)))
    query = (
        select(Thread, Channel.name)
        .join(Channel, Channel.id == Thread.channel_id)
        .where(*where)
        .order_by(Thread.last_message_at.desc(), Thread.id.desc())
        .limit(limit)
        .offset(offset)
    )
    count = select(func.count()).select_from(Thread)
    if channel:
        count = count.join(Channel, Channel.id == Thread.channel_id)
    rows = session.execute(query).all()
    total = int(session.execute(count.where(*where)).scalar_one())
    ids = [t.id for t, _ in rows]
    latest = _previews(session, ids, first_inbound=False)
    customers = _previews(session, ids, first_inbound=True)
    out = []
    for thread, channel_name in rows:
        last = latest.get(thread.id)
        first = customers.get(thread.id)
        out.append(
            ThreadSummary(
                id=thread.id,
                channel=channel_name,
                first_message_at=thread.first_message_at,
                last_message_at=thread.last_message_at,
                message_count=thread.message_count,
                customer_identity_id=first[0].author_identity_id if first else None,
                customer=first[1] if first else None,
                last_message=MessagePreview(
                    id=last[0].id,
                    author=last[1],
                    author_identity_id=last[0].author_identity_id,
                    direction=last[0].direction,
                    created_at=last[0].created_at,
                    text=last[0].text[:PREVIEW_CHARS],
                )
                if last
                else None,
            )
        )
    if thread_ids is not None:
        position = {tid: n for n, tid in enumerate(thread_ids)}
        out.sort(key=lambda t: position.get(t.id, len(position)))
    return out, total


def raw_payloads(session: Session, message_ids: Sequence[int]) -> dict[int, str]:
    """The raw payload of each message as received (for exports)."""
    from rapport.storage.bulk import in_values

    if not message_ids:
        return {}
    rows = session.execute(
        select(Message.id, Message.raw).where(in_values(session, Message.id, list(message_ids)))
    )
    return {int(i): raw for i, raw in rows}


@dataclass(frozen=True)
class AnswerPair:
    """One of our accounts' messages replying to a stored inbound message."""

    question_id: int
    question_text: str
    answer_id: int
    answer_text: str
    answer_author_id: int | None
    thread_id: int


def answer_pairs(
    session: Session,
    *,
    channel: str | None = None,
    author_ids: Sequence[int] | None = None,
    limit: int = 20_000,
) -> list[AnswerPair]:
    """Our replies to inbound messages, newest first (at most ``limit``)."""
    child = aliased(Message, name="a")
    parent = aliased(Message, name="q")
    query = (
        select(
            parent.id, parent.text, child.id, child.text, child.author_identity_id, child.thread_id
        )
        .select_from(child)
        .join(
            parent,
            and_(
                parent.channel_id == child.channel_id,
                parent.external_id == child.parent_external_id,
            ),
        )
        .where(child.direction == "outbound", parent.direction == INBOUND)
    )
    if channel is not None:
        query = query.join(Channel, Channel.id == child.channel_id).where(Channel.name == channel)
    if author_ids:
        query = query.where(in_values(session, child.author_identity_id, list(author_ids)))
    rows = session.execute(query.order_by(child.id.desc()).limit(limit))
    return [AnswerPair(q, qt, a, at, au, t) for q, qt, a, at, au, t in rows]


def newest_message_id(session: Session) -> int:
    return int(session.execute(select(func.max(Message.id))).scalar_one() or 0)
