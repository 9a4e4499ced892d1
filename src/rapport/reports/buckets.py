"""Pre-aggregated hourly buckets, maintained as messages arrive.

Every stored batch adds its messages to three tables, in the batch's own
transaction (the ingest hook `on_batch_stored`, registered after analysis
so each message's sentiment and topics are already stored):

- `insight_bucket`: per UTC hour, channel, brand and direction — messages,
  sentiment mix (analysed messages), complaints, reshares; once for every
  message (`query_id` 0) and once more per listening query it matched;
- `insight_topic_bucket`: the same per topic label (inbound, analysed);
- `insight_thread_hour`: per thread and hour — messages and reshares, the
  velocity of one conversation.

`apply(session, ids, sign)` is the one function that turns messages into
bucket increments: the ingest hook calls it with +1; a change to stored
analysis (re-analysis, topic discovery) calls it with -1 before and +1
after (`rapport.analysis.hooks`); `do_rebuild` empties the tables and
applies every stored message again (the same code path), which is also
how the buckets are checked: incrementally maintained buckets must equal a
rebuild.

A message's *brand* is the brand handle it is by or addressed to: the
account that wrote it (outbound); else the account that wrote its parent;
else the first brand handle `@mentioned` in its text, where brand handles
are our accounts and the brands and competitors named by listening
queries; else none (''). Each message counts under exactly one brand, so
bucket counts add up to the messages in range.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, delete, select, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from rapport.analysis.queries import sentiment_topics_for
from rapport.conversations.hooks import StoredBatch
from rapport.conversations.models import (
    INBOUND,
    OUTBOUND,
    Account,
    Identity,
    Message,
    MessageMention,
)
from rapport.reports.models import (
    ALL_MESSAGES,
    InsightBucket,
    InsightThreadHour,
    InsightTopicBucket,
    ListeningMatch,
    ListeningQuery,
)
from rapport.storage.bulk import in_values, timestamp_writer

BUCKET_KEYS = ("query_id", "hour", "channel_id", "brand", "direction")
TOPIC_KEYS = ("query_id", "hour", "channel_id", "brand", "topic")
THREAD_KEYS = ("thread_id", "hour")
BUCKET_VALUES = (
    "messages",
    "analysed",
    "negative",
    "neutral",
    "positive",
    "score_sum",
    "complaints",
    "reshares",
)
TOPIC_VALUES = ("messages", "negative", "neutral", "positive", "score_sum")
THREAD_VALUES = ("messages", "reshares", "activity", "negative", "complaints")
_SENTIMENT_SLOT = {"negative": 2, "neutral": 3, "positive": 4}


def floor_hour(when: datetime) -> datetime:
    return when.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def raw_column(column: Any) -> Any:
    """Read a column without per-row type processing (thousands of rows a batch)."""
    return type_coerce(column, NullType())


def as_utc(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def reshares_of(meta: Any) -> int:
    """The platform's reshare count in a message's meta (retweets), else 0."""
    if isinstance(meta, str):
        if "retweet" not in meta and "reshare" not in meta:
            return 0
        try:
            meta = json.loads(meta)
        except ValueError:
            return 0
    if not isinstance(meta, dict):
        return 0
    for key in ("retweet_count", "retweets", "reshares", "reblogs_count", "repost_count"):
        value = meta.get(key)
        if value is not None:
            try:
                return max(0, int(value))
            except (TypeError, ValueError):
                return 0
    return 0


@dataclass
class BucketMessage:
    id: int
    channel_id: int
    hour: datetime
    created_at: datetime
    direction: str
    author_id: int | None
    parent: str | None
    thread_id: int
    reshares: int
    brand: str = ""


def load_messages(session: Session, message_ids: Sequence[int]) -> list[BucketMessage]:
    rows = session.execute(
        select(
            Message.id,
            Message.channel_id,
            raw_column(Message.created_at),
            Message.direction,
            Message.author_identity_id,
            Message.parent_external_id,
            Message.thread_id,
            raw_column(Message.meta),
        ).where(in_values(session, Message.id, list(message_ids)))
    )
    out = []
    for mid, channel_id, created, direction, author, parent, thread_id, meta in rows:
        at = as_utc(created)
        out.append(
            BucketMessage(
                id=int(mid),
                channel_id=int(channel_id),
                hour=floor_hour(at),
                created_at=at,
                direction=direction,
                author_id=author,
                parent=parent,
                thread_id=int(thread_id),
                reshares=reshares_of(meta),
            )
        )
    return out


# ----------------------------------------------------------------- brands


def normalise_brand(handle: str) -> str:
    return handle.strip().lstrip("@").casefold()


def account_keys(session: Session) -> dict[int, str]:
    """Our accounts: identity id → handle key."""
    return {
        int(ident): key
        for ident, key in session.execute(
            select(Identity.id, Identity.handle_key).join(
                Account, Account.identity_id == Identity.id
            )
        )
    }


def known_brands(session: Session, accounts: dict[int, str] | None = None) -> set[str]:
    """Brand handles: our accounts and the brands/competitors of listening queries."""
    accounts = account_keys(session) if accounts is None else accounts
    named = {
        normalise_brand(b)
        for b in session.execute(
            select(ListeningQuery.brand).where(ListeningQuery.brand.is_not(None))
        ).scalars()
        if b
    }
    return set(accounts.values()) | named


def assign_brands(session: Session, msgs: Sequence[BucketMessage]) -> None:
    """Set each message's brand (see the module's docstring)."""
    if not msgs:
        return
    accounts = account_keys(session)
    brands = known_brands(session, accounts)
    mentions: dict[int, list[str]] = defaultdict(list)
    if brands:
        for mid, key in session.execute(
            select(MessageMention.message_id, MessageMention.handle_key).where(
                in_values(session, MessageMention.message_id, [m.id for m in msgs])
            )
        ):
            if key in brands:
                mentions[int(mid)].append(key)
    parent_author: dict[tuple[int, str], int | None] = {}
    if accounts:
        wanted: dict[int, set[str]] = defaultdict(set)
        for m in msgs:
            if m.parent and m.direction == INBOUND:
                wanted[m.channel_id].add(m.parent)
        for channel_id, exts in wanted.items():
            for ext, author in session.execute(
                select(Message.external_id, Message.author_identity_id).where(
                    Message.channel_id == channel_id,
                    in_values(session, Message.external_id, sorted(exts)),
                )
            ):
                parent_author[(channel_id, ext)] = author
    several = [mid for mid, keys in mentions.items() if len(keys) > 1]
    texts: dict[int, str] = {}
    if several:
        texts = {
            int(mid): text or ""
            for mid, text in session.execute(
                select(Message.id, Message.text).where(in_values(session, Message.id, several))
            )
        }
    for m in msgs:
        brand = ""
        if m.direction == OUTBOUND and m.author_id in accounts:
            brand = accounts[m.author_id]
        elif m.parent and parent_author.get((m.channel_id, m.parent)) in accounts:
            brand = accounts[parent_author[(m.channel_id, m.parent)]]  # type: ignore[index]
        elif len(mentions.get(m.id, ())) == 1:
            brand = mentions[m.id][0]
        elif mentions.get(m.id):
            lowered = texts.get(m.id, "").casefold()

            def position(key: str, lowered: str = lowered) -> tuple[int, str]:
                at = lowered.find("@" + key)
                return (at if at >= 0 else len(lowered), key)

            brand = min(mentions[m.id], key=position)
        m.brand = brand[:255]


# ----------------------------------------------------------------- increments


def matches_for(session: Session, message_ids: Sequence[int]) -> dict[int, list[int]]:
    """Listening queries each message matched (stored tags)."""
    out: dict[int, list[int]] = defaultdict(list)
    if not message_ids:
        return out
    for qid, mid in session.execute(
        select(ListeningMatch.query_id, ListeningMatch.message_id).where(
            in_values(session, ListeningMatch.message_id, list(message_ids))
        )
    ):
        out[int(mid)].append(int(qid))
    return out


def _upsert(
    session: Session,
    table: Table,
    keys: Sequence[str],
    values: Sequence[str],
    rows: dict[tuple[Any, ...], list[Any]],
) -> None:
    """Add ``rows`` (key tuple → value list) to ``table``'s counters: one
    prepared ``INSERT ... ON CONFLICT DO UPDATE`` (the same SQL on SQLite
    and PostgreSQL) run over every row through the DB-API cursor."""
    if not rows:
        return
    sqlite = session.get_bind().dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    stamp = timestamp_writer(session)
    hour_at = list(keys).index("hour")
    cols = [*keys, *values]
    sql = (
        f"INSERT INTO {table.name} ({', '.join(cols)}) "
        f"VALUES ({', '.join(mark for _ in cols)}) "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET "
        + ", ".join(f"{c} = {table.name}.{c} + excluded.{c}" for c in values)
    )
    stamps: dict[datetime, Any] = {}
    params = []
    for key, vals in rows.items():
        k = list(key)
        hour = k[hour_at]
        if hour not in stamps:
            stamps[hour] = stamp(hour)
        k[hour_at] = stamps[hour]
        params.append((*k, *vals))
    dbapi = session.connection().connection.dbapi_connection
    assert dbapi is not None
    cur = dbapi.cursor()
    try:
        cur.executemany(sql, params)
    finally:
        cur.close()


def apply(
    session: Session,
    message_ids: Sequence[int],
    sign: int = 1,
    *,
    only_query: int | None = None,
    matches: dict[int, list[int]] | None = None,
) -> int:
    """Add (``sign`` +1) or take out (-1) these messages' contributions to the
    buckets. With ``only_query`` only that listening query's rows change (a
    query just added). ``matches`` (message → query ids) saves reading the
    stored tags when the caller has them. Returns the messages applied."""
    ids = list(message_ids)
    if not ids:
        return 0
    msgs = load_messages(session, ids)
    assign_brands(session, msgs)
    analysis = sentiment_topics_for(session, ids)
    tags = matches_for(session, ids) if matches is None else matches
    # Counters stay ints (score_sum is the one float): the rows go to the
    # database as they are.
    buckets: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0] * 8)
    topics: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0] * 5)
    threads: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0] * 5)
    for m in msgs:
        a = analysis.get(m.id)
        queries = tags.get(m.id, [])
        scopes = [only_query] if only_query is not None else [ALL_MESSAGES, *queries]
        if only_query is not None and only_query not in queries:
            continue
        complaint = 1 if a is not None and a.intent == "complaint" else 0
        negative = 1 if a is not None and a.sentiment == "negative" else 0
        for q in scopes:
            row = buckets[(q, m.hour, m.channel_id, m.brand, m.direction)]
            row[0] += sign
            row[7] += sign * m.reshares
            if a is not None:
                row[1] += sign
                row[_SENTIMENT_SLOT.get(a.sentiment, 3)] += sign
                row[5] += sign * a.sentiment_score
                row[6] += sign * complaint
            if a is not None and a.topics and m.direction == INBOUND:
                for label in dict.fromkeys(a.topics):
                    t = topics[(q, m.hour, m.channel_id, m.brand, label[:300])]
                    t[0] += sign
                    t[_SENTIMENT_SLOT.get(a.sentiment, 3) - 1] += sign
                    t[4] += sign * a.sentiment_score
        if only_query is None:
            th = threads[(m.thread_id, m.hour)]
            th[0] += sign
            th[1] += sign * m.reshares
            th[2] += sign * (1 + m.reshares)
            th[3] += sign * negative
            th[4] += sign * complaint
    for table, keys, values, rows in (
        (InsightBucket, BUCKET_KEYS, BUCKET_VALUES, buckets),
        (InsightTopicBucket, TOPIC_KEYS, TOPIC_VALUES, topics),
        (InsightThreadHour, THREAD_KEYS, THREAD_VALUES, threads),
    ):
        _upsert(session, table.__table__, keys, values, rows)  # type: ignore[arg-type]
    if sign < 0 and msgs:
        lo, hi = min(m.hour for m in msgs), max(m.hour for m in msgs)
        for table in (InsightBucket, InsightTopicBucket, InsightThreadHour):
            session.execute(
                delete(table).where(table.hour >= lo, table.hour <= hi, table.messages <= 0)
            )
    return len(msgs)


# ----------------------------------------------------------------- hooks


def on_batch_stored(session: Session, batch: StoredBatch) -> None:
    """Ingest hook: tag the new messages with the listening queries, then add
    them to the buckets (in the batch's transaction)."""
    from rapport.reports import listening

    tags = listening.tag_new_messages(session, batch.message_ids)
    apply(session, batch.message_ids, +1, matches=tags)


def before_analysis_change(session: Session, message_ids: Sequence[int]) -> None:
    apply(session, message_ids, -1)


def after_analysis_change(session: Session, message_ids: Sequence[int]) -> None:
    apply(session, message_ids, +1)


def on_threads_merged(session: Session, survivor: int, absorbed: list[int]) -> None:
    """Move the absorbed threads' hourly activity onto the surviving thread
    (before their rows go)."""
    if not absorbed:
        return
    t = InsightThreadHour
    rows = session.execute(
        select(t.hour, t.messages, t.reshares, t.activity, t.negative, t.complaints).where(
            in_values(session, t.thread_id, absorbed)
        )
    ).all()
    if not rows:
        return
    session.execute(delete(t).where(in_values(session, t.thread_id, absorbed)))
    merged: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0] * 5)
    for hour, *values in rows:
        cell = merged[(survivor, hour)]
        for i, v in enumerate(values):
            cell[i] += v
    _upsert(session, t.__table__, THREAD_KEYS, THREAD_VALUES, merged)  # type: ignore[arg-type]


def clear(session: Session, *, query_id: int | None = None) -> None:
    """Empty the buckets (of one listening query only, with ``query_id``)."""
    if query_id is not None:
        for table in (InsightBucket, InsightTopicBucket):
            session.execute(delete(table).where(table.query_id == query_id))
        return
    for every in (InsightBucket, InsightTopicBucket, InsightThreadHour):
        session.execute(delete(every))


def counted_messages(session: Session) -> int:
    """Messages the buckets hold (every message counts once in query 0)."""
    from sqlalchemy import func

    total = session.execute(
        select(func.coalesce(func.sum(InsightBucket.messages), 0)).where(
            InsightBucket.query_id == ALL_MESSAGES
        )
    ).scalar_one()
    return int(total)


def needs_rebuild(session: Session) -> bool:
    """True when the buckets do not count every stored message (messages
    stored before the reports tables existed, or with the hook removed)."""
    from rapport.conversations.queries import count_messages

    return counted_messages(session) != count_messages(session)
