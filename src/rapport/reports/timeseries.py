"""Volume and sentiment over time, per channel: the dashboards' time series.

One query function per series, shared by the API and the dashboards. Buckets
are UTC hours, days or ISO weeks (starting Monday); every bucket between the
first and the last is present, so a quiet day shows as zero. Without a range
the series covers the last ``DEFAULT_DAYS`` days that hold data.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, literal_column, select
from sqlalchemy.orm import Session

from rapport.analysis.queries import SENTIMENTS, analyses_for
from rapport.conversations.models import INBOUND, Channel, Message
from rapport.errors import RapportError
from rapport.storage.engine import is_sqlite

Bucket = Literal["hour", "day", "week"]
BUCKETS: tuple[Bucket, ...] = ("hour", "day", "week")
DEFAULT_DAYS = 60
#: A series never has more buckets than this (a wider range is refused).
MAX_BUCKETS = 5000
STEP = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}


class SeriesRange(BaseModel):
    bucket: Bucket = "day"
    since: datetime | None = None
    until: datetime | None = None
    channel: str | None = None


class ChannelVolume(BaseModel):
    channel: str
    #: Counts per bucket, aligned with `VolumeSeries.buckets`.
    inbound: list[int]
    outbound: list[int]


class VolumeSeries(BaseModel):
    bucket: Bucket
    since: datetime | None
    until: datetime | None
    buckets: list[datetime]
    channels: list[ChannelVolume]


class ChannelSentiment(BaseModel):
    channel: str
    #: Analysed inbound messages per sentiment, per bucket.
    negative: list[int]
    neutral: list[int]
    positive: list[int]
    #: Mean sentiment score per bucket (None where nothing was analysed).
    mean_score: list[float | None]


class SentimentSeries(BaseModel):
    bucket: Bucket
    since: datetime | None
    until: datetime | None
    buckets: list[datetime]
    channels: list[ChannelSentiment]
    #: Inbound messages in range, and how many of them have a stored analysis.
    inbound_messages: int
    analysed_messages: int


class SeriesError(RapportError):
    """A range that would make too many buckets."""


def _bucket_key(session: Session, bucket: Bucket) -> ColumnElement[str]:
    """A text key per bucket, computed in the database: `YYYY-MM-DD[THH]`."""
    col = Message.created_at
    if is_sqlite(session):
        # SQLite stores the UTC wall time as 'YYYY-MM-DD HH:MM:SS[.ffffff]'.
        if bucket == "hour":
            return func.substr(col, 1, 13)
        if bucket == "day":
            return func.substr(col, 1, 10)
        return func.date(col, "weekday 0", "-6 days")
    utc = col.op("AT TIME ZONE")(literal_column("'UTC'"))
    fmt = "YYYY-MM-DD HH24" if bucket == "hour" else "YYYY-MM-DD"
    return func.to_char(func.date_trunc(bucket, utc), fmt)


def _parse_key(key: str, bucket: Bucket) -> datetime:
    key = key.replace("T", " ")
    if bucket == "hour":
        return datetime.strptime(key[:13], "%Y-%m-%d %H").replace(tzinfo=UTC)
    return datetime.strptime(key[:10], "%Y-%m-%d").replace(tzinfo=UTC)


def floor_to(when: datetime, bucket: Bucket) -> datetime:
    when = when.astimezone(UTC)
    if bucket == "hour":
        return when.replace(minute=0, second=0, microsecond=0)
    day = when.replace(hour=0, minute=0, second=0, microsecond=0)
    if bucket == "week":
        day -= timedelta(days=day.weekday())
    return day


def _resolve(session: Session, rng: SeriesRange) -> tuple[datetime | None, datetime | None]:
    """The range to cover: as given, or the last DEFAULT_DAYS days with data."""
    since, until = rng.since, rng.until
    if since is None:
        last = until or session.execute(select(func.max(Message.created_at))).scalar_one()
        if last is None:
            return None, until
        since = floor_to(last, "day") - timedelta(days=DEFAULT_DAYS - 1)
    return since, until


def _where(
    session: Session, rng: SeriesRange
) -> tuple[list[Any], datetime | None, datetime | None]:
    since, until = _resolve(session, rng)
    where: list[Any] = []
    if since is not None:
        where.append(Message.created_at >= since)
    if until is not None:
        where.append(Message.created_at < until)
    if rng.channel:
        where.append(Channel.name == rng.channel)
    return where, since, until


def bucket_axis(keys: Sequence[datetime], bucket: Bucket, since: datetime | None) -> list[datetime]:
    """Every bucket from the first (or ``since``) to the last key."""
    if not keys:
        return []
    start = floor_to(since, bucket) if since is not None else min(keys)
    start = min(start, min(keys))
    end = max(keys)
    n = int((end - start) / STEP[bucket]) + 1
    if n > MAX_BUCKETS:
        raise SeriesError(
            f"{n} {bucket} buckets is too many (at most {MAX_BUCKETS}): "
            "narrow the range or use a wider bucket"
        )
    axis, at = [], start
    while at <= end:
        axis.append(at)
        at += STEP[bucket]
    return axis


def volume_over_time(session: Session, rng: SeriesRange | None = None) -> VolumeSeries:
    """Messages per bucket and channel, inbound and outbound."""
    rng = rng or SeriesRange()
    where, since, until = _where(session, rng)
    key = _bucket_key(session, rng.bucket).label("k")
    rows = session.execute(
        select(Channel.name, key, Message.direction, func.count())
        .join(Channel, Channel.id == Message.channel_id)
        .where(*where)
        .group_by(Channel.name, key, Message.direction)
    ).all()
    counts: dict[str, dict[datetime, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for channel, k, direction, n in rows:
        counts[channel][_parse_key(str(k), rng.bucket)][direction] = int(n)
    axis = bucket_axis([b for per in counts.values() for b in per], rng.bucket, since)
    channels = [
        ChannelVolume(
            channel=name,
            inbound=[counts[name].get(b, {}).get(INBOUND, 0) for b in axis],
            outbound=[counts[name].get(b, {}).get("outbound", 0) for b in axis],
        )
        for name in sorted(counts)
    ]
    return VolumeSeries(
        bucket=rng.bucket, since=since, until=until, buckets=axis, channels=channels
    )


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def sentiment_over_time(session: Session, rng: SeriesRange | None = None) -> SentimentSeries:
    """Inbound sentiment per bucket and channel, from the stored analysis
    (`rapport.analysis.queries.analyses_for`); unanalysed messages are left
    out and counted apart, so an empty series says "not analysed yet"."""
    rng = rng or SeriesRange()
    where, since, until = _where(session, rng)
    key = _bucket_key(session, rng.bucket).label("k")
    rows = session.execute(
        select(Message.id, Channel.name, key)
        .join(Channel, Channel.id == Message.channel_id)
        .where(Message.direction == INBOUND, *where)
    ).all()
    found = {}
    for chunk in _chunks([int(r[0]) for r in rows], 5000):
        found.update(analyses_for(session, chunk))
    counts: dict[str, dict[datetime, dict[str, int]]] = defaultdict(
        lambda: defaultdict(lambda: dict.fromkeys(SENTIMENTS, 0))
    )
    scores: dict[str, dict[datetime, list[float]]] = defaultdict(lambda: defaultdict(list))
    for mid, channel, k in rows:
        analysis = found.get(int(mid))
        if analysis is None:
            continue
        b = _parse_key(str(k), rng.bucket)
        counts[channel][b][analysis.sentiment] += 1
        scores[channel][b].append(analysis.sentiment_score)
    axis = bucket_axis([b for per in counts.values() for b in per], rng.bucket, since)
    channels = []
    for name in sorted(counts):
        per = counts[name]
        channels.append(
            ChannelSentiment(
                channel=name,
                negative=[per[b]["negative"] if b in per else 0 for b in axis],
                neutral=[per[b]["neutral"] if b in per else 0 for b in axis],
                positive=[per[b]["positive"] if b in per else 0 for b in axis],
                mean_score=[
                    round(sum(s) / len(s), 4) if (s := scores[name].get(b)) else None for b in axis
                ],
            )
        )
    return SentimentSeries(
        bucket=rng.bucket,
        since=since,
        until=until,
        buckets=axis,
        channels=channels,
        inbound_messages=len(rows),
        analysed_messages=len(found),
    )
