#!/usr/bin/env python
"""EXPLAIN (ANALYZE) the report, thread-timeline and person-timeline queries on a
PostgreSQL database: `python scripts/explain_queries.py postgresql+psycopg://.../db`.
Used for the query-plan table of docs/PERFORMANCE.md (300,000 generated messages).
"""
import os, sys, time
from pathlib import Path
url = sys.argv[1]
os.environ["RAPPORT_DATABASE_URL"] = url
from sqlalchemy import event
from rapport.storage.engine import get_engine, session_scope
from rapport.reports.summary import compute_report, ReportFilter
from rapport.conversations import queries
from datetime import datetime, UTC
engine = get_engine()
captured = []
@event.listens_for(engine, "before_cursor_execute")
def grab(conn, cursor, statement, params, context, executemany):
    if statement.lstrip().upper().startswith("SELECT") and "pg_" not in statement:
        captured.append((statement, params))
def run(label, fn):
    captured.clear()
    t = time.perf_counter()
    with session_scope() as s:
        fn(s)
    el = time.perf_counter() - t
    print(f"## {label}: {el*1000:.0f} ms, {len(captured)} statements")
    stmts = list(captured)
    with engine.connect() as conn:
        for sql, params in stmts:
            raw = conn.connection.dbapi_connection
            cur = raw.cursor()
            cur.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) " + sql, params)
            plan = [r[0] for r in cur.fetchall()]
            short = [l for l in plan if "Scan" in l or "Execution Time" in l or "Sort Method" in l]
            print("   ", sql.split("FROM")[0][:70].replace("\n"," "), "...")
            for l in short[:8]:
                print("      ", l.strip())
run("report (all)", lambda s: compute_report(s))
run("report (one day)", lambda s: compute_report(s, ReportFilter(since=datetime(2017,10,10,tzinfo=UTC), until=datetime(2017,10,11,tzinfo=UTC))))
with session_scope() as s:
    tid = s.execute(__import__("sqlalchemy").text("SELECT thread_id FROM message ORDER BY id DESC LIMIT 1")).scalar()
    aid = s.execute(__import__("sqlalchemy").text("SELECT author_identity_id FROM message WHERE direction='inbound' ORDER BY id DESC LIMIT 1")).scalar()
run("thread timeline", lambda s: queries.thread_messages(s, tid))
run("person timeline", lambda s: queries.messages_by_authors(s, [aid]))
