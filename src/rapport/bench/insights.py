"""Insights at 1,000,000 messages, SQLite and PostgreSQL: trends and alerts
read from the hourly buckets kept on ingest, each against a baseline
measured in the same run — the same figures computed by a plain GROUP BY
over `message` (joined to its analysis and mentions), the way they would
be computed without the buckets.

The data: `people.generate` (100,000 people, 40 brand accounts, 90 days of
conversations, 40 % answered), plus the mention rows, a fast-tier-shaped
analysis row per message (sentiment, intent, one of 15 topic labels) and a
burst of 3,000 messages at one brand, all through the bulk paths; then the
buckets are built by `do_rebuild_buckets` — the same `apply` the ingest
hook runs per batch — and that build is timed too.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from rapport.bench import BenchOptions, BenchResult
from rapport.bench.ingest import DEFAULT_PG_ADMIN
from rapport.bench.people import _raw_query, _table, generate

MESSAGES = 1_000_000
PEOPLE = 100_000
REPEAT = 5
#: The GROUP BY baselines read every message: fewer runs (each takes seconds).
BASELINE_REPEAT = 2
TOPICS = [f"topic {i} · words" for i in range(15)]
SENTIMENTS = ["negative"] * 4 + ["neutral"] * 3 + ["positive"] * 3
INTENTS = ["complaint", "question", "request", "praise", "feedback", "chatter"]
BURST_BRAND = "brand3"
BURST = 3000


def _enrich(url: str, people: int, seed: int = 5) -> None:
    """Mentions, analysis rows and a burst, as ingest + analysis would leave them."""
    import json

    from sqlalchemy import func, select

    from rapport.analysis.models import MessageAnalysis
    from rapport.conversations.models import Message, MessageMention, Thread
    from rapport.storage.bulk import bulk_insert, timestamp_writer
    from rapport.storage.engine import session_scope

    rng = random.Random(seed)
    with session_scope(write=True) as s:
        ts = timestamp_writer(s)
        last_id = int(s.execute(select(func.max(Message.id))).scalar_one())
        last_thread = int(s.execute(select(func.max(Thread.id))).scalar_one())
        burst_at = datetime(2024, 3, 1, 14, tzinfo=UTC)
        threads, rows = [], []
        for i in range(BURST):
            mid, tid = last_id + i + 1, last_thread + i + 1
            when = burst_at + timedelta(seconds=rng.randrange(3 * 3600))
            threads.append((tid, 1, ts(when), ts(when), 1, ts(when)))
            rows.append(
                (mid, 1, str(mid), 41 + i % people, "inbound", ts(when),
                 f"@{BURST_BRAND} down again?!", "burst", None, tid, "{}", ts(when))
            )  # fmt: skip
        bulk_insert(
            s,
            _table(Thread),
            (
                "id",
                "channel_id",
                "first_message_at",
                "last_message_at",
                "message_count",
                "created_at",
            ),
            threads,
        )
        bulk_insert(
            s,
            _table(Message),
            ("id", "channel_id", "external_id", "author_identity_id", "direction", "created_at",
             "text", "raw", "parent_external_id", "thread_id", "meta", "ingested_at"),
            rows,
        )  # fmt: skip
    last = 0
    while True:
        with session_scope(write=True) as s:
            ts = timestamp_writer(s)
            now = ts(datetime(2024, 1, 1, tzinfo=UTC))
            chunk = s.execute(
                select(Message.id, Message.direction, Message.text)
                .where(Message.id > last)
                .order_by(Message.id)
                .limit(50_000)
            ).all()
            if not chunk:
                break
            last = int(chunk[-1][0])
            mentions, analysis = [], []
            for mid, direction, text in chunk:
                handle = text.split(" ", 1)[0].lstrip("@").casefold()
                mentions.append((mid, handle))
                sentiment = rng.choice(SENTIMENTS)
                if text.startswith(f"@{BURST_BRAND} down"):
                    sentiment = "negative"
                score = {"negative": -0.6, "neutral": 0.0, "positive": 0.6}[sentiment]
                topics = [rng.choice(TOPICS)] if direction == "inbound" else []
                analysis.append(
                    (mid, "en", sentiment, score, rng.choice(INTENTS), 0.8, 0.3, None,
                     json.dumps(topics, ensure_ascii=False), "{}", "fast", "bench", now)
                )  # fmt: skip
            bulk_insert(s, _table(MessageMention), ("message_id", "handle_key"), mentions)
            bulk_insert(
                s,
                _table(MessageAnalysis),
                ("message_id", "language", "sentiment", "sentiment_score", "intent",
                 "intent_confidence", "urgency", "topic_id", "topics", "evidence", "tier",
                 "model_version", "analyzed_at"),
                analysis,
            )  # fmt: skip


def _median_s(fn: Callable[[], Any], repeat: int = REPEAT) -> float:
    fn()  # warm the caches
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times), 4)


def _baselines(url: str) -> dict[str, str]:
    """Plain GROUP BY queries computing the same figures from `message`."""
    if url.startswith("sqlite"):
        day, hour = "substr(m.created_at, 1, 10)", "substr(m.created_at, 1, 13)"
        topic = "a.topics LIKE '%' || %s || '%'"
    else:
        day = "date_trunc('day', m.created_at AT TIME ZONE 'UTC')"
        hour = "date_trunc('hour', m.created_at AT TIME ZONE 'UTC')"
        topic = "a.topics::text LIKE '%%' || %s || '%%'"
    mix = (
        "count(*), sum(CASE WHEN a.sentiment = 'negative' THEN 1 ELSE 0 END), "
        "sum(CASE WHEN a.sentiment = 'neutral' THEN 1 ELSE 0 END), "
        "sum(CASE WHEN a.sentiment = 'positive' THEN 1 ELSE 0 END)"
    )
    return {
        "trend_day": f"SELECT {day}, {mix} FROM message m "
        "LEFT JOIN message_analysis a ON a.message_id = m.id GROUP BY 1",
        "trend_hour_brand": f"SELECT {hour}, {mix} FROM message m "
        "JOIN message_mention mm ON mm.message_id = m.id AND mm.handle_key = %s "
        "LEFT JOIN message_analysis a ON a.message_id = m.id GROUP BY 1",
        "trend_topic": f"SELECT {day}, {mix} FROM message m "
        f"JOIN message_analysis a ON a.message_id = m.id WHERE {topic} GROUP BY 1",
        "alerts": f"SELECT {hour}, mm.handle_key, {mix} FROM message m "
        "JOIN message_mention mm ON mm.message_id = m.id "
        "LEFT JOIN message_analysis a ON a.message_id = m.id "
        "WHERE m.direction = 'inbound' GROUP BY 1, 2",
    }


def _analyze(url: str) -> None:
    """Planner statistics, as autovacuum (PostgreSQL) or an operator's ANALYZE
    (SQLite) would have them by the time anyone reads a dashboard."""
    if url.startswith("sqlite"):
        import sqlite3

        lite = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
        try:
            lite.execute("ANALYZE")
        finally:
            lite.close()
        return
    with psycopg.connect(
        url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
    ) as conn:
        conn.execute("VACUUM ANALYZE")


def measure(name: str, url: str, messages: int) -> BenchResult:
    from rapport.reports.alerts import compute_alerts
    from rapport.reports.filters import InsightFilter
    from rapport.reports.service import do_rebuild_buckets
    from rapport.reports.trends import compute_trends
    from rapport.storage.engine import session_scope

    started = time.perf_counter()
    with session_scope(write=True) as s:
        counted = do_rebuild_buckets(s)
    build = time.perf_counter() - started
    _analyze(url)
    raw = _raw_query(url)
    base = _baselines(url)
    figures: dict[str, Any] = {
        "messages": counted,
        "bucket_build_seconds": round(build, 1),
        "bucket_build_msg_per_s": round(counted / build) if build else None,
    }

    def ours(fn: Callable[[Any], Any]) -> Callable[[], Any]:
        def call() -> Any:
            with session_scope() as s:
                return fn(s)

        return call

    cases: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
        (
            "trend_day",
            ours(lambda s: compute_trends(s, by="day")),
            lambda: raw(base["trend_day"], ()),
        ),
        (
            "trend_hour_brand",
            ours(lambda s: compute_trends(s, InsightFilter(brand=BURST_BRAND), by="hour")),
            lambda: raw(base["trend_hour_brand"], (BURST_BRAND,)),
        ),
        (
            "trend_topic",
            ours(lambda s: compute_trends(s, InsightFilter(topic=TOPICS[2]), by="day")),
            lambda: raw(base["trend_topic"], (TOPICS[2],)),
        ),
        (
            "alerts",
            ours(lambda s: compute_alerts(s)),
            lambda: raw(base["alerts"], ()),
        ),
    ]
    for key, mine, baseline in cases:
        a, b = _median_s(mine), _median_s(baseline, repeat=BASELINE_REPEAT)
        figures[f"{key}_seconds"] = a
        figures[f"{key}_baseline_groupby_seconds"] = b
        figures[f"{key}_speedup_vs_groupby"] = round(b / a, 1) if a else None
    with session_scope() as s:
        found = compute_alerts(s)
    figures["alerts_found"] = len(found.alerts)
    figures["burst_found"] = any(
        a.scope == f"brand:{BURST_BRAND}" and a.start.date().isoformat() == "2024-03-01"
        for a in found.alerts
    )
    return BenchResult(
        name=name,
        figures=figures,
        notes=f"{messages:,} messages over 90 days, 40 brands; median of {REPEAT} runs "
        f"({BASELINE_REPEAT} for the baselines) after a warm-up run; "
        "baseline: the same figures by GROUP BY over message",
    )


def run(options: BenchOptions) -> list[BenchResult]:
    import os

    from rapport.settings import reset_settings_cache
    from rapport.storage.engine import dispose_engines

    messages = MESSAGES if options.size == BenchOptions().size else options.size
    people = min(PEOPLE, max(1000, messages // 10))
    saved = os.environ.get("RAPPORT_DATABASE_URL")
    results = []
    try:
        with tempfile.TemporaryDirectory(dir=options.work_dir) as tmp:
            url = f"sqlite:///{Path(tmp) / 'insights.db'}"
            generate(url, people, messages)
            _enrich(url, people)
            results.append(measure("insights.sqlite", url, messages))
            dispose_engines()
        admin = (options.pg_url or DEFAULT_PG_ADMIN).replace(
            "postgresql+psycopg://", "postgresql://"
        )
        name = f"rapport_bench_insights_{uuid.uuid4().hex[:8]}"
        try:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
        except psycopg.OperationalError as exc:
            results.append(BenchResult("insights.postgresql", notes=f"skipped: {exc}"))
            return results
        url = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
        try:
            generate(url, people, messages)
            _enrich(url, people)
            results.append(measure("insights.postgresql", url, messages))
        finally:
            dispose_engines()
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        if saved is None:
            os.environ.pop("RAPPORT_DATABASE_URL", None)
        else:
            os.environ["RAPPORT_DATABASE_URL"] = saved
        reset_settings_cache()
    return results
