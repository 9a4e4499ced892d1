"""The fault suite: workers killed, the broker restarted and database
connections dropped in the middle of imports. Each test asserts the exact
final state (counts, the contract's report computed independently from the
file, thread bookkeeping), not merely that nothing raised."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import func, select

from rapport.bench.datagen import write_twcs_like
from rapport.conversations.models import Message, PendingReference, Thread
from rapport.conversations.service import STORE_LOCK_KEY
from rapport.storage.engine import session_scope
from rapport.workers.models import IngestChunk, TaskDelivery
from tests.conftest import Database
from tests.reports.test_summary import _assert_same, independent_report
from tests.workers.harness import Broker, ensure_rabbitmq, require_postgresql

pytestmark = pytest.mark.slow


def _coordinator(path: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "rapport", "ingest", str(path), "--json", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )


def _finish(proc: subprocess.Popen[str], timeout: float = 400) -> dict[str, Any]:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-3000:]
    return dict(json.loads(out))


def _chunks_done() -> int:
    with session_scope() as s:
        return int(s.execute(select(func.count()).select_from(IngestChunk)).scalar_one())


def _wait(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _pg_dsn(db: Database) -> str:
    return db.url.replace("postgresql+psycopg://", "postgresql://", 1)


def _store_lock_holder(db: Database) -> int | None:
    """The backend holding the store lock right now: a batch is mid-write."""
    with psycopg.connect(_pg_dsn(db), autocommit=True) as conn:
        row = conn.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND ((classid::bigint << 32) | objid::bigint) = %s",
            (STORE_LOCK_KEY,),
        ).fetchone()
    return int(row[0]) if row else None


def _assert_exact(path: Path, total: int, summary: dict[str, Any]) -> None:
    assert summary == {"read": total, "inserted": total, "duplicates": 0, "quarantined": 0}
    with session_scope() as s:
        assert s.execute(select(func.count()).select_from(Message)).scalar_one() == total
        ids = s.execute(select(func.count(func.distinct(Message.external_id)))).scalar_one()
        assert ids == total  # no duplicates
        counted = dict(
            s.execute(select(Message.thread_id, func.count()).group_by(Message.thread_id)).all()
        )
        kept = dict(s.execute(select(Thread.id, Thread.message_count)).all())
        assert counted == kept  # every thread's bookkeeping matches its messages
        assert s.execute(select(func.count()).select_from(PendingReference)).scalar_one() == 0
        from rapport.reports.summary import compute_report

        report = compute_report(s).model_dump(mode="json")
    _assert_same(report, independent_report(path))


def test_worker_killed_9_mid_chunk_is_redelivered_exactly_once(
    db: Database, broker: Broker, workers, tmp_path: Path
) -> None:
    require_postgresql(db)
    path = tmp_path / "k.csv"
    total = write_twcs_like(path, 12_000, seed=21, brands=15)
    first = workers()
    proc = _coordinator(path, "--distributed", "--batch-size", "1200")
    try:
        _wait(lambda: _chunks_done() >= 2, 180, "two chunks stored")
        _wait(lambda: _store_lock_holder(db) is not None, 60, "a chunk mid-write")
        done_before = _chunks_done()
        first.kill9()  # main process and pool child, mid-transaction
        assert (
            _store_lock_holder(db) is None
            or _wait(
                lambda: _store_lock_holder(db) is None, 30, "the killed transaction's rollback"
            )
            is None
        )
        assert _chunks_done() == done_before < 10  # the chunk being written was lost...
        workers()
        summary = _finish(proc)  # ...and redelivered to the new worker
    finally:
        if proc.poll() is None:
            proc.kill()
    _assert_exact(path, total, summary)
    assert _chunks_done() == 10
    with session_scope() as s:
        redelivered = s.execute(select(TaskDelivery.task_name)).scalars().all()
    assert "rapport.ingest.store_chunk" in redelivered


def test_rabbitmq_restarted_during_a_distributed_import_loses_nothing(
    db: Database, broker_alone: Broker, workers, tmp_path: Path
) -> None:
    path = tmp_path / "r.csv"
    total = write_twcs_like(path, 12_000, seed=22, brands=15)
    workers()
    proc = _coordinator(path, "--distributed", "--batch-size", "800")
    try:
        _wait(lambda: _chunks_done() >= 3, 180, "three chunks stored")
        stopped = subprocess.run(["rabbitmqctl", "stop_app"], capture_output=True, timeout=120)
        assert stopped.returncode == 0, stopped.stderr
        try:
            time.sleep(3)
            assert proc.poll() is None, "the import gave up while the broker was away"
        finally:
            subprocess.run(["rabbitmqctl", "start_app"], capture_output=True, timeout=120)
            ensure_rabbitmq()
        summary = _finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    _assert_exact(path, total, summary)
    assert _chunks_done() == 15


def _terminate_mid_batch(db: Database, times: int, stop: threading.Event) -> list[int]:
    """Kill the backend holding the store lock, ``times`` times."""
    killed: list[int] = []
    while len(killed) < times and not stop.is_set():
        pid = _store_lock_holder(db)
        if pid is not None and pid not in killed:
            with psycopg.connect(_pg_dsn(db), autocommit=True) as conn:
                if conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,):
                    killed.append(pid)
        time.sleep(0.02)
    return killed


@pytest.mark.parametrize("mode", ["in-process", "distributed"])
def test_postgresql_connections_dropped_mid_batch_are_retried(
    db: Database, broker: Broker, workers, tmp_path: Path, mode: str
) -> None:
    require_postgresql(db)
    path = tmp_path / "p.csv"
    total = write_twcs_like(path, 9_000, seed=23, brands=15)
    if mode == "distributed":
        workers()
    extra = ("--distributed",) if mode == "distributed" else ()
    proc = _coordinator(path, *extra, "--batch-size", "750")
    stop = threading.Event()
    killed: list[int] = []
    killer = threading.Thread(target=lambda: killed.extend(_terminate_mid_batch(db, 3, stop)))
    killer.start()
    try:
        summary = _finish(proc)
    finally:
        stop.set()
        killer.join()
        if proc.poll() is None:
            proc.kill()
    assert len(killed) == 3, "the import finished before three batches could be cut"
    _assert_exact(path, total, summary)


def test_message_that_keeps_killing_its_worker_becomes_a_replayable_dead_letter(
    db: Database, broker: Broker, workers, tmp_path: Path
) -> None:
    require_postgresql(db)
    from rapport.conversations.importers.registry import open_source
    from rapport.conversations.service import do_start_import
    from rapport.workers.app import get_app
    from rapport.workers.tasks.ingest import store_chunk
    from rapport.workers.wire import records_to_wire
    from tests.workers.harness import rapport

    path = tmp_path / "poison.csv"
    total = write_twcs_like(path, 8_000, seed=24, brands=15)
    opened = open_source(path)
    wire = records_to_wire(list(opened.records))
    opened.close()
    batch_id = do_start_import(str(path), "twcs", "twitter", None)
    get_app()
    store_chunk.apply_async(args=(batch_id, 0, str(path), "twitter", wire))
    first = workers(RAPPORT_TASK_MAX_DELIVERIES="1")
    _wait(lambda: _store_lock_holder(db) is not None, 120, "the chunk mid-write")
    first.kill9()
    workers(RAPPORT_TASK_MAX_DELIVERIES="1")  # the redelivery exceeds the limit

    from rapport.workers.queries import list_dead_letters

    def letters() -> int:
        with session_scope() as s:
            return list_dead_letters(s)[1]

    _wait(lambda: letters() == 1, 120, "the dead letter")
    listed = rapport("tasks", "failed", "--json")
    assert listed.returncode == 0, listed.stderr
    letter = json.loads(listed.stdout)["items"][0]
    assert letter["error_type"] == "TooManyDeliveries"
    assert _chunks_done() == 0
    replay = rapport("tasks", "retry", str(letter["id"]))
    assert replay.returncode == 0, replay.stderr
    _wait(lambda: _chunks_done() == 1, 180, "the replayed chunk")
    with session_scope() as s:
        assert s.execute(select(func.count()).select_from(Message)).scalar_one() == total
