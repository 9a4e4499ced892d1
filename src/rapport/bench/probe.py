"""A measuring subprocess: `python -m rapport.bench.probe MODE URL FILE`.

Runs one timed step in a fresh process and prints one JSON line with the
elapsed seconds and peak RSS, so figures are not skewed by the parent.
Modes: `ingest` (`rapport ingest` as installed: import + threading and every
downstream ingest hook: people, network ties, fast analysis), `core` (import
+ threading only: the downstream hooks removed), `ingest-unindexed` (as
`ingest`, without the message full-text index: the `search` migration
branch taken back down), `baseline` (a raw DB-API executemany of the same
rows into a plain table, batch by batch).
"""

from __future__ import annotations

import csv
import json
import os
import resource
import sys
import time
from pathlib import Path

_BATCH = 5000


def _baseline(url: str, path: Path) -> dict[str, float]:
    rows = []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader)
        rows = [tuple(r) for r in reader]
    ddl = (
        "CREATE TABLE bench_raw (tweet_id TEXT, author_id TEXT, inbound TEXT, "
        "created_at TEXT, text TEXT, response_tweet_id TEXT, in_response_to_tweet_id TEXT)"
    )
    if url.startswith("sqlite"):
        import sqlite3

        lite = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
        lite.execute("PRAGMA journal_mode=WAL")
        lite.execute("PRAGMA synchronous=NORMAL")
        lite.execute("DROP TABLE IF EXISTS bench_raw")
        lite.execute(ddl)
        sql = "INSERT INTO bench_raw VALUES (?,?,?,?,?,?,?)"
        started = time.perf_counter()
        for i in range(0, len(rows), _BATCH):
            lite.execute("BEGIN")
            lite.executemany(sql, rows[i : i + _BATCH])
            lite.execute("COMMIT")
        elapsed = time.perf_counter() - started
        lite.execute("DROP TABLE bench_raw")
        lite.close()
    else:
        import psycopg

        dsn = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn) as conn:
            conn.execute("DROP TABLE IF EXISTS bench_raw")
            conn.execute(ddl)
            conn.commit()
            sql = "INSERT INTO bench_raw VALUES (%s,%s,%s,%s,%s,%s,%s)"
            started = time.perf_counter()
            for i in range(0, len(rows), _BATCH):
                conn.cursor().executemany(sql, rows[i : i + _BATCH])
                conn.commit()
            elapsed = time.perf_counter() - started
            conn.execute("DROP TABLE bench_raw")
            conn.commit()
    return {"seconds": elapsed, "rows": len(rows)}


def _ingest(url: str, path: Path, *, core: bool = False, indexed: bool = True) -> dict[str, float]:
    os.environ["RAPPORT_DATABASE_URL"] = url
    from rapport import pipeline
    from rapport.conversations import hooks
    from rapport.conversations.service import do_ingest_files
    from rapport.storage.migrate import upgrade

    pipeline.install()
    if core:
        for name in hooks.batch_hook_names():
            hooks.remove_hook(name)
    else:
        from rapport.analysis.loading import fast_model, general_topics

        fast_model()  # model loading is start-up, not import work
        general_topics()
    upgrade(url)
    if not indexed:
        from alembic import command

        from rapport.storage.engine import get_engine
        from rapport.storage.migrate import alembic_config

        command.downgrade(alembic_config(get_engine(url)), "search@-1")
    started = time.perf_counter()
    summary = do_ingest_files([path], fmt="twcs")
    elapsed = time.perf_counter() - started
    return {"seconds": elapsed, "rows": summary.inserted, "read": summary.read}


def main() -> None:
    mode, url, file = sys.argv[1:4]
    if mode == "baseline":
        result = _baseline(url, Path(file))
    else:
        result = _ingest(url, Path(file), core=mode == "core", indexed=mode != "ingest-unindexed")
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
