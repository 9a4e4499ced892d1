"""Engagement's tasks on a real worker over RabbitMQ: triage decides threads
with the policy in force; a reply queued by `rapport reply` with a broker
configured is sent by the worker (imported history: kept as undeliverable)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from rapport.engagement.models import ThreadState
from rapport.storage.engine import session_scope
from tests.conftest import Database
from tests.workers.harness import Broker

pytestmark = pytest.mark.slow

POLICY = """
name: all respond
rules:
  - id: everything
    decide: respond
    reason: Everything is answered in turn.
default: {decide: respond, reason: unused}
"""


def test_triage_and_send_tasks_run_on_a_worker(
    db: Database, broker: Broker, workers, cli, tmp_path: Path
) -> None:
    from rapport.workers.app import get_app
    from rapport.workers.tasks.engagement import triage_threads

    rows = [
        {"id": "w1", "author": "ana", "text": "@acme my order never came, refund please",
         "created_at": "2024-03-04T09:00:00Z"},
        {"id": "w2", "author": "bo", "text": "@acme love the new app",
         "created_at": "2024-03-04T09:10:00Z"},
    ]  # fmt: skip
    data = tmp_path / "w.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert cli("ingest", str(data), "--format", "jsonl", "--channel", "forum").exit_code == 0
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    assert cli("policy", "set", str(policy), "--no-retriage").exit_code == 0
    with session_scope() as s:
        ids = list(
            s.execute(select(ThreadState.thread_id).order_by(ThreadState.thread_id)).scalars()
        )
    assert len(ids) == 2
    get_app()
    triage_threads.apply_async(args=(ids,))
    queued = cli("reply", str(ids[0]), "--text", "Sorry! Which order was it?", "--json")
    assert queued.exit_code == 0, queued.stderr
    entry = queued.json()
    assert entry["status"] == "pending"  # a worker sends it
    worker = workers(queues="engagement,outbox")
    deadline = time.monotonic() + 120
    while worker.text().count("succeeded in") < 2:
        assert time.monotonic() < deadline, worker.text()[-2000:]
        time.sleep(0.2)
    with session_scope() as s:
        states = list(s.execute(select(ThreadState)).scalars())
    assert {(st.policy_version, st.rule_id) for st in states} == {(1, "everything")}
    listed = cli("outbox", "list", "--json").json()["items"]
    assert listed[0]["id"] == entry["id"] and listed[0]["status"] == "undeliverable"
    assert "forum" in listed[0]["reason"]
