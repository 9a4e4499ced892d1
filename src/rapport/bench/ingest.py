"""Import + threading throughput on SQLite and PostgreSQL, against a raw
DB-API executemany of the same rows measured in the same run."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import psycopg

from rapport.bench import BenchOptions, BenchResult
from rapport.bench.datagen import write_twcs_like

DEFAULT_PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def _probe(mode: str, url: str, path: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "rapport.bench.probe", mode, url, str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _figures(name: str, size: int, base: dict[str, Any], ours: dict[str, Any]) -> BenchResult:
    ours_rate = ours["rows"] / ours["seconds"] if ours["seconds"] else 0.0
    base_rate = base["rows"] / base["seconds"] if base["seconds"] else 0.0
    return BenchResult(
        name=name,
        figures={
            "messages": size,
            "ingest_msg_per_s": round(ours_rate),
            "baseline_executemany_rows_per_s": round(base_rate),
            "ratio_to_baseline": round(ours_rate / base_rate, 3) if base_rate else None,
            "ingest_seconds": round(ours["seconds"], 2),
            "peak_rss_mb": round(ours["peak_rss_mb"], 1),
        },
        notes="import + threading + people, batches of 5,000, one process",
    )


def _pg_database(admin_dsn: str) -> tuple[str, str]:
    name = f"rapport_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin_dsn.rsplit("/", 1)[0]
    return name, f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)


def _drop_pg(admin_dsn: str, name: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(options: BenchOptions) -> list[BenchResult]:
    results = []
    with tempfile.TemporaryDirectory(dir=options.work_dir) as tmp:
        data = Path(tmp) / "twcs_like.csv"
        size = write_twcs_like(data, options.size)
        sqlite_url = f"sqlite:///{tmp}/bench.db"
        base = _probe("baseline", sqlite_url, data)
        ours = _probe("ingest", sqlite_url, data)
        results.append(_figures("ingest.sqlite", size, base, ours))
        admin = (options.pg_url or DEFAULT_PG_ADMIN).replace(
            "postgresql+psycopg://", "postgresql://"
        )
        try:
            name, pg_url = _pg_database(admin)
        except psycopg.OperationalError as exc:
            results.append(BenchResult("ingest.postgresql", notes=f"skipped: {exc}"))
            return results
        try:
            base = _probe("baseline", pg_url, data)
            ours = _probe("ingest", pg_url, data)
            results.append(_figures("ingest.postgresql", size, base, ours))
        finally:
            _drop_pg(admin, name)
    return results
