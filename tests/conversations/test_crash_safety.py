"""kill -9 in the middle of a large import, then run it again: the database
ends up exactly as after one clean import (nothing lost, nothing doubled)."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from rapport.bench.datagen import write_twcs_like
from rapport.conversations.models import Identity, ImportBatch, Message, Thread
from rapport.relationships.models import Person, PersonIdentity
from rapport.storage.engine import dispose_engines, session_scope
from tests.conftest import Database
from tests.reports.test_summary import _assert_same, independent_report

pytestmark = pytest.mark.slow


def _count(model: type) -> int:
    with session_scope() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def test_kill_9_mid_import_then_rerun_equals_clean_import(
    db: Database, cli, tmp_path: Path
) -> None:
    path = tmp_path / "big.csv"
    total = write_twcs_like(path, 8_000, seed=5, brands=40)
    proc = subprocess.Popen(
        [sys.executable, "-m", "rapport", "ingest", str(path), "--batch-size", "500"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ.copy(),
    )
    deadline = time.monotonic() + 120
    stored = 0
    try:
        while time.monotonic() < deadline:
            time.sleep(0.05)
            try:
                stored = _count(Message)
            except Exception:  # the schema may still be being created
                continue
            if stored >= 2_000:
                break
            assert proc.poll() is None, "the import finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    dispose_engines()
    assert proc.returncode == -signal.SIGKILL
    partial = _count(Message)
    assert 0 < partial < total, "the kill did not land mid-import"
    assert partial % 500 == 0, "a batch was half-committed"
    with session_scope() as s:
        statuses = set(s.execute(select(ImportBatch.status)).scalars())
    assert statuses == {"running"}  # the killed run never finished

    result = cli("ingest", str(path), "--json").json()
    assert result["inserted"] == total - partial
    assert result["duplicates"] == partial
    assert _count(Message) == total

    # Equal to a clean import: same report, same threads, same people.
    _assert_same(cli("report", "--json").json(), independent_report(path))
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    authors = {r["author_id"] for r in rows}
    customers = {r["author_id"] for r in rows if r["inbound"] == "True"}
    assert _count(Identity) == len(authors)
    assert _count(Person) == len(customers) == _count(PersonIdentity)
    with session_scope() as s:
        counted = dict(
            s.execute(select(Message.thread_id, func.count()).group_by(Message.thread_id)).all()
        )
        kept = dict(s.execute(select(Thread.id, Thread.message_count)).all())
    assert counted == kept
