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


def _rate(run: dict[str, Any]) -> float:
    return float(run["rows"] / run["seconds"]) if run["seconds"] else 0.0


def _figures(
    name: str, size: int, base: dict[str, Any], core: dict[str, Any], full: dict[str, Any]
) -> BenchResult:
    core_rate, full_rate, base_rate = _rate(core), _rate(full), _rate(base)
    return BenchResult(
        name=name,
        figures={
            "messages": size,
            "ingest_msg_per_s": round(core_rate),
            "baseline_executemany_rows_per_s": round(base_rate),
            "ratio_to_baseline": round(core_rate / base_rate, 3) if base_rate else None,
            "ingest_seconds": round(core["seconds"], 2),
            "peak_rss_mb": round(core["peak_rss_mb"], 1),
            "with_hooks_msg_per_s": round(full_rate),
            "with_hooks_ratio_to_baseline": round(full_rate / base_rate, 3) if base_rate else None,
            "with_hooks_seconds": round(full["seconds"], 2),
            "with_hooks_peak_rss_mb": round(full["peak_rss_mb"], 1),
        },
        notes="ingest = import + threading (the foundation's figure); with_hooks = "
        "`rapport ingest` as installed (+ people, network ties, fast analysis in the same "
        "transactions); one process, default batch size",
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
        core = _probe("core", sqlite_url, data)
        full = _probe("ingest", f"sqlite:///{tmp}/bench_hooks.db", data)
        results.append(_figures("ingest.sqlite", size, base, core, full))
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
            core = _probe("core", pg_url, data)
        finally:
            _drop_pg(admin, name)
        name, pg_url = _pg_database(admin)
        try:
            full = _probe("ingest", pg_url, data)
        finally:
            _drop_pg(admin, name)
        results.append(_figures("ingest.postgresql", size, base, core, full))
    return results
