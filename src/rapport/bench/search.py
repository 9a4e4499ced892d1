"""Search benchmarks (`rapport bench --only search`), on SQLite and PostgreSQL:

- p50/p95 of `search_messages` (count, ranked page of 20, snippets,
  evidence) at 1,000,000 messages, for a mix of queries: a common word, a
  word, a phrase, AND, OR with parentheses, NOT, a prefix, and a word with
  channel and date filters. Baselines measured in the same run: the raw
  index query alone (FTS5 ``MATCH ... ORDER BY rank LIMIT 20``; ``@@ ...
  ORDER BY ts_rank_cd LIMIT 20``) and a ``LIKE`` scan counting the same
  words in the text (what a database without the index does).
- The index's cost at ingest: the same file imported with the full-text
  index and without it (the ``search`` migration branch taken down), each in
  a fresh process.

The messages are written through `rapport.bench.people.generate` (bulk
paths; the index triggers run as on any insert); their texts are drawn from
a word-bigram model of the 5,000 real TWCS tweets of the demo, so word
frequencies are those of real support conversations.
"""

from __future__ import annotations

import csv
import random
import statistics
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import psycopg

from rapport.bench import BenchOptions, BenchResult, keeping_database_url
from rapport.bench.datagen import write_twcs_like
from rapport.bench.ingest import DEFAULT_PG_ADMIN, _drop_pg, _pg_database, _probe
from rapport.bench.people import _p, _raw_query, generate

MESSAGES = 1_000_000
PEOPLE = 20_000
INGEST_SAMPLE = 50_000
REPEAT = 15
GOAL_MS = 100

#: (case, query, LIKE patterns all required, LIKE patterns excluded, any-of groups)
CASES: list[tuple[str, str, list[str], list[str], list[str]]] = [
    ("common_word", "help", ["%help%"], [], []),
    ("word", "refund", ["%refund%"], [], []),
    ("phrase", '"customer service"', ["%customer service%"], [], []),
    ("and", "order delivery", ["%order%", "%delivery%"], [], []),
    ("or_parens", "(flight OR trip) delayed", ["%delayed%"], [], ["%flight%", "%trip%"]),
    ("not", "refund NOT amazon", ["%refund%"], ["%amazon%"], []),
    ("prefix", "cancel*", ["%cancel%"], [], []),
    ("filtered", "refund", ["%refund%"], [], []),
]


def bigram_texts(seed_path: Path | None = None) -> Callable[[random.Random], str]:
    """A sampler of tweet-like texts from a word-bigram model of the demo."""
    from rapport.demo import demo_path

    follows: dict[str, list[str]] = defaultdict(list)
    starts: list[str] = []
    with (seed_path or demo_path()).open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            words = row["text"].split()
            if not words:
                continue
            starts.append(words[0])
            for a, b in zip(words, [*words[1:], ""], strict=True):
                follows[a].append(b)

    def sample(rng: random.Random) -> str:
        word = rng.choice(starts)
        out = [word]
        while len(out) < 40:
            word = rng.choice(follows[word]) if follows[word] else ""
            if not word:
                break
            out.append(word)
        return " ".join(out)

    return sample


def _like_sql(required: list[str], excluded: list[str], any_of: list[str]) -> tuple[str, list[str]]:
    parts = ["lower(text) LIKE %s" for _ in required]
    parts += ["lower(text) NOT LIKE %s" for _ in excluded]
    if any_of:
        parts.append("(" + " OR ".join("lower(text) LIKE %s" for _ in any_of) + ")")
    return "SELECT count(*) FROM message WHERE " + " AND ".join(parts), [
        *required,
        *excluded,
        *any_of,
    ]


def _timed(fn: Callable[[], Any]) -> list[float]:
    fn()  # warm the caches
    times = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return times


def measure(name: str, url: str, messages: int) -> BenchResult:
    from rapport.conversations.querylang import parse, to_fts5, to_tsquery
    from rapport.conversations.search import SearchFilters, search_messages
    from rapport.storage.engine import session_scope

    raw = _raw_query(url)
    sqlite = url.startswith("sqlite")
    figures: dict[str, Any] = {"messages": messages}
    ours_all: list[float] = []
    index_all: list[float] = []
    like_all: list[float] = []
    since = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=60)
    for case, query, required, excluded, any_of in CASES:
        filters = SearchFilters(channel="twitter", since=since) if case == "filtered" else None

        def ours(query: str = query, filters: SearchFilters | None = filters) -> Any:
            with session_scope() as session:
                return search_messages(session, query, filters, limit=20)

        parsed = parse(query)
        if sqlite:
            index_sql = (
                "SELECT rowid FROM message_fts WHERE message_fts MATCH %s ORDER BY rank LIMIT 20"
            )
            index_params: tuple[Any, ...] = (to_fts5(parsed),)
        else:
            with session_scope() as session:
                from sqlalchemy import select

                tsquery_text = str(session.execute(select(to_tsquery(parsed))).scalar_one())
            index_sql = (
                "SELECT id FROM message, to_tsquery('simple', %s) q WHERE search_vector @@ q "
                "ORDER BY ts_rank_cd(search_vector, q) DESC LIMIT 20"
            )
            index_params = (tsquery_text,)
        like_sql, like_params = _like_sql(required, excluded, any_of)
        mine = _timed(ours)
        index = _timed(partial(raw, index_sql, index_params))
        like = _timed(partial(raw, like_sql, tuple(like_params)))
        ours_all += mine
        index_all += index
        like_all += like
        figures[f"{case}_total"] = ours().total
        figures[f"{case}_p95_ms"] = round(_p(mine, 0.95), 2)
        figures[f"{case}_raw_index_p95_ms"] = round(_p(index, 0.95), 2)
        figures[f"{case}_like_scan_p95_ms"] = round(_p(like, 0.95), 2)
    figures["search_p50_ms"] = round(statistics.median(ours_all), 2)
    figures["search_p95_ms"] = round(_p(ours_all, 0.95), 2)
    figures["baseline_raw_index_p95_ms"] = round(_p(index_all, 0.95), 2)
    figures["baseline_like_scan_p95_ms"] = round(_p(like_all, 0.95), 2)
    figures["ratio_to_raw_index"] = round(
        figures["search_p95_ms"] / figures["baseline_raw_index_p95_ms"], 2
    )
    figures["speedup_vs_like_scan"] = round(
        figures["baseline_like_scan_p95_ms"] / figures["search_p95_ms"], 1
    )
    figures["goal_p95_ms"] = GOAL_MS
    figures["under_goal"] = figures["search_p95_ms"] < GOAL_MS
    return BenchResult(
        name=name,
        figures=figures,
        notes=f"{messages:,} messages; p95 over {REPEAT} runs of each of {len(CASES)} queries; "
        "ours = count + ranked page of 20 + snippets + evidence",
    )


def _ingest_cost(
    name: str, url_for: Callable[[], tuple[str, Callable[[], None]]], data: Path
) -> BenchResult:
    rates = {}
    for mode in ("ingest-unindexed", "ingest"):
        url, cleanup = url_for()
        try:
            out = _probe(mode, url, data)
        finally:
            cleanup()
        rates[mode] = out["rows"] / out["seconds"] if out["seconds"] else 0.0
    indexed, plain = rates["ingest"], rates["ingest-unindexed"]
    return BenchResult(
        name=name,
        figures={
            "messages": INGEST_SAMPLE,
            "ingest_msg_per_s_with_index": round(indexed),
            "baseline_ingest_msg_per_s_without_index": round(plain),
            "ratio_to_baseline": round(indexed / plain, 3) if plain else None,
        },
        notes="the same TWCS-shaped file imported with and without the full-text index",
    )


def run(options: BenchOptions) -> list[BenchResult]:
    with keeping_database_url():
        return _run(options)


def _run(options: BenchOptions) -> list[BenchResult]:
    from rapport.storage.engine import dispose_engines

    messages = MESSAGES if options.size >= 200_000 else options.size
    people = min(PEOPLE, max(messages // 20, 10))
    texts = bigram_texts()
    results: list[BenchResult] = []
    admin = (options.pg_url or DEFAULT_PG_ADMIN).replace("postgresql+psycopg://", "postgresql://")
    with tempfile.TemporaryDirectory(dir=options.work_dir) as tmp:
        sample = Path(tmp) / "ingest.csv"
        write_twcs_like(sample, min(INGEST_SAMPLE, messages))
        counter = iter(range(1_000_000))

        def sqlite_db() -> tuple[str, Callable[[], None]]:
            return f"sqlite:///{tmp}/ingest{next(counter)}.db", lambda: None

        results.append(_ingest_cost("search.ingest_cost.sqlite", sqlite_db, sample))
        url = f"sqlite:///{Path(tmp) / 'search.db'}"
        started = time.perf_counter()
        generate(url, people, messages, body=texts)
        result = measure("search.sqlite", url, messages)
        result.figures["generate_seconds"] = round(time.perf_counter() - started, 1)
        results.append(result)
        dispose_engines()

        def pg_db() -> tuple[str, Callable[[], None]]:
            name, url = _pg_database(admin)
            return url, lambda: _drop_pg(admin, name)

        try:
            results.append(_ingest_cost("search.ingest_cost.postgresql", pg_db, sample))
        except psycopg.OperationalError as exc:
            results.append(BenchResult("search.postgresql", notes=f"skipped: {exc}"))
            return results
    name = f"rapport_bench_search_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
    try:
        started = time.perf_counter()
        generate(url, people, messages, body=texts)
        result = measure("search.postgresql", url, messages)
        result.figures["generate_seconds"] = round(time.perf_counter() - started, 1)
        results.append(result)
    finally:
        dispose_engines()
        _drop_pg(admin, name)
    return results
