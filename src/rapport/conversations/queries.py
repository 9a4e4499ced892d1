"""Read-side functions of the conversations domain; other domains read
messages, threads and identities through these, never by raw SQL."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rapport.conversations.errors import ThreadNotFound
from rapport.conversations.models import (
    Account,
    Channel,
    Identity,
    Message,
    QuarantinedRow,
    Thread,
)
from rapport.conversations.schemas import MessagePublic, QuarantinedRowPublic, ThreadPublic


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


def raw_payloads(session: Session, message_ids: Sequence[int]) -> dict[int, str]:
    """The raw payload of each message as received (for exports)."""
    from rapport.storage.bulk import in_values

    if not message_ids:
        return {}
    rows = session.execute(
        select(Message.id, Message.raw).where(in_values(session, Message.id, list(message_ids)))
    )
    return {int(i): raw for i, raw in rows}
