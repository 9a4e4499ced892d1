"""The listening/engagement report of the contract (`rapport report --json`).

Definitions (../shared/CONTRACTS.md), for the messages in range:
- a *brand* is any author of an outbound message;
- brand `inbound`: inbound messages addressed to it, i.e. replying to one of
  its messages or mentioning `@handle` (case-insensitive);
- brand `threads`: threads holding a brand message or an inbound message
  addressed to it; `answered_threads`: those holding a brand message;
- `median_response_seconds`: median over brand messages whose parent is a
  stored inbound message of (reply time - parent time);
- `talk_listen_ratio`: outbound / (outbound + inbound).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import and_, distinct, func, select, union
from sqlalchemy.orm import Session, aliased

from rapport.conversations.models import (
    INBOUND,
    OUTBOUND,
    Channel,
    Identity,
    Message,
    MessageMention,
)


class BrandFigures(BaseModel):
    inbound: int
    outbound: int
    threads: int
    answered_threads: int
    median_response_seconds: float | None
    talk_listen_ratio: float | None


class Report(BaseModel):
    messages: int
    threads: int
    inbound: int
    outbound: int
    brands: dict[str, BrandFigures]


class ReportFilter(BaseModel):
    since: datetime | None = None
    until: datetime | None = None
    channel: str | None = None


def _parent_of(m: Any, parent: Any) -> Any:
    """The join of a message ``m`` to its stored parent."""
    return and_(parent.channel_id == m.channel_id, parent.external_id == m.parent_external_id)


def _in_range(query: Any, m: Any, flt: ReportFilter, channel_id: int | None) -> Any:
    """``query`` restricted to messages ``m`` in the filter's range and channel."""
    if flt.since is not None:
        query = query.where(m.created_at >= flt.since)
    if flt.until is not None:
        query = query.where(m.created_at < flt.until)
    if channel_id is not None:
        query = query.where(m.channel_id == channel_id)
    return query


def compute_report(session: Session, flt: ReportFilter | None = None) -> Report:
    """The report for the messages in ``flt``'s range (``until`` exclusive)."""
    flt = flt or ReportFilter()
    channel_id: int | None = None
    if flt.channel is not None:
        channel_id = session.execute(
            select(Channel.id).where(Channel.name == flt.channel)
        ).scalar_one_or_none()
        if channel_id is None:
            return Report(messages=0, threads=0, inbound=0, outbound=0, brands={})

    m = aliased(Message, name="m")
    counts = _in_range(
        select(m.direction, func.count(), func.count(distinct(m.thread_id))).group_by(m.direction),
        m,
        flt,
        channel_id,
    )
    by_direction = {d: int(n) for d, n, _ in session.execute(counts)}
    threads = session.execute(
        _in_range(select(func.count(distinct(m.thread_id))), m, flt, channel_id)
    ).scalar_one()

    # Outbound per brand: count, threads holding a brand message.
    outbound_rows = session.execute(
        _in_range(
            select(m.author_identity_id, func.count(), func.count(distinct(m.thread_id)))
            .where(m.direction == OUTBOUND, m.author_identity_id.is_not(None))
            .group_by(m.author_identity_id),
            m,
            flt,
            channel_id,
        )
    ).all()
    outbound = {int(b): int(n) for b, n, _ in outbound_rows}
    answered = {int(b): int(t) for b, _, t in outbound_rows}

    # Brands: authors of outbound messages anywhere in the selected channel(s).
    brand_q = (
        select(Message.author_identity_id)
        .where(Message.direction == OUTBOUND, Message.author_identity_id.is_not(None))
        .distinct()
    )
    if channel_id is not None:
        brand_q = brand_q.where(Message.channel_id == channel_id)
    brands_all = {int(b) for b in session.execute(brand_q).scalars() if b is not None}

    # Inbound messages addressed to a brand: replies to its messages, mentions.
    addressed = addressed_messages(flt, channel_id).subquery("addressed")
    inbound_rows = session.execute(
        select(addressed.c.bid, func.count()).group_by(addressed.c.bid)
    ).all()
    inbound = {int(b): int(n) for b, n in inbound_rows}

    brand_threads_q = union(
        select(addressed.c.bid.label("bid"), addressed.c.tid.label("tid")),
        _in_range(
            select(m.author_identity_id.label("bid"), m.thread_id.label("tid")).where(
                m.direction == OUTBOUND, m.author_identity_id.is_not(None)
            ),
            m,
            flt,
            channel_id,
        ),
    ).subquery("brand_threads")
    thread_counts = {
        int(b): int(n)
        for b, n in session.execute(
            select(brand_threads_q.c.bid, func.count()).group_by(brand_threads_q.c.bid)
        )
    }

    # Response times: brand replies whose parent is a stored inbound message.
    parent = aliased(Message, name="p")
    delays: dict[int, list[float]] = defaultdict(list)
    response_q = _in_range(
        select(m.author_identity_id, m.created_at, parent.created_at)
        .join(parent, _parent_of(m, parent))
        .where(
            m.direction == OUTBOUND,
            parent.direction == INBOUND,
            m.author_identity_id.is_not(None),
        ),
        m,
        flt,
        channel_id,
    )
    for brand, replied_at, asked_at in session.execute(response_q):
        delays[int(brand)].append((replied_at - asked_at).total_seconds())

    active = (set(outbound) | set(inbound) | set(thread_counts)) & brands_all
    handles: dict[int, str] = {}
    if active:
        handles = {
            int(i): h
            for i, h in session.execute(
                select(Identity.id, Identity.handle).where(Identity.id.in_(sorted(active)))
            )
        }
    # One entry per handle (the same handle on two channels adds up).
    per_handle: dict[str, list[int]] = defaultdict(list)
    for brand in active:
        per_handle[handles[brand]].append(brand)
    brands: dict[str, BrandFigures] = {}
    for handle in sorted(per_handle, key=str.casefold):
        ids = per_handle[handle]
        out_n = sum(outbound.get(b, 0) for b in ids)
        in_n = sum(inbound.get(b, 0) for b in ids)
        samples = [d for b in ids for d in delays.get(b, [])]
        brands[handle] = BrandFigures(
            inbound=in_n,
            outbound=out_n,
            threads=sum(thread_counts.get(b, 0) for b in ids),
            answered_threads=sum(answered.get(b, 0) for b in ids),
            median_response_seconds=float(statistics.median(samples)) if samples else None,
            talk_listen_ratio=out_n / (out_n + in_n) if out_n + in_n else None,
        )

    return Report(
        messages=sum(by_direction.values()),
        threads=int(threads),
        inbound=by_direction.get(INBOUND, 0),
        outbound=by_direction.get(OUTBOUND, 0),
        brands=brands,
    )


def addressed_messages(flt: ReportFilter, channel_id: int | None) -> Any:
    """Inbound messages in range addressed to a brand, as a selectable of
    (``mid`` message, ``tid`` thread, ``bid`` brand identity): replies to one
    of its messages, and mentions of its handle (one row per pair)."""
    m = aliased(Message, name="m")
    parent = aliased(Message, name="p")
    replies = _in_range(
        select(m.id.label("mid"), m.thread_id.label("tid"), parent.author_identity_id.label("bid"))
        .join(parent, _parent_of(m, parent))
        .where(
            m.direction == INBOUND,
            parent.direction == OUTBOUND,
            parent.author_identity_id.is_not(None),
        ),
        m,
        flt,
        channel_id,
    )
    brand_ident = aliased(Identity, name="bi")
    brand_authors = (
        select(Message.author_identity_id.label("bid"))
        .where(Message.direction == OUTBOUND, Message.author_identity_id.is_not(None))
        .distinct()
        .subquery("brands")
    )
    mentions = _in_range(
        select(m.id.label("mid"), m.thread_id.label("tid"), brand_ident.id.label("bid"))
        .join(MessageMention, MessageMention.message_id == m.id)
        .join(
            brand_ident,
            and_(
                brand_ident.channel_id == m.channel_id,
                brand_ident.handle_key == MessageMention.handle_key,
            ),
        )
        .join(brand_authors, brand_authors.c.bid == brand_ident.id)
        .where(m.direction == INBOUND),
        m,
        flt,
        channel_id,
    )
    return union(replies, mentions)
