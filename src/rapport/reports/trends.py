"""Trends: volume, sentiment mix and top topics per hour, day or week, read
from the pre-aggregated hourly buckets (`rapport.reports.buckets`).

Every bucket from the first to the last one holding messages is present (a
quiet day is a zero); the buckets' `messages` add up to the messages in the
(hour-aligned) range that pass the filter. With a topic the trend counts
the analysed inbound messages carrying that topic label.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rapport.conversations.models import INBOUND, OUTBOUND
from rapport.reports.buckets import as_utc, raw_column
from rapport.reports.csvexport import CsvTable
from rapport.reports.filters import InsightFilter, Resolved, resolve
from rapport.reports.models import InsightBucket, InsightTopicBucket
from rapport.reports.timeseries import Bucket, bucket_axis, floor_to

TOP_TOPICS = 5


class TopicCount(BaseModel):
    topic: str
    messages: int
    negative: int


class SentimentMix(BaseModel):
    negative: int = 0
    neutral: int = 0
    positive: int = 0


class TrendBucket(BaseModel):
    start: datetime
    messages: int
    inbound: int
    outbound: int
    #: Messages with a stored analysis (the sentiment mix adds up to it).
    analysed: int
    sentiment: SentimentMix
    negative_share: float | None
    mean_score: float | None
    complaints: int
    reshares: int
    top_topics: list[TopicCount] = Field(default_factory=list)


class Trends(BaseModel):
    by: Bucket
    since: datetime | None
    until: datetime | None
    filter: InsightFilter
    buckets: list[TrendBucket]
    total_messages: int
    #: What the figures are computed from.
    source: str = "insight_bucket: hourly counts maintained on ingest"


def _empty_trends(by: Bucket, flt: InsightFilter, r: Resolved | None) -> Trends:
    return Trends(
        by=by,
        since=r.since if r else None,
        until=r.until if r else None,
        filter=flt,
        buckets=[],
        total_messages=0,
    )


def _sums(table: Any) -> list[Any]:
    cols = ["messages", "negative", "neutral", "positive", "score_sum"]
    if table is InsightBucket:
        cols = [*cols, "analysed", "complaints", "reshares"]
    return [func.sum(getattr(table, c)) for c in cols]


def compute_trends(
    session: Session,
    flt: InsightFilter | None = None,
    *,
    by: Bucket = "day",
    top_topics: int = TOP_TOPICS,
) -> Trends:
    """The trend of the messages ``flt`` selects, one bucket per ``by``."""
    flt = flt or InsightFilter()
    r = resolve(session, flt)
    if r.empty:
        return _empty_trends(by, flt, r)
    per: dict[datetime, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    starts = bucket_starts(by)
    if r.topic is None:
        rows = session.execute(
            select(raw_column(InsightBucket.hour), InsightBucket.direction, *_sums(InsightBucket))
            .where(*r.where(InsightBucket))
            .group_by(InsightBucket.hour, InsightBucket.direction)
        ).all()
        for hour, direction, n, neg, neu, pos, score, analysed, compl, resh in rows:
            cell = per[starts(hour)]
            cell["messages"] += n or 0
            cell[direction] += n or 0
            cell["negative"] += neg or 0
            cell["neutral"] += neu or 0
            cell["positive"] += pos or 0
            cell["score_sum"] += score or 0.0
            cell["analysed"] += analysed or 0
            cell["complaints"] += compl or 0
            cell["reshares"] += resh or 0
    else:
        rows = session.execute(
            select(raw_column(InsightTopicBucket.hour), *_sums(InsightTopicBucket))
            .where(*r.where(InsightTopicBucket))
            .group_by(InsightTopicBucket.hour)
        ).all()
        for hour, n, neg, neu, pos, score in rows:
            cell = per[starts(hour)]
            for key, value in (
                ("messages", n),
                (INBOUND, n),
                ("analysed", n),
                ("negative", neg),
                ("neutral", neu),
                ("positive", pos),
                ("score_sum", score),
            ):
                cell[key] += value or 0
    per = {k: v for k, v in per.items() if v.get("messages", 0) > 0}
    if not per:
        return _empty_trends(by, flt, r)
    topics = _top_topics(session, r, by, top_topics) if top_topics > 0 else {}
    axis = bucket_axis(sorted(per), by, r.since)
    buckets = []
    for start in axis:
        c = per.get(start, {})
        analysed = int(c.get("analysed", 0))
        buckets.append(
            TrendBucket(
                start=start,
                messages=int(c.get("messages", 0)),
                inbound=int(c.get(INBOUND, 0)),
                outbound=int(c.get(OUTBOUND, 0)),
                analysed=analysed,
                sentiment=SentimentMix(
                    negative=int(c.get("negative", 0)),
                    neutral=int(c.get("neutral", 0)),
                    positive=int(c.get("positive", 0)),
                ),
                negative_share=round(c.get("negative", 0) / analysed, 4) if analysed else None,
                mean_score=round(c.get("score_sum", 0.0) / analysed, 4) if analysed else None,
                complaints=int(c.get("complaints", 0)),
                reshares=int(c.get("reshares", 0)),
                top_topics=topics.get(start, []),
            )
        )
    return Trends(
        by=by,
        since=r.since,
        until=r.until,
        filter=flt,
        buckets=buckets,
        total_messages=sum(b.messages for b in buckets),
    )


def bucket_starts(by: Bucket) -> Any:
    """hour as read from the database → the start of its ``by`` bucket (memoised:
    thousands of rows share a few hundred hours)."""
    seen: dict[Any, datetime] = {}

    def start(hour: Any) -> datetime:
        found = seen.get(hour)
        if found is None:
            found = seen[hour] = floor_to(as_utc(hour), by)
        return found

    return start


def _top_topics(
    session: Session, r: Resolved, by: Bucket, limit: int
) -> dict[datetime, list[TopicCount]]:
    t = InsightTopicBucket
    starts = bucket_starts(by)
    rows = session.execute(
        select(raw_column(t.hour), t.topic, func.sum(t.messages), func.sum(t.negative))
        .where(*r.where(t))
        .group_by(t.topic, t.hour)
    ).all()
    counts: dict[datetime, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for hour, topic, n, neg in rows:
        cell = counts[starts(hour)][topic]
        cell[0] += int(n or 0)
        cell[1] += int(neg or 0)
    out: dict[datetime, list[TopicCount]] = {}
    for start, per_topic in counts.items():
        ranked = sorted(per_topic.items(), key=lambda kv: (-kv[1][0], kv[0]))[:limit]
        out[start] = [
            TopicCount(topic=topic, messages=n, negative=neg) for topic, (n, neg) in ranked if n > 0
        ]
    return out


def trends_tables(t: Trends) -> list[CsvTable]:
    buckets = CsvTable(
        "buckets",
        [
            "start",
            "messages",
            "inbound",
            "outbound",
            "analysed",
            "negative",
            "neutral",
            "positive",
            "negative_share",
            "mean_score",
            "complaints",
            "reshares",
        ],
        [
            [
                b.start,
                b.messages,
                b.inbound,
                b.outbound,
                b.analysed,
                b.sentiment.negative,
                b.sentiment.neutral,
                b.sentiment.positive,
                b.negative_share,
                b.mean_score,
                b.complaints,
                b.reshares,
            ]
            for b in t.buckets
        ],
    )
    topics = CsvTable(
        "topics",
        ["start", "rank", "topic", "messages", "negative"],
        [
            [b.start, rank, x.topic, x.messages, x.negative]
            for b in t.buckets
            for rank, x in enumerate(b.top_topics, 1)
        ],
    )
    return [buckets, topics]
