"""Trends from the hourly buckets, checked against counts made straight from
the airline CSV (no Rapport code), and the buckets kept on ingest checked
against a rebuild from the stored messages."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy import select

from rapport.analysis import engine
from rapport.analysis.queries import sentiment_topics_for
from rapport.analysis.service import do_store_analysis
from rapport.bench.datagen import write_twcs_like
from rapport.conversations.models import Message
from rapport.conversations.service import do_ingest_files
from rapport.reports.filters import InsightFilter
from rapport.reports.models import InsightBucket, InsightThreadHour, InsightTopicBucket
from rapport.reports.service import do_rebuild_buckets
from rapport.reports.trends import compute_trends
from rapport.storage.engine import session_scope
from tests.reports.conftest import AIRLINE


def airline_times() -> dict[str, datetime]:
    """tweet id → UTC time, first occurrence of each id (as an import keeps it)."""
    out: dict[str, datetime] = {}
    with AIRLINE.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["tweet_id"] not in out:
                out[row["tweet_id"]] = datetime.strptime(
                    row["tweet_created"], "%Y-%m-%d %H:%M:%S %z"
                ).astimezone(UTC)
    return out


def bucket_rows(session: Any) -> dict[str, set[tuple[Any, ...]]]:
    out = {}
    for table in (InsightBucket, InsightTopicBucket, InsightThreadHour):
        cols = list(table.__table__.columns)  # type: ignore[attr-defined]
        out[table.__tablename__] = {
            tuple(round(v, 6) if isinstance(v, float) else v for v in row)
            for row in session.execute(select(*cols)).all()
        }
    return out


def test_daily_buckets_add_up_to_the_tweets_of_each_day(airline, cli) -> None:
    times = airline_times()
    per_day = Counter(t.date().isoformat() for t in times.values())
    result = cli("insights", "trends", "--by", "day", "--json")
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    got = {b["start"][:10]: b["messages"] for b in doc["buckets"]}
    assert got == dict(per_day)
    assert doc["total_messages"] == len(times)
    for b in doc["buckets"]:
        mix = b["sentiment"]
        assert mix["negative"] + mix["neutral"] + mix["positive"] == b["analysed"] == b["messages"]
        assert len(b["top_topics"]) <= 5


def test_an_hour_range_counts_whole_hours_and_matches_an_independent_count(airline, cli) -> None:
    times = airline_times()
    since = datetime(2015, 2, 22, 17, 25, tzinfo=UTC)
    until = datetime(2015, 2, 23, 3, 5, tzinfo=UTC)
    lo, hi = datetime(2015, 2, 22, 17, tzinfo=UTC), datetime(2015, 2, 23, 4, tzinfo=UTC)
    expected = Counter(
        t.replace(minute=0, second=0).isoformat() for t in times.values() if lo <= t < hi
    )
    result = cli(
        "insights", "trends", "--by", "hour", "--since", since.isoformat(),
        "--until", until.isoformat(), "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    assert len(doc["buckets"]) == 11
    got = {datetime.fromisoformat(b["start"]).isoformat(): b["messages"] for b in doc["buckets"]}
    assert {k: v for k, v in got.items() if v} == dict(expected)
    assert doc["total_messages"] == sum(expected.values())


def test_week_buckets_start_on_monday(airline) -> None:
    with session_scope() as session:
        t = compute_trends(session, by="week")
    assert [b.start.weekday() for b in t.buckets] == [0, 0]
    assert sum(b.messages for b in t.buckets) == len(airline_times())


def test_empty_ranges_and_unknown_channels_give_empty_trends(airline, cli) -> None:
    for args in (
        ("--since", "2030-01-01", "--until", "2030-02-01"),
        ("--since", "2015-02-20", "--until", "2015-02-19"),
        ("--channel", "no-such-channel"),
        ("--brand", "nobody"),
        ("--topic", "no such topic"),
    ):
        result = cli("insights", "trends", *args, "--json")
        assert result.exit_code == 0, (args, result.stderr)
        assert result.json()["buckets"] == [] and result.json()["total_messages"] == 0


def test_an_unknown_listening_query_is_refused(airline, cli) -> None:
    result = cli("insights", "trends", "--query", "nope", "--json")
    assert result.exit_code == 1
    assert "no listening query named 'nope'" in result.stderr


def test_brand_and_topic_filters_match_the_messages_they_name(airline) -> None:
    with session_scope() as session:
        rows = session.execute(select(Message.id, Message.text)).all()
        analysis = sentiment_topics_for(session, [r[0] for r in rows])
        united = compute_trends(session, InsightFilter(brand="@United"), top_topics=0)
        labels = Counter(label for a in analysis.values() for label in set(a.topics))
        topic, n = labels.most_common(1)[0]
        by_topic = compute_trends(session, InsightFilter(topic=topic), top_topics=0)
    handles = (
        "@united",
        "@americanair",
        "@usairways",
        "@jetblue",
        "@southwestair",
        "@virginamerica",
    )

    def first_brand(text: str) -> str | None:
        lowered = text.casefold()
        found = [(lowered.find(h), h) for h in handles if _mentions(lowered, h)]
        return min(found)[1] if found else None

    assert united.total_messages == sum(1 for _, t in rows if first_brand(t) == "@united")
    assert by_topic.total_messages == n
    assert all(b.inbound == b.messages for b in by_topic.buckets)


def _mentions(lowered: str, handle: str) -> bool:
    at = lowered.find(handle)
    while at >= 0:
        end = at + len(handle)
        if end == len(lowered) or not (lowered[end].isalnum() or lowered[end] == "_"):
            return True
        at = lowered.find(handle, at + 1)
    return False


def test_buckets_kept_on_ingest_equal_a_rebuild(airline) -> None:
    with session_scope() as session:
        kept = bucket_rows(session)
    with session_scope(write=True) as session:
        do_rebuild_buckets(session)
    with session_scope() as session:
        rebuilt = bucket_rows(session)
    assert kept == rebuilt
    assert kept["insight_bucket"]


def test_reanalysis_moves_counts_between_sentiments(airline) -> None:
    with session_scope() as session:
        ids = list(session.execute(select(Message.id).order_by(Message.id).limit(40)).scalars())
        before = compute_trends(session, top_topics=0)
        old = sentiment_topics_for(session, ids)
    flipped = [
        (
            mid,
            engine.Result(
                language="en",
                sentiment="negative",
                sentiment_score=-0.9,
                sentiment_confidence=1.0,
                intent="complaint",
                intent_confidence=1.0,
                urgency=0.5,
                topics=["a test topic"],
                topic_ids=[],
                evidence={},
                methods={},
                versions={},
                tier="fast",
            ),
        )
        for mid in ids
    ]
    with session_scope(write=True) as session:
        do_store_analysis(session, flipped, model_version="test", replace=True)
    with session_scope() as session:
        after = compute_trends(session, top_topics=0)
        topic = compute_trends(session, InsightFilter(topic="a test topic"), top_topics=0)
        kept = bucket_rows(session)
    was_negative = sum(1 for a in old.values() if a.sentiment == "negative")
    negatives = sum(b.sentiment.negative for b in after.buckets)
    assert negatives == sum(b.sentiment.negative for b in before.buckets) + 40 - was_negative
    assert after.total_messages == before.total_messages
    assert topic.total_messages == 40
    with session_scope(write=True) as session:
        do_rebuild_buckets(session)
    with session_scope() as session:
        assert bucket_rows(session) == kept


def test_thread_activity_follows_threads_that_merge(db, tmp_path) -> None:
    path = tmp_path / "threads.csv"
    write_twcs_like(path, 600, seed=3, brands=4)
    rows = list(csv.reader(path.open(encoding="utf-8")))
    header, body = rows[0], rows[1:]
    # Replies first, parents later, in separate batches: threads are merged.
    first = tmp_path / "replies.csv"
    second = tmp_path / "parents.csv"
    for target, part in ((first, body[1::2]), (second, body[0::2])):
        with target.open("w", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerows([header, *part])
    do_ingest_files([first], fmt="twcs")
    do_ingest_files([second], fmt="twcs")
    with session_scope() as session:
        per_thread = Counter(session.execute(select(Message.thread_id)).scalars())
        activity = Counter()
        for tid, n in session.execute(
            select(InsightThreadHour.thread_id, InsightThreadHour.messages)
        ):
            activity[tid] += n
        kept = bucket_rows(session)
    assert activity == per_thread
    with session_scope(write=True) as session:
        do_rebuild_buckets(session)
    with session_scope() as session:
        assert bucket_rows(session) == kept


def test_a_database_filled_before_the_buckets_is_counted_on_first_use(airline, cli) -> None:
    with session_scope(write=True) as session:
        from rapport.reports import buckets

        buckets.clear(session)
    result = cli("insights", "trends", "--json")
    assert result.exit_code == 0
    assert result.json()["total_messages"] == len(airline_times())
    assert "counting stored messages" in result.stderr


def test_day_axis_has_no_gaps(airline) -> None:
    with session_scope() as session:
        t = compute_trends(session, top_topics=0)
    starts = [b.start for b in t.buckets]
    assert all(b - a == timedelta(days=1) for a, b in pairwise(starts))
