"""The schedule table: registering, claiming once, marking runs, and the
in-process scheduler thread."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from rapport.scheduling import queries, registry, service
from rapport.scheduling.registry import JobOutcome
from rapport.scheduling.runner import SchedulerThread, run_due
from rapport.scheduling.schemas import JobCreate, JobPublic
from rapport.storage.base import utcnow
from rapport.storage.engine import session_scope
from tests.conftest import Database


@pytest.fixture
def ran() -> list[str]:
    calls: list[str] = []

    def handler(job: JobPublic) -> JobOutcome | None:
        calls.append(job.name)
        if job.payload.get("fail"):
            raise RuntimeError("the wake-up list is unreachable")
        return None

    registry.register_kind("test.wakeups", handler)
    return calls


def _register(name: str, interval: float = 60, **payload: object) -> JobPublic:
    with session_scope(write=True) as s:
        return service.do_register_job(
            s, JobCreate(name=name, kind="test.wakeups", interval_seconds=interval, payload=payload)
        )


def test_due_jobs_run_once_per_interval(db: Database, ran: list[str]) -> None:
    job = _register("snooze.wake", 120)
    now = utcnow()
    with session_scope() as s:
        assert [j.name for j in queries.due_jobs(s, now)] == ["snooze.wake"]
    reports = run_due(now)
    assert [(r.name, r.ok) for r in reports] == [("snooze.wake", True)] and ran == ["snooze.wake"]
    with session_scope() as s:
        after = queries.get_job(s, "snooze.wake")
        assert queries.due_jobs(s, now + timedelta(seconds=119)) == []
        assert [j.name for j in queries.due_jobs(s, now + timedelta(seconds=121))] == [
            "snooze.wake"
        ]
    assert after.runs == 1 and after.last_status == "ok" and after.next_run_at > job.next_run_at


def test_a_due_occurrence_is_claimed_by_one_runner_only(db: Database) -> None:
    _register("health.recompute")
    now = utcnow()
    wins: list[bool] = []
    barrier = threading.Barrier(4)

    def claim() -> None:
        barrier.wait()
        with session_scope(write=True) as s:
            wins.append(service.do_claim(s, "health.recompute", now))

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False, False, False, True]


def test_failures_are_recorded_and_the_loop_goes_on(db: Database, ran: list[str]) -> None:
    _register("alerts.a", fail=True)
    _register("alerts.b")
    with session_scope(write=True) as s:
        service.do_register_job(
            s, JobCreate(name="orphan", kind="nobody.handles", interval_seconds=30)
        )
    reports = {r.name: r for r in run_due()}
    assert reports["alerts.a"].error == "RuntimeError: the wake-up list is unreachable"
    assert reports["alerts.b"].ok
    assert "no handler registered for job kind 'nobody.handles'" in (reports["orphan"].error or "")
    with session_scope() as s:
        failed = queries.get_job(s, "alerts.a")
    assert failed.failures == 1 and failed.last_status == "error"


def test_handlers_may_choose_the_next_run(db: Database) -> None:
    later = utcnow() + timedelta(hours=3)
    registry.register_kind(
        "test.backoff", lambda job: JobOutcome(next_run_at=later, error="rate limited")
    )
    with session_scope(write=True) as s:
        service.do_register_job(
            s, JobCreate(name="poll.x", kind="test.backoff", interval_seconds=60)
        )
    run_due()
    with session_scope() as s:
        job = queries.get_job(s, "poll.x")
    assert job.next_run_at == later and job.last_error == "rate limited"


def test_disabled_jobs_do_not_run_and_reregistering_keeps_history(
    db: Database, ran: list[str]
) -> None:
    _register("kb.reindex", 600)
    run_due()
    with session_scope(write=True) as s:
        service.do_set_enabled(s, "kb.reindex", False)
    assert run_due(utcnow() + timedelta(hours=1)) == []
    again = _register("kb.reindex", 60)
    assert again.runs == 1 and again.enabled
    assert again.next_run_at <= utcnow() + timedelta(seconds=61)


def test_scheduler_thread_runs_due_jobs_in_the_background(db: Database, ran: list[str]) -> None:
    _register("bg.job", 3600)
    thread = SchedulerThread(tick=0.05)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not ran and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        thread.stop()
    assert ran == ["bg.job"] and not thread.is_alive()
