"""Listening queries: saved boolean queries over what customers write
(`"refund" AND (flight OR trip) NOT spam`), optionally about our brand or a
competitor, and share of voice between them.

The query language is the conversations domain's (`rapport.conversations.querylang`:
one parser for search and listening); a message matches when
`querylang.matches(query, text, author)` says so. Messages are tagged as
they arrive (the ingest hook, `tag_new_messages`) and every stored message
is tagged when a query is added (`do_add_query`); each match is counted into
the query's own hourly buckets, so a query's trend and alerts read buckets
like everything else.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from rapport.analysis.queries import sentiment_topics_for
from rapport.audit.service import do_record
from rapport.conversations import querylang
from rapport.conversations.models import Channel, Identity, Message
from rapport.conversations.queries import message_id_chunks
from rapport.reports import buckets
from rapport.reports.csvexport import CsvTable
from rapport.reports.errors import InsightsError, QueryNotFound
from rapport.reports.filters import InsightFilter, resolve
from rapport.reports.models import InsightBucket, ListeningMatch, ListeningQuery
from rapport.reports.timeseries import Bucket, bucket_axis, floor_to
from rapport.reports.trends import Trends, compute_trends
from rapport.storage.base import utcnow
from rapport.storage.bulk import bulk_insert, in_values

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
QueryKind = Literal["brand", "competitor", "general"]


class QueryCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    query: str = Field(min_length=1, max_length=querylang.MAX_QUERY_LENGTH)
    kind: QueryKind = "general"
    #: The brand or competitor handle the query is about (for share of voice
    #: and for counting messages that @mention it under that brand).
    brand: str | None = Field(None, max_length=255)


class QueryPublic(BaseModel):
    id: int
    name: str
    query: str
    kind: str
    brand: str | None
    matches: int
    created_by: str
    created_at: datetime


# ----------------------------------------------------------------- matching


class _Compiled:
    """A parsed query and what lets most messages be ruled out without
    evaluating it: the first word of each term it needs (when every match
    must contain one of them, i.e. the query is index-searchable)."""

    def __init__(self, qid: int, text: str) -> None:
        self.id = qid
        self.query = querylang.parse(text)
        self.needs: list[tuple[str, bool]] | None
        try:
            querylang.check_searchable(self.query, text)
        except querylang.QueryNotSearchable:
            self.needs = None
        else:
            self.needs = [(t.tokens[0], t.prefix) for t in querylang.positive_terms(self.query)]

    def could_match(self, words: set[str]) -> bool:
        if self.needs is None:
            return True
        for first, prefix in self.needs:
            if first in words or (prefix and any(w.startswith(first) for w in words)):
                return True
        return False

    def matches(self, text: str, author: str | None, words: set[str]) -> bool:
        return self.could_match(words) and querylang.matches(self.query, text, author)


_compiled: dict[tuple[int, str], _Compiled] = {}


def _compile(qid: int, text: str) -> _Compiled:
    key = (qid, text)
    found = _compiled.get(key)
    if found is None:
        found = _compiled[key] = _Compiled(qid, text)
    return found


def _stored_queries(session: Session) -> list[_Compiled]:
    return [
        _compile(int(i), q)
        for i, q in session.execute(
            select(ListeningQuery.id, ListeningQuery.query).order_by(ListeningQuery.id)
        )
    ]


def _texts(session: Session, ids: Sequence[int]) -> Iterable[tuple[int, str, str | None]]:
    return session.execute(
        select(Message.id, Message.text, Identity.handle)
        .outerjoin(Identity, Identity.id == Message.author_identity_id)
        .where(in_values(session, Message.id, list(ids)))
    ).all()


def _tag(
    session: Session, queries: Sequence[_Compiled], ids: Sequence[int]
) -> dict[int, list[int]]:
    """Match ``ids`` against ``queries`` and store the matches."""
    found: dict[int, list[int]] = defaultdict(list)
    for mid, text, author in _texts(session, ids):
        words = set(querylang.tokenize(text or "")) | set(querylang.tokenize(author or ""))
        for q in queries:
            if q.matches(text or "", author, words):
                found[int(mid)].append(q.id)
    rows = [(qid, mid) for mid, qids in found.items() for qid in qids]
    bulk_insert(
        session,
        ListeningMatch.__table__,  # type: ignore[arg-type]
        ("query_id", "message_id"),
        rows,
    )
    return found


def tag_new_messages(session: Session, message_ids: Sequence[int]) -> dict[int, list[int]]:
    """Tag new messages with every listening query they match (the ingest
    hook); returns message id → matched query ids."""
    if not message_ids:
        return {}
    queries = _stored_queries(session)
    if not queries:
        return {}
    return _tag(session, queries, message_ids)


# ----------------------------------------------------------------- writes


def _public(row: ListeningQuery, matches: int) -> QueryPublic:
    return QueryPublic(
        id=row.id,
        name=row.name,
        query=row.query,
        kind=row.kind,
        brand=row.brand,
        matches=matches,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def _get(session: Session, name: str) -> ListeningQuery:
    row = session.execute(
        select(ListeningQuery).where(ListeningQuery.name == name)
    ).scalar_one_or_none()
    if row is None:
        raise QueryNotFound(f"no listening query named {name!r} (see `rapport listen list`)")
    return row


def do_add_query(session: Session, data: QueryCreate, *, actor: str) -> QueryPublic:
    """Save a listening query, tag every stored message it matches and count
    the matches into its buckets. An invalid query is refused with the
    position of the error."""
    name = data.name.strip()
    if not _NAME.match(name):
        raise InsightsError(
            f"bad listening query name {data.name!r}: 1-100 letters, digits, '_', '-' or '.'"
        )
    querylang.parse(data.query)  # QuerySyntaxError: "invalid query: ... at N"
    if data.kind != "general" and not data.brand:
        raise InsightsError(f"a {data.kind} query names the {data.kind}: --{data.kind} HANDLE")
    exists = session.execute(
        select(ListeningQuery.id).where(ListeningQuery.name == name)
    ).scalar_one_or_none()
    if exists is not None:
        raise InsightsError(
            f"a listening query named {name!r} exists; remove it first "
            f"(`rapport listen remove {name}`)"
        )
    brand = buckets.normalise_brand(data.brand) if data.brand else None
    brands_before = buckets.known_brands(session)
    now = utcnow()
    row = ListeningQuery(
        name=name,
        query=data.query.strip(),
        kind=data.kind,
        brand=brand,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    compiled = _compile(row.id, row.query)
    matched = 0
    for ids in message_id_chunks(session, 20_000):
        found = _tag(session, [compiled], ids)
        matched += len(found)
        if brand in brands_before or brand is None:
            buckets.apply(session, sorted(found), +1, only_query=row.id, matches=found)
    if brand is not None and brand not in brands_before:
        # A new brand handle: messages @mentioning it now count under it.
        _recount(session)
    do_record(
        session,
        actor,
        "reports.listen_add",
        subject_type="listening_query",
        subject_id=row.id,
        details={"name": name, "query": row.query, "kind": row.kind, "brand": brand},
    )
    return _public(row, matched)


def _recount(session: Session) -> None:
    from rapport.reports.service import do_rebuild_buckets

    do_rebuild_buckets(session)


def do_remove_query(session: Session, name: str, *, actor: str) -> None:
    row = _get(session, name)
    brand = row.brand
    buckets.clear(session, query_id=row.id)
    session.execute(delete(ListeningMatch).where(ListeningMatch.query_id == row.id))
    do_record(
        session,
        actor,
        "reports.listen_remove",
        subject_type="listening_query",
        subject_id=row.id,
        details={"name": row.name, "query": row.query},
    )
    session.delete(row)
    session.flush()
    if brand is not None and brand not in buckets.known_brands(session):
        _recount(session)


# ----------------------------------------------------------------- reads


def list_queries(session: Session) -> list[QueryPublic]:
    counts = dict(
        session.execute(
            select(ListeningMatch.query_id, func.count()).group_by(ListeningMatch.query_id)
        ).all()
    )
    rows = session.execute(select(ListeningQuery).order_by(ListeningQuery.name)).scalars()
    return [_public(r, int(counts.get(r.id, 0))) for r in rows]


class MatchExample(BaseModel):
    message_id: int
    created_at: datetime
    channel: str
    author: str | None
    text: str
    sentiment: str | None
    #: The query's terms found in the text: why it matched.
    terms: list[str]


class ListenRun(BaseModel):
    query: QueryPublic
    filter: InsightFilter
    matches: int
    trend: Trends
    examples: list[MatchExample]


def run_query(
    session: Session,
    name: str,
    flt: InsightFilter | None = None,
    *,
    by: Bucket = "day",
    examples: int = 20,
) -> ListenRun:
    """A listening query's matches in range: trend, and the newest matches
    with the terms that made each one match."""
    row = _get(session, name)
    flt = (flt or InsightFilter()).model_copy(update={"query": row.name})
    trend = compute_trends(session, flt, by=by)
    r = resolve(session, flt)
    query = (
        select(Message.id, Message.created_at, Channel.name, Identity.handle, Message.text)
        .join(ListeningMatch, ListeningMatch.message_id == Message.id)
        .join(Channel, Channel.id == Message.channel_id)
        .outerjoin(Identity, Identity.id == Message.author_identity_id)
        .where(ListeningMatch.query_id == row.id)
    )
    if r.since is not None:
        query = query.where(Message.created_at >= r.since)
    if r.until is not None:
        query = query.where(Message.created_at < r.until)
    if r.channel_id is not None:
        query = query.where(Message.channel_id == r.channel_id)
    rows = (
        []
        if r.empty
        else session.execute(
            query.order_by(Message.created_at.desc(), Message.id.desc()).limit(examples)
        ).all()
    )
    sentiment = sentiment_topics_for(session, [int(x[0]) for x in rows])
    compiled = _compile(row.id, row.query)
    out = []
    for mid, at, channel, handle, text in rows:
        a = sentiment.get(int(mid))
        out.append(
            MatchExample(
                message_id=mid,
                created_at=at,
                channel=channel,
                author=handle,
                text=text,
                sentiment=a.sentiment if a else None,
                terms=list(querylang.evaluate(compiled.query, text, handle).terms),
            )
        )
    stored = int(
        session.execute(
            select(func.count())
            .select_from(ListeningMatch)
            .where(ListeningMatch.query_id == row.id)
        ).scalar_one()
    )
    return ListenRun(
        query=_public(row, stored),
        filter=flt,
        matches=trend.total_messages,
        trend=trend,
        examples=out,
    )


# ----------------------------------------------------------------- share of voice


class VoiceSeries(BaseModel):
    query: str
    kind: str
    brand: str | None
    #: Matches per bucket, aligned with `ShareOfVoice.buckets`.
    messages: list[int]
    #: This query's share of the brand and competitor matches per bucket.
    share: list[float | None]
    total: int
    total_share: float | None
    negative_share: float | None


class ShareOfVoice(BaseModel):
    by: Bucket
    since: datetime | None
    until: datetime | None
    buckets: list[datetime]
    series: list[VoiceSeries]
    note: str = (
        "share = a query's matches / the matches of every brand and competitor query in the "
        "bucket; a message matching two of them counts for both"
    )


def share_of_voice(
    session: Session, flt: InsightFilter | None = None, *, by: Bucket = "day"
) -> ShareOfVoice:
    """Each brand and competitor query's share of their combined matches,
    per bucket and over the range (from the query buckets)."""
    flt = flt or InsightFilter()
    queries = list(
        session.execute(
            select(ListeningQuery)
            .where(ListeningQuery.kind.in_(("brand", "competitor")))
            .order_by(ListeningQuery.kind, ListeningQuery.name)
        ).scalars()
    )
    r = resolve(session, flt.model_copy(update={"query": None}))
    if r.empty or not queries:
        return ShareOfVoice(by=by, since=r.since, until=r.until, buckets=[], series=[])
    b = InsightBucket
    conds: list[Any] = [in_values(session, b.query_id, [q.id for q in queries])]
    conds += r.where(b)[1:]  # every condition but query_id
    rows = session.execute(
        select(b.query_id, b.hour, func.sum(b.messages), func.sum(b.analysed), func.sum(b.negative))
        .where(*conds)
        .group_by(b.query_id, b.hour)
    ).all()
    per: dict[int, dict[datetime, int]] = defaultdict(lambda: defaultdict(int))
    analysed: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for qid, hour, n, a, neg in rows:
        per[int(qid)][floor_to(buckets.as_utc(hour), by)] += int(n or 0)
        analysed[int(qid)][0] += int(a or 0)
        analysed[int(qid)][1] += int(neg or 0)
    keys = sorted({k for v in per.values() for k in v})
    axis = bucket_axis(keys, by, r.since) if keys else []
    totals_per_bucket = [sum(per[q.id].get(t, 0) for q in queries) for t in axis]
    grand = sum(totals_per_bucket)
    series = []
    for q in queries:
        counts = [per[q.id].get(t, 0) for t in axis]
        total = sum(counts)
        a, neg = analysed[q.id]
        series.append(
            VoiceSeries(
                query=q.name,
                kind=q.kind,
                brand=q.brand,
                messages=counts,
                share=[
                    round(c / tot, 4) if tot else None
                    for c, tot in zip(counts, totals_per_bucket, strict=True)
                ],
                total=total,
                total_share=round(total / grand, 4) if grand else None,
                negative_share=round(neg / a, 4) if a else None,
            )
        )
    return ShareOfVoice(by=by, since=r.since, until=r.until, buckets=axis, series=series)


def queries_table(queries: Sequence[QueryPublic]) -> CsvTable:
    return CsvTable(
        "queries",
        ["name", "query", "kind", "brand", "matches", "created_by", "created_at"],
        [
            [q.name, q.query, q.kind, q.brand, q.matches, q.created_by, q.created_at]
            for q in queries
        ],
    )


def run_tables(run: ListenRun) -> list[CsvTable]:
    from rapport.reports.trends import trends_tables

    return [
        CsvTable(
            "matches",
            ["message_id", "created_at", "channel", "author", "sentiment", "terms", "text"],
            [
                [e.message_id, e.created_at, e.channel, e.author, e.sentiment, e.terms, e.text]
                for e in run.examples
            ],
        ),
        *trends_tables(run.trend),
    ]


def share_tables(sov: ShareOfVoice) -> list[CsvTable]:
    return [
        CsvTable(
            "share_of_voice",
            ["start", "query", "kind", "brand", "messages", "share"],
            [
                [t, s.query, s.kind, s.brand, s.messages[i], s.share[i]]
                for i, t in enumerate(sov.buckets)
                for s in sov.series
            ],
        ),
        CsvTable(
            "totals",
            ["query", "kind", "brand", "messages", "share", "negative_share"],
            [
                [s.query, s.kind, s.brand, s.total, s.total_share, s.negative_share]
                for s in sov.series
            ],
        ),
    ]
