"""Reclaiming space and wiping dead rows from the database files
(`rapport db vacuum`, and after every erasure).

SQLite runs with `secure_delete` on, so deleted content is zeroed when its
page is written; a WAL checkpoint (TRUNCATE) then empties the write-ahead
log, and VACUUM rebuilds the file without free pages. PostgreSQL keeps old
row versions in its heap files until they are rewritten: `VACUUM FULL`
rewrites every table (a plain VACUUM only marks the space reusable and leaves
the bytes), ANALYZE refreshes the statistics (which sample column values),
and CHECKPOINT flushes. PostgreSQL's write-ahead log segments (`pg_wal`) and
any backups keep old data until they are recycled; that is outside the
database files. VACUUM FULL keeps rows deleted after the oldest transaction
still running anywhere in the cluster began, so the vacuum first waits (a
bounded time) for older transactions to end, and says so when it could not.
The statistics catalog (`pg_statistic`) samples column
values, so it is analyzed again and rewritten last.
"""

from __future__ import annotations

import time

from sqlalchemy import Connection, Engine

from rapport.storage.engine import get_engine

#: A step's text when rows may survive because of older transactions elsewhere.
OLDER_TRANSACTIONS = "transactions older than this vacuum were still running"


def _wait_for_older_transactions(conn: Connection, seconds: float) -> str | None:
    """Wait until every transaction that began before now has ended, in any
    database of the cluster: a snapshot's xmin is the oldest transaction
    running anywhere, and VACUUM FULL keeps rows deleted after that xmin as
    "recently dead". Returns who still runs when the wait ends, or None."""
    marker = int(conn.exec_driver_sql("SELECT txid_current()").scalar() or 0)
    deadline = time.monotonic() + seconds
    while True:
        oldest = int(
            conn.exec_driver_sql("SELECT txid_snapshot_xmin(txid_current_snapshot())").scalar() or 0
        )
        if oldest > marker:
            return None
        if time.monotonic() >= deadline:
            holders = conn.exec_driver_sql(
                "SELECT coalesce(datname, '-') || ' ' || backend_type || ' ' || "
                "coalesce(state, '') FROM pg_stat_activity "
                "WHERE pid <> pg_backend_pid() AND (backend_xid IS NOT NULL "
                "OR backend_xmin IS NOT NULL)"
            ).scalars()
            return ", ".join(str(h) for h in holders)
        time.sleep(0.25)


def do_vacuum(
    *, full: bool = True, engine: Engine | None = None, wait_seconds: float = 60.0
) -> list[str]:
    """Vacuum the database; returns what was done (one line per step)."""
    engine = engine or get_engine()
    done: list[str] = []
    if engine.dialect.name == "sqlite":
        # VACUUM cannot run in a transaction: use the driver connection, which
        # Rapport's engine keeps in autocommit mode (see storage.engine).
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            # Full-text indexes keep deleted terms in old segments until merged.
            fts = cur.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%USING fts5%'"
            ).fetchall()
            for (name,) in fts:
                cur.execute(f'INSERT INTO "{name}"("{name}") VALUES (\'optimize\')')
                done.append(f"fts5 optimize {name}")
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            done.append("wal_checkpoint(TRUNCATE)")
            if full:
                cur.execute("VACUUM")
                done.append("VACUUM")
                cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                done.append("wal_checkpoint(TRUNCATE)")
            cur.execute("PRAGMA optimize")
            cur.close()
        finally:
            raw.close()
        return done
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # A running autoanalyze holds a snapshot from before the rows were
        # deleted: VACUUM FULL would copy them as "recently dead". Let it end.
        waited = _wait_for_older_transactions(conn, wait_seconds)
        if waited:
            done.append(f"{OLDER_TRANSACTIONS} ({waited}): run `rapport db vacuum` again later")
        conn.exec_driver_sql("ANALYZE")
        done.append("ANALYZE")
        conn.exec_driver_sql("VACUUM (FULL, ANALYZE)" if full else "VACUUM (ANALYZE)")
        done.append("VACUUM (FULL, ANALYZE)" if full else "VACUUM (ANALYZE)")
        if full:
            # Statistics sample column values; an autoanalyze that sampled the
            # deleted rows may have written after ours: analyze again, and
            # rewrite the statistics catalog.
            _wait_for_older_transactions(conn, wait_seconds)
            conn.exec_driver_sql("ANALYZE")
            try:
                conn.exec_driver_sql("VACUUM FULL pg_statistic")
                done.append("ANALYZE; VACUUM FULL pg_statistic")
            except Exception as exc:  # needs the owner of the catalog (a superuser)
                done.append(f"VACUUM FULL pg_statistic skipped: {str(exc).splitlines()[0]}")
        try:
            conn.exec_driver_sql("CHECKPOINT")
            done.append("CHECKPOINT")
        except Exception as exc:  # needs superuser or pg_checkpoint
            done.append(f"CHECKPOINT skipped: {str(exc).splitlines()[0]}")
    return done
