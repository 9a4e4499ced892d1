"""`rapport bench --scale`: a million TWCS-shaped messages, ingest + threading
end to end, on SQLite in one process and on PostgreSQL through Celery
workers (1, then 2 worker processes) over the configured broker.

Each figure comes with the raw-insert baseline of the same database
measured in the same run (a plain DB-API executemany of the same rows into
an unindexed table: the floor of what storing the file can cost), and peak
resident memory. Memory flatness is shown by the SQLite run at a tenth of
the size. Every run's result is checked (message count) before it counts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psutil
import psycopg

from rapport.bench import BenchOptions, BenchResult
from rapport.bench.datagen import write_twcs_like
from rapport.bench.ingest import DEFAULT_PG_ADMIN, _drop_pg, _pg_database, _probe

DEFAULT_BROKER = "amqp://guest:guest@127.0.0.1:5672//"


def _rate(rows: int, seconds: float) -> float:
    return rows / seconds if seconds else 0.0


def _count_messages(url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM message")).scalar_one())
    finally:
        engine.dispose()


def _tree_rss_mb(proc: psutil.Process) -> float:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            continue
    return total / 2**20


def _distributed(
    pg_url: str, data: Path, workers: int, broker: str, batch: int, env_extra: dict[str, str]
) -> dict[str, Any]:
    """Coordinator + one `rapport worker -c N` in subprocesses; returns timing and memory."""
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        **env_extra,
        "RAPPORT_DATABASE_URL": pg_url,
        "RAPPORT_BROKER_URL": broker,
        "RAPPORT_QUEUE_PREFIX": prefix,
    }
    subprocess.run(
        [sys.executable, "-m", "rapport", "db", "upgrade"], env=env, check=True, capture_output=True
    )
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rapport",
            "worker",
            "-c",
            str(workers),
            "-Q",
            "ingest",
            "-l",
            "WARNING",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    peak_worker = peak_coord = 0.0
    try:
        time.sleep(5)  # the worker connects
        started = time.perf_counter()
        coord = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rapport",
                "ingest",
                str(data),
                "--distributed",
                "--json",
                "--batch-size",
                str(batch),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        wp, cp = psutil.Process(worker.pid), psutil.Process(coord.pid)
        while coord.poll() is None:
            peak_worker = max(peak_worker, _tree_rss_mb(wp))
            peak_coord = max(peak_coord, _tree_rss_mb(cp))
            time.sleep(0.5)
        elapsed = time.perf_counter() - started
        out = coord.stdout.read() if coord.stdout else ""
        if coord.returncode != 0:
            raise RuntimeError(f"distributed ingest failed ({coord.returncode})")
        summary = json.loads(out)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
        _delete_queues(broker, prefix)
    return {
        "seconds": elapsed,
        "rows": summary["inserted"],
        "peak_rss_worker_mb": peak_worker,
        "peak_rss_coordinator_mb": peak_coord,
    }


def _delete_queues(broker: str, prefix: str) -> None:
    from kombu.connection import Connection

    from rapport.workers.app import QUEUES

    try:
        with Connection(broker, connect_timeout=5) as conn:
            channel = conn.channel()
            for short in QUEUES:
                try:
                    channel.queue_delete(f"{prefix}.{short}")
                    channel.exchange_delete(f"{prefix}.{short}")
                except Exception:
                    continue
    except Exception:
        return


def run(options: BenchOptions) -> list[BenchResult]:
    if not options.scale:
        return [BenchResult("scale", notes="skipped: run `rapport bench --scale`")]
    size = options.size if options.size != BenchOptions().size else 1_000_000
    batch = 10_000
    broker = os.environ.get("RAPPORT_BROKER_URL") or DEFAULT_BROKER
    results: list[BenchResult] = []
    with tempfile.TemporaryDirectory(dir=options.work_dir) as tmp:
        data = Path(tmp) / "twcs_like.csv"
        small = Path(tmp) / "twcs_like_small.csv"
        size = write_twcs_like(data, size, seed=11)
        small_size = write_twcs_like(small, max(size // 10, 1000), seed=11)

        lite = f"sqlite:///{tmp}/scale.db"
        base = _probe("baseline", lite, data)
        ours = _probe("ingest", lite, data)
        lite_small = f"sqlite:///{tmp}/scale_small.db"
        ours_small = _probe("ingest", lite_small, small)
        checked = _count_messages(lite)
        results.append(
            BenchResult(
                "scale.sqlite.in_process",
                {
                    "messages": size,
                    "stored_checked": checked,
                    "msg_per_s": round(_rate(ours["rows"], ours["seconds"])),
                    "baseline_raw_insert_rows_per_s": round(_rate(base["rows"], base["seconds"])),
                    "ratio_to_baseline": round(
                        _rate(ours["rows"], ours["seconds"]) / _rate(base["rows"], base["seconds"]),
                        3,
                    ),
                    "seconds": round(ours["seconds"], 1),
                    "peak_rss_mb": round(ours["peak_rss_mb"], 1),
                    f"peak_rss_mb_at_{small_size}": round(ours_small["peak_rss_mb"], 1),
                },
                "import + threading + people, batches of 10,000, one process",
            )
        )

        admin = (options.pg_url or DEFAULT_PG_ADMIN).replace(
            "postgresql+psycopg://", "postgresql://"
        )
        try:
            name, pg_url = _pg_database(admin)
        except psycopg.OperationalError as exc:
            results.append(BenchResult("scale.postgresql", notes=f"skipped: {exc}"))
            return results
        try:
            pg_base = _probe("baseline", pg_url, data)
            pg_here = _probe("ingest", pg_url, data)
        finally:
            _drop_pg(admin, name)
        pg_base_rate = _rate(pg_base["rows"], pg_base["seconds"])
        results.append(
            BenchResult(
                "scale.postgresql.in_process",
                {
                    "messages": size,
                    "msg_per_s": round(_rate(pg_here["rows"], pg_here["seconds"])),
                    "baseline_raw_insert_rows_per_s": round(pg_base_rate),
                    "ratio_to_baseline": round(pg_base["seconds"] / pg_here["seconds"], 3),
                    "seconds": round(pg_here["seconds"], 1),
                    "peak_rss_mb": round(pg_here["peak_rss_mb"], 1),
                },
                "the same import in one process on PostgreSQL (COPY paths)",
            )
        )
        for workers in (1, 2):
            name, pg_url = _pg_database(admin)
            try:
                got = _distributed(pg_url, data, workers, broker, batch, {})
                checked = _count_messages(pg_url)
            except Exception as exc:
                results.append(
                    BenchResult(f"scale.postgresql.workers_{workers}", notes=f"failed: {exc}")
                )
                continue
            finally:
                _drop_pg(admin, name)
            rate = _rate(got["rows"], got["seconds"])
            results.append(
                BenchResult(
                    f"scale.postgresql.workers_{workers}",
                    {
                        "messages": size,
                        "stored_checked": checked,
                        "msg_per_s": round(rate),
                        "baseline_raw_insert_rows_per_s": round(pg_base_rate),
                        "ratio_to_baseline": round(rate / pg_base_rate, 3)
                        if pg_base_rate
                        else None,
                        "seconds": round(got["seconds"], 1),
                        "peak_rss_worker_mb": round(got["peak_rss_worker_mb"], 1),
                        "peak_rss_coordinator_mb": round(got["peak_rss_coordinator_mb"], 1),
                    },
                    f"rapport ingest --distributed, {workers} worker process(es), RabbitMQ, "
                    "chunks of 10,000; 2 cores shared by coordinator, workers and PostgreSQL",
                )
            )
    return results
