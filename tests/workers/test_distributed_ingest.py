"""`rapport ingest --distributed`: chunks stored by real Celery workers over
the real broker; the database ends up identical to an in-process import."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from rapport.conversations.service import do_start_import
from rapport.storage.engine import session_scope
from rapport.workers.models import IngestChunk
from tests.conftest import Database
from tests.workers.harness import Broker, rapport, twin_database, write_messy_twcs
from tests.workers.snapshot import assert_same_state, snapshot

pytestmark = pytest.mark.slow


def test_distributed_import_equals_in_process_import(
    db: Database, _template: str, broker: Broker, workers, tmp_path: Path
) -> None:
    path = tmp_path / "messy.csv"
    good = write_messy_twcs(path, 4_000)
    with twin_database(tmp_path, _template) as twin:
        here = rapport("ingest", str(path), "--json", RAPPORT_DATABASE_URL=twin)
        assert here.returncode == 0, here.stderr
        expected = snapshot(twin)
    assert expected["threads"] and expected["people"] and expected["quarantine"]
    assert expected["interactions"] and expected["ties"]  # the downstream hooks ran too
    assert len(expected["analysis"]) == len(expected["messages"])
    # Several writers at once on PostgreSQL; SQLite takes one writer at a time.
    for _ in range(2 if db.is_postgresql else 1):
        workers()
    far = rapport("ingest", str(path), "--distributed", "--json", "--batch-size", "400")
    assert far.returncode == 0, far.stderr
    assert json.loads(far.stdout) == json.loads(here.stdout)
    assert json.loads(far.stdout) == {
        "read": good + 4,
        "inserted": good,
        "duplicates": 0,
        "quarantined": 4,
    }
    assert_same_state(snapshot(db.url), expected)
    with session_scope() as s:  # 4,004 rows in chunks of 400
        assert s.execute(select(func.count()).select_from(IngestChunk)).scalar_one() == 11

    again = rapport("ingest", str(path), "--distributed", "--json", "--batch-size", "1500")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == {
        "read": good + 4,
        "inserted": 0,
        "duplicates": good,
        "quarantined": 4,
    }
    assert snapshot(db.url)["messages"] == expected["messages"]


def test_chunk_delivered_three_times_is_stored_and_counted_once(
    db: Database, broker: Broker, workers, tmp_path: Path
) -> None:
    from rapport.conversations.importers.registry import open_source
    from rapport.workers.app import get_app
    from rapport.workers.tasks.ingest import store_chunk
    from rapport.workers.wire import records_to_wire

    path = tmp_path / "chunk.csv"
    good = write_messy_twcs(path, 3000)
    opened = open_source(path)
    wire = records_to_wire(list(opened.records))
    opened.close()
    batch_id = do_start_import(str(path), "twcs", "twitter", None)
    get_app()
    for _ in range(3):
        store_chunk.apply_async(args=(batch_id, 0, str(path), "twitter", wire))
    worker = workers()
    deadline = time.monotonic() + 120
    while worker.text().count("succeeded in") < 3:
        assert time.monotonic() < deadline, worker.text()[-2000:]
        time.sleep(0.2)
    state = snapshot(db.url)
    assert len(state["messages"]) == good
    assert state["batches"] == [(str(path), "twcs", "running", good + 4, good, 0, 4)]
    assert len(state["quarantine"]) == 4
    with session_scope() as s:
        chunks = s.execute(select(IngestChunk.seq, IngestChunk.inserted)).all()
    assert [tuple(c) for c in chunks] == [(0, good)]
    assert worker.text().count("'already_stored': True") == 2


def test_distributed_import_on_redis_broker(db: Database, workers, tmp_path: Path) -> None:
    from tests.workers.harness import REDIS_URL, ensure_redis, use_broker

    ensure_redis()
    from rapport.bench.datagen import write_twcs_like

    path = tmp_path / "r.csv"
    good = write_twcs_like(path, 4000, seed=8, brands=9)
    with use_broker(REDIS_URL):
        workers()
        out = rapport("ingest", str(path), "--distributed", "--json", "--batch-size", "700")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["inserted"] == good
    from rapport.reports.summary import compute_report
    from tests.reports.test_summary import _assert_same, independent_report

    with session_scope() as s:
        _assert_same(compute_report(s).model_dump(mode="json"), independent_report(path))


def test_distributed_ingest_refuses_without_broker(db: Database, cli, tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    write_messy_twcs(path, 10)
    result = cli("ingest", str(path), "--distributed")
    assert result.exit_code == 1
    assert "RAPPORT_BROKER_URL" in result.stderr
    result = cli("worker")
    assert result.exit_code == 1
    assert "RAPPORT_BROKER_URL" in result.stderr


def test_distributed_ingest_refuses_a_bad_file_before_sending_anything(
    db: Database, broker: Broker, cli, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,c\n1,2,3\n")
    result = cli("ingest", str(bad), "--distributed")
    assert result.exit_code == 1
    assert "header matches no format" in result.stderr
    from rapport.workers.replay import queue_depths

    assert queue_depths()[f"{broker.prefix}.ingest"]["messages"] == 0
