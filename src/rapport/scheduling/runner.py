"""Running due jobs in-process: `run_due` once, or `SchedulerThread` in the
background of `rapport serve` when no broker is configured."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime

from rapport.scheduling import queries, registry, service
from rapport.storage.base import utcnow
from rapport.storage.engine import session_scope

log = logging.getLogger(__name__)


@dataclass
class RunReport:
    name: str
    kind: str
    ok: bool
    error: str | None = None
    summary: str | None = None


def run_job(name: str, kind: str, now: datetime | None = None) -> RunReport | None:
    """Claim and run job ``name`` if it is due; None when another runner took it."""
    started = now or utcnow()
    with session_scope(write=True) as session:
        if not service.do_claim(session, name, started):
            return None
        job = queries.get_job(session, name)
    error: str | None = None
    outcome: registry.JobOutcome | None = None
    try:
        outcome = registry.handler_for(kind)(job)
    except Exception as exc:  # a handler's failure is recorded, never kills the loop
        log.exception("scheduled job %s failed", name)
        error = f"{type(exc).__name__}: {exc}"
    if outcome is not None and outcome.error and error is None:
        error = outcome.error
    with session_scope(write=True) as session:
        service.do_mark_run(
            session,
            name,
            started_at=started,
            error=error,
            next_run_at=outcome.next_run_at if outcome else None,
        )
    return RunReport(
        name, kind, ok=error is None, error=error, summary=outcome.summary if outcome else None
    )


def run_due(now: datetime | None = None, *, kind: str | None = None) -> list[RunReport]:
    """Run every job due at ``now`` (default: the current time), one after another."""
    moment = now or utcnow()
    with session_scope() as session:
        due = queries.due_jobs(session, moment, kind=kind)
    reports = []
    for job in due:
        report = run_job(job.name, job.kind, now)
        if report is not None:
            reports.append(report)
    return reports


class SchedulerThread(threading.Thread):
    """Looks for due jobs every ``tick`` seconds until `stop()`."""

    def __init__(self, tick: float = 5.0) -> None:
        super().__init__(name="rapport-scheduler", daemon=True)
        self.tick = tick
        self._stop_event = threading.Event()
        self.runs = 0

    def run(self) -> None:
        log.info("in-process scheduler started (tick %.1fs)", self.tick)
        while not self._stop_event.is_set():
            try:
                self.runs += len(run_due())
            except Exception:  # the database may be briefly away: try again next tick
                log.exception("scheduler tick failed")
            self._stop_event.wait(self.tick)

    def stop(self, timeout: float | None = 30.0) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout)
