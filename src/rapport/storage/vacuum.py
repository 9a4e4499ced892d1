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
database files.
"""

from __future__ import annotations

from sqlalchemy import Engine

from rapport.storage.engine import get_engine


def do_vacuum(*, full: bool = True, engine: Engine | None = None) -> list[str]:
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
        conn.exec_driver_sql("ANALYZE")
        done.append("ANALYZE")
        conn.exec_driver_sql("VACUUM (FULL, ANALYZE)" if full else "VACUUM (ANALYZE)")
        done.append("VACUUM (FULL, ANALYZE)" if full else "VACUUM (ANALYZE)")
        try:
            conn.exec_driver_sql("CHECKPOINT")
            done.append("CHECKPOINT")
        except Exception as exc:  # needs superuser or pg_checkpoint
            done.append(f"CHECKPOINT skipped: {str(exc).splitlines()[0]}")
    return done
