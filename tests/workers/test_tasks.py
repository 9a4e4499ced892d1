"""Worker behaviour with real processes: dead letters and replay, warm
shutdown on SIGTERM, queue depths, beat and its tick."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from rapport.conversations.service import do_start_import
from rapport.storage.engine import session_scope
from rapport.workers import queries
from tests.conftest import Database
from tests.workers.harness import Broker, rapport, write_messy_twcs

pytestmark = pytest.mark.slow


def _wait_for(check, timeout: float = 90, what: str = "condition") -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _dead_letters() -> dict:  # type: ignore[type-arg]
    with session_scope() as s:
        items, total = queries.list_dead_letters(s)
    return {"items": [i.model_dump(mode="json") for i in items], "total": total}


def _ingest_generated(cli, tmp_path: Path, size: int, seed: int) -> None:  # type: ignore[no-untyped-def]
    """A small generated TWCS-like history, imported in-process."""
    from rapport.bench.datagen import write_twcs_like

    data = tmp_path / "some.csv"
    write_twcs_like(data, size, seed=seed, brands=3)
    assert cli("ingest", str(data)).exit_code == 0


def test_failed_task_is_dead_lettered_listed_and_replayed(
    db: Database, broker: Broker, workers, cli, tmp_path: Path
) -> None:
    from rapport.workers.app import get_app
    from rapport.workers.tasks.reports import render_report

    _ingest_generated(cli, tmp_path, 300, seed=4)
    blocker = tmp_path / "exports"
    blocker.write_text("a file where the export directory should be")
    target = blocker / "report.json"
    get_app()
    render_report.apply_async(args=(str(target),))
    workers()
    _wait_for(lambda: _dead_letters()["total"] == 1, what="the dead letter")
    listed = cli("tasks", "failed", "--json")
    assert listed.exit_code == 0, listed.stderr
    assert listed.json() == _dead_letters()
    letter = listed.json()["items"][0]
    assert letter["task_name"] == "rapport.reports.render"
    assert letter["error_type"] in {"FileExistsError", "NotADirectoryError"}
    assert letter["retries"] == 0  # a permanent error is not retried
    assert letter["status"] == "failed"
    assert str(target) in letter["args_summary"]

    blocker.unlink()  # the operator fixes the cause, then replays
    replay = cli("tasks", "retry", str(letter["id"]), "--json")
    assert replay.exit_code == 0, replay.stderr
    assert [r["id"] for r in replay.json()["replayed"]] == [letter["id"]]
    _wait_for(target.exists, what="the replayed report")
    assert json.loads(target.read_text()) == cli("report", "--json").json()
    assert _dead_letters()["total"] == 0
    everything = cli("tasks", "failed", "--all", "--json").json()["items"]
    assert [(i["id"], i["status"]) for i in everything] == [(letter["id"], "replayed")]

    again = rapport("tasks", "retry", str(letter["id"]))  # the real console script
    assert again.returncode == 1
    assert "already replayed" in again.stderr
    missing = cli("tasks", "retry", "999999")
    assert missing.exit_code == 1
    assert "not found" in missing.stderr


def test_task_whose_service_is_not_installed_waits_as_a_dead_letter(
    db: Database, broker: Broker, workers
) -> None:
    from rapport.workers.app import get_app
    from rapport.workers.errors import TaskNotWired
    from rapport.workers.tasks import engagement
    from rapport.workers.wiring import resolve

    get_app()
    # The tasks still waiting for their domain's service (engagement is being
    # written); once every one is wired there is nothing left to wait for.
    waiting = []
    for target, task, args in (
        (engagement.TRIAGE, engagement.triage_threads, ([1, 2],)),
        (engagement.SEND, engagement.send_outbox_item, (1,)),
    ):
        try:
            resolve(target)
        except TaskNotWired:
            waiting.append((target, task, args))
    if not waiting:
        pytest.skip("every task's service is installed: nothing waits")
    target, task, args = waiting[0]
    task.apply_async(args=args)
    workers()
    _wait_for(lambda: _dead_letters()["total"] == 1, what="the dead letter")
    letter = _dead_letters()["items"][0]
    assert letter["error_type"] == "TaskNotWired"
    assert target.split(":")[1] in letter["error"]
    assert letter["task_name"] == task.name


def test_analysis_batch_runs_on_a_worker_and_replaces_stale_rows(
    db: Database, broker: Broker, workers, cli, tmp_path: Path
) -> None:
    from sqlalchemy import select, update

    from rapport.analysis.models import MessageAnalysis
    from rapport.analysis.service import current_version
    from rapport.conversations.models import Message
    from rapport.workers.app import get_app
    from rapport.workers.tasks.analysis import analyze_messages

    _ingest_generated(cli, tmp_path, 400, seed=6)
    with session_scope(write=True) as s:
        ids = sorted(s.execute(select(Message.id)).scalars())
        expected = {
            a.message_id: (a.sentiment, a.intent, a.urgency, a.evidence)
            for a in s.execute(select(MessageAnalysis)).scalars()
        }
        s.execute(update(MessageAnalysis).values(model_version="fast:old", sentiment="stale"))
    assert len(expected) == len(ids) == 400
    get_app()
    analyze_messages.apply_async(args=(ids[:250],))
    analyze_messages.apply_async(args=(ids[250:],))
    worker = workers(queues="analysis")
    _wait_for(lambda: worker.text().count("succeeded in") >= 2, what="both analysis batches")
    with session_scope() as s:
        rows = list(s.execute(select(MessageAnalysis)).scalars())
    assert len(rows) == 400  # replaced, not added
    assert {r.model_version for r in rows} == {current_version("fast")}
    assert {r.message_id: (r.sentiment, r.intent, r.urgency, r.evidence) for r in rows} == expected
    assert _dead_letters()["total"] == 0


def test_sigterm_lets_the_running_chunk_finish(
    db: Database, broker: Broker, workers, tmp_path: Path
) -> None:
    from rapport.conversations.importers.registry import open_source
    from rapport.workers.app import get_app
    from rapport.workers.tasks.ingest import store_chunk
    from rapport.workers.wire import records_to_wire

    path = tmp_path / "big.csv"
    good = write_messy_twcs(path, 6_000)
    opened = open_source(path)
    wire = records_to_wire(list(opened.records))
    opened.close()
    batch_id = do_start_import(str(path), "twcs", "twitter", None)
    get_app()
    store_chunk.apply_async(args=(batch_id, 0, str(path), "twitter", wire))
    worker = workers()
    _wait_for(lambda: "rapport.ingest.store_chunk[" in worker.text() and "started" in worker.text())
    assert worker.terminate(timeout=300) == 0
    assert "succeeded in" in worker.text(), worker.text()[-2000:]
    with session_scope() as s:
        assert queries.chunk_totals(s, batch_id) == {
            "chunks": 1,
            "read": good + 4,
            "inserted": good,
            "duplicates": 0,
            "quarantined": 4,
        }
    from rapport.workers.replay import queue_depths

    assert queue_depths()[f"{broker.prefix}.ingest"]["messages"] == 0  # acknowledged


def test_queue_depths_show_this_deployments_queues(
    db: Database, broker: Broker, workers, cli
) -> None:
    from rapport.workers.app import get_app
    from rapport.workers.tasks.reports import render_report

    get_app()
    render_report.apply_async(args=("/nonexistent/never.json",))
    out = cli("tasks", "queues", "--json")
    assert out.exit_code == 0, out.stderr
    queues = out.json()["queues"]
    assert set(queues) == {
        f"{broker.prefix}.{q}"
        for q in (
            "ingest",
            "analysis",
            "engagement",
            "relationships",
            "channels",
            "outbox",
            "reports",
            "schedule",
            "default",
        )
    }
    assert queues[f"{broker.prefix}.reports"] == {"messages": 1, "consumers": 0}
    workers(queues="ingest,analysis")
    queues = cli("tasks", "queues", "--json").json()["queues"]
    assert queues[f"{broker.prefix}.ingest"]["consumers"] == 1
    assert queues[f"{broker.prefix}.reports"] == {"messages": 1, "consumers": 0}


def test_beat_runs_due_jobs_of_the_schedule_table_on_a_worker(
    db: Database, broker: Broker, workers, tmp_path: Path
) -> None:
    import os
    import signal
    import subprocess
    import sys

    from rapport.scheduling import queries as schedule_queries
    from rapport.scheduling.schemas import JobCreate
    from rapport.scheduling.service import do_register_job

    with session_scope(write=True) as s:
        do_register_job(
            s,
            JobCreate(
                name="poll:ghost",
                kind="channels.poll",
                interval_seconds=3600,
                payload={"channel": "ghost"},
            ),
        )
    worker = workers(queues="schedule")
    log = tmp_path / "beat.log"
    with log.open("wb") as out:
        beat = subprocess.Popen(
            [sys.executable, "-m", "rapport", "beat", "--interval", "1"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=os.environ.copy(),
            start_new_session=True,
        )

    def job_ran() -> bool:
        with session_scope() as s:
            return schedule_queries.get_job(s, "poll:ghost").runs >= 1

    try:
        _wait_for(job_ran, what="the scheduled job to run on the worker")
        _wait_for(lambda: worker.text().count("rapport.schedule.tick") >= 4, what="more ticks")
    finally:
        beat.send_signal(signal.SIGTERM)
        beat.wait(timeout=30)
    assert "Sending due task rapport-schedule-tick" in log.read_text()
    with session_scope() as s:
        job = schedule_queries.get_job(s, "poll:ghost")
    # Ran once although several ticks saw it; the unknown channel is its recorded error.
    assert job.runs == 1
    assert job.last_status == "error" and "ghost" in (job.last_error or "")
    assert "rapport.schedule.run_job" in worker.text()
