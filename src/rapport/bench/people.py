"""People benchmarks: `people list` / search p95 latency at 100,000 people and
1,000,000 messages, and health recomputation throughput, on SQLite and
PostgreSQL. The data is written through the bulk paths (COPY on PostgreSQL)
so the suite finishes in minutes; the baselines are the plainest DB-API
queries over the same tables, measured in the same run.
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
from typing import Any, cast

import psycopg
from sqlalchemy import Table
from sqlalchemy.orm import Session

from rapport.bench import BenchOptions, BenchResult, keeping_database_url
from rapport.bench.ingest import DEFAULT_PG_ADMIN

PEOPLE = 100_000
MESSAGES = 1_000_000
BRANDS = 40
REPEAT = 40
HEALTH_SAMPLE = 10_000

_FIRST = [
    "ana",
    "ben",
    "carla",
    "dev",
    "emma",
    "femi",
    "gus",
    "hana",
    "ivan",
    "jo",
    "kim",
    "lea",
    "marc",
    "nina",
    "omar",
    "pia",
    "quinn",
    "rosa",
    "sam",
    "tom",
    "uma",
    "vic",
]
_LAST = [
    "smith",
    "garcia",
    "martin",
    "rossi",
    "kowal",
    "nguyen",
    "tanaka",
    "silva",
    "dubois",
    "muller",
    "jensen",
    "kaya",
    "novak",
    "haddad",
    "okafor",
    "larsen",
    "moreau",
]
_WORDS = [
    "order",
    "refund",
    "late",
    "app",
    "crash",
    "thanks",
    "love",
    "bill",
    "help",
    "wifi",
    "delivery",
    "account",
    "password",
    "great",
    "terrible",
    "waiting",
    "update",
]


def _table(model: Any) -> Table:
    return cast(Table, model.__table__)


def _stamper(session: Session) -> Callable[[datetime], Any]:
    from rapport.storage.bulk import timestamp_writer

    return timestamp_writer(session)


def _maybe(ts: Callable[[datetime], Any], value: datetime | None) -> Any:
    return None if value is None else ts(value)


def _handle(i: int) -> str:
    return f"{_FIRST[i % len(_FIRST)]}_{_LAST[(i // len(_FIRST)) % len(_LAST)]}{i}"


def generate(url: str, people: int = PEOPLE, messages: int = MESSAGES, seed: int = 11) -> None:
    """Fill a migrated, empty database with people, brands and conversations."""
    import os

    from sqlalchemy import text

    from rapport.conversations.models import Account, Channel, Identity, Message, Thread
    from rapport.relationships.models import Person, PersonIdentity, PersonRole
    from rapport.settings import reset_settings_cache
    from rapport.storage.bulk import bulk_insert
    from rapport.storage.engine import dispose_engines, session_scope
    from rapport.storage.migrate import upgrade

    os.environ["RAPPORT_DATABASE_URL"] = url
    reset_settings_cache()
    dispose_engines()
    upgrade(url)
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    with session_scope(write=True) as s:
        stamp = _stamper(s)
        now = stamp(start)
        bulk_insert(
            s,
            _table(Channel),
            ("id", "name", "kind", "created_at"),
            [(1, "twitter", "import", now)],
        )
        idents = [(b + 1, 1, f"Brand{b}", f"brand{b}", now) for b in range(BRANDS)]
        idents += [(BRANDS + i + 1, 1, _handle(i), _handle(i), now) for i in range(people)]
        bulk_insert(
            s,
            _table(Identity),
            ("id", "channel_id", "handle", "handle_key", "created_at"),
            idents,
        )
        bulk_insert(
            s,
            _table(Account),
            ("id", "identity_id", "created_at"),
            [(b + 1, b + 1, now) for b in range(BRANDS)],
        )
    # Conversations: a customer message, and a brand reply to 40% of them.
    counts = [0] * people
    first: list[datetime | None] = [None] * people
    last: list[datetime | None] = [None] * people
    mid = 0
    tid = 0
    chunk = 100_000
    while mid < messages:
        threads: list[tuple[Any, ...]] = []
        rows: list[tuple[Any, ...]] = []
        target = min(messages, mid + chunk)
        while mid < target:
            person = (
                min(people - 1, int(rng.paretovariate(1.1) * 3) % people)
                if rng.random() < 0.3
                else rng.randrange(people)
            )
            when = start + timedelta(seconds=rng.randrange(90 * 86400))
            tid += 1
            mid += 1
            body = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(4, 14)))
            n = 1
            rows.append(
                (
                    mid,
                    1,
                    str(mid),
                    BRANDS + person + 1,
                    "inbound",
                    when,
                    f"@brand{person % BRANDS} {body}",
                    body,
                    None,
                    tid,
                )
            )
            counts[person] += 1
            seen_first, seen_last = first[person], last[person]
            first[person] = when if seen_first is None or when < seen_first else seen_first
            last[person] = when if seen_last is None or when > seen_last else seen_last
            if mid < target and rng.random() < 0.4:
                mid += 1
                n = 2
                reply_at = when + timedelta(seconds=rng.randrange(60, 7200))
                rows.append(
                    (
                        mid,
                        1,
                        str(mid),
                        person % BRANDS + 1,
                        "outbound",
                        reply_at,
                        f"@{_handle(person)} sorry, we are on it",
                        "reply",
                        str(mid - 1),
                        tid,
                    )
                )
            threads.append((tid, 1, when, when + timedelta(hours=2), n, when))
        with session_scope(write=True) as s:
            ts = _stamper(s)
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
                [(t, c, ts(a), ts(b), n, ts(d)) for t, c, a, b, n, d in threads],
            )
            bulk_insert(
                s,
                _table(Message),
                (
                    "id",
                    "channel_id",
                    "external_id",
                    "author_identity_id",
                    "direction",
                    "created_at",
                    "text",
                    "raw",
                    "parent_external_id",
                    "thread_id",
                    "meta",
                    "ingested_at",
                ),
                [
                    (m, c, e, a, d, ts(w), t, r, p, th, "{}", ts(w))
                    for m, c, e, a, d, w, t, r, p, th in rows
                ],
            )
    with session_scope(write=True) as s:
        ts = _stamper(s)
        now = ts(start)
        bulk_insert(
            s,
            _table(Person),
            (
                "id",
                "created_at",
                "status",
                "message_count",
                "first_seen_at",
                "last_seen_at",
                "search_key",
            ),
            [
                (
                    i + 1,
                    now,
                    "active",
                    counts[i],
                    _maybe(ts, first[i]),
                    _maybe(ts, last[i]),
                    _handle(i),
                )
                for i in range(people)
            ],
        )
        bulk_insert(
            s,
            _table(PersonIdentity),
            ("identity_id", "person_id", "linked_at", "source"),
            [(BRANDS + i + 1, i + 1, now, "auto") for i in range(people)],
        )
        roles = ["customer", "prospect", "advocate", "detractor", "influencer"]
        bulk_insert(
            s,
            _table(PersonRole),
            ("person_id", "role", "source", "reason", "actor", "updated_at"),
            [(i + 1, roles[i % 5], "manual", "bench", "bench", now) for i in range(0, people, 7)],
        )
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text("SELECT setval('person_id_seq', :n)"), {"n": people})
    from rapport.storage.engine import get_engine

    engine = get_engine(url)
    # What autovacuum would have done by the time anyone lists people.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE")


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _timed(fn: Callable[[], Any], repeat: int = REPEAT) -> dict[str, float]:
    fn()  # warm the caches
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": round(statistics.median(times), 2), "p95_ms": round(_p(times, 0.95), 2)}


def _raw_query(url: str) -> Callable[[str, tuple[Any, ...]], Any]:
    if url.startswith("sqlite"):
        import sqlite3

        lite = sqlite3.connect(url.split("///", 1)[1])

        def run_lite(sql: str, params: tuple[Any, ...]) -> Any:
            return lite.execute(sql.replace("%s", "?"), params).fetchall()

        return run_lite
    conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)

    def run_pg(sql: str, params: tuple[Any, ...]) -> Any:
        return conn.execute(sql, params).fetchall()

    return run_pg


def measure(name: str, url: str, people: int, messages: int) -> BenchResult:
    from rapport.relationships import queries, service
    from rapport.storage.engine import session_scope

    rng = random.Random(5)
    raw = _raw_query(url)
    figures: dict[str, Any] = {"people": people, "messages": messages}

    def ours(**kw: Any) -> Callable[[], Any]:
        def run() -> Any:
            with session_scope() as session:
                return queries.list_people(session, **kw)

        return run

    words = [f"{_FIRST[i]}_{_LAST[j]}" for i in range(3) for j in range(3)] + [
        "kaya",
        "rosa_",
        "1234",
        "emma_silva99",
    ]
    cases = {
        "list": (ours(limit=50), lambda: raw("SELECT id FROM person ORDER BY id LIMIT 50", ())),
        "list_page_100": (
            ours(limit=50, offset=5000),
            lambda: raw("SELECT id FROM person ORDER BY id LIMIT 50 OFFSET 5000", ()),
        ),
        "list_role": (
            ours(limit=50, role="advocate"),
            lambda: raw(
                "SELECT person_id FROM person_role WHERE role = %s LIMIT 50", ("advocate",)
            ),
        ),
    }
    for case, (fn, base) in cases.items():
        mine, theirs = _timed(fn), _timed(base)
        figures[f"{case}_p50_ms"] = mine["p50_ms"]
        figures[f"{case}_p95_ms"] = mine["p95_ms"]
        figures[f"{case}_baseline_p95_ms"] = theirs["p95_ms"]
    search_times, base_times = [], []
    for i in range(REPEAT):
        word = words[i % len(words)] if i % 2 else str(rng.randrange(people))[:4]
        with session_scope() as session:
            started = time.perf_counter()
            queries.list_people(session, q=word, limit=50)
            search_times.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        raw("SELECT count(*) FROM person WHERE search_key LIKE %s", (f"%{word}%",))
        base_times.append((time.perf_counter() - started) * 1000)
    figures["search_p50_ms"] = round(statistics.median(search_times), 2)
    figures["search_p95_ms"] = round(_p(search_times, 0.95), 2)
    figures["search_baseline_like_scan_p95_ms"] = round(_p(base_times, 0.95), 2)
    figures["goal_p95_ms"] = 50
    figures["list_and_search_under_goal"] = (
        max(figures["list_p95_ms"], figures["search_p95_ms"], figures["list_role_p95_ms"]) < 50
    )
    sample = sorted(rng.sample(range(1, people + 1), min(HEALTH_SAMPLE, people)))
    started = time.perf_counter()
    with session_scope(write=True) as session:
        done = service.do_recompute_health(session, sample)
    seconds = time.perf_counter() - started
    ids = ",".join(str(BRANDS + p) for p in sample)
    started = time.perf_counter()
    raw(
        "SELECT author_identity_id, count(*), min(created_at), max(created_at) FROM message "
        f"WHERE author_identity_id IN ({ids}) GROUP BY author_identity_id",
        (),
    )
    base_seconds = time.perf_counter() - started
    figures["health_people_per_s"] = round(done / seconds, 1)
    figures["health_baseline_aggregate_people_per_s"] = round(len(sample) / base_seconds, 1)
    figures["health_ratio_to_baseline"] = round((done / seconds) / (len(sample) / base_seconds), 4)
    return BenchResult(
        name=name,
        figures=figures,
        notes=f"{people:,} people, {messages:,} messages; p95 over {REPEAT} runs; baselines are "
        "plain DB-API queries on the same tables; health = facts + scoring + storage + role rules",
    )


def run(options: BenchOptions) -> list[BenchResult]:
    with keeping_database_url():
        return _run(options)


def _run(options: BenchOptions) -> list[BenchResult]:
    from rapport.storage.engine import dispose_engines

    people, messages = (
        (PEOPLE, MESSAGES) if options.size >= 200_000 else (options.size // 10, options.size)
    )
    results = []
    with tempfile.TemporaryDirectory(dir=options.work_dir) as tmp:
        url = f"sqlite:///{Path(tmp) / 'people.db'}"
        started = time.perf_counter()
        generate(url, people, messages)
        result = measure("people.sqlite", url, people, messages)
        result.figures["generate_seconds"] = round(time.perf_counter() - started, 1)
        results.append(result)
        dispose_engines()
    admin = (options.pg_url or DEFAULT_PG_ADMIN).replace("postgresql+psycopg://", "postgresql://")
    name = f"rapport_bench_people_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        results.append(BenchResult("people.postgresql", notes=f"skipped: {exc}"))
        return results
    url = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
    try:
        started = time.perf_counter()
        generate(url, people, messages)
        result = measure("people.postgresql", url, people, messages)
        result.figures["generate_seconds"] = round(time.perf_counter() - started, 1)
        results.append(result)
    finally:
        dispose_engines()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return results
