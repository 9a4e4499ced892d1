"""How the inbox is worked: resolution time, reopen rate, time in pending
and satisfaction (CSAT), per channel, team, agent or label — one query
function each, used by `rapport metrics ...`, `GET /api/v1/reports/...` and
the dashboard. The facts come from `rapport.engagement.queries` (status
history, thread dimensions, surveys).

- resolution time: for each resolution, the time since the thread started
  (its first customer message) or, after a reopen, since it was reopened;
  grouped by the thread's channel/team/labels and by the agent holding it
  when it was resolved; median and p90 in seconds.
- reopen rate: of the threads resolved at least once, the share that came
  back (a new customer message, or by hand) after a resolution.
- time in pending: total time each thread spent waiting on the customer
  (until now for a thread still pending); median, p90, mean.
- CSAT: surveys sent, answered, the response rate (answered / sent), the
  mean score and the distribution of scores 1-5.

`since`/`until` select resolutions, events and surveys by their time; a
people label (`segment`) keeps the threads whose customer holds it.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy.orm import Session

from rapport.engagement import queries as engagement
from rapport.storage.base import utcnow

GroupBy = Literal["all", "channel", "team", "agent", "label"]
GROUPS = ("all", "channel", "team", "agent", "label")


class MetricsFilter(BaseModel):
    by: GroupBy = "all"
    since: datetime | None = None
    until: datetime | None = None
    channel: str | None = None
    #: A people label: only threads whose customer holds it.
    segment: str | None = None


class Durations(BaseModel):
    count: int
    median_seconds: float | None
    p90_seconds: float | None
    mean_seconds: float | None


class DurationReport(BaseModel):
    metric: str
    by: str
    groups: dict[str, Durations]


class ReopenGroup(BaseModel):
    resolved_threads: int
    reopened_threads: int
    reopen_rate: float | None


class ReopenReport(BaseModel):
    metric: str = "reopen_rate"
    by: str
    groups: dict[str, ReopenGroup]


class CsatGroup(BaseModel):
    surveys: int
    sent: int
    answered: int
    response_rate: float | None
    mean_score: float | None
    scores: dict[str, int]


class CsatReport(BaseModel):
    metric: str = "csat"
    by: str
    groups: dict[str, CsatGroup]


def _in_range(at: datetime, flt: MetricsFilter) -> bool:
    return (flt.since is None or at >= flt.since) and (flt.until is None or at < flt.until)


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def _durations(values: list[float]) -> Durations:
    if not values:
        return Durations(count=0, median_seconds=None, p90_seconds=None, mean_seconds=None)
    return Durations(
        count=len(values),
        median_seconds=round(float(statistics.median(values)), 1),
        p90_seconds=round(_p90(values), 1),
        mean_seconds=round(statistics.fmean(values), 1),
    )


def _keys(fact: engagement.ThreadFact | None, by: str, agent: str | None = None) -> Iterable[str]:
    if by == "all":
        return ["all"]
    if fact is None:
        return ["(unknown)"]
    if by == "channel":
        return [fact.channel]
    if by == "team":
        return [fact.team or "(no team)"]
    if by == "agent":
        return [agent or fact.assignee or "(unassigned)"]
    return list(fact.labels) or ["(no label)"]


def _facts(
    session: Session, flt: MetricsFilter
) -> tuple[list[engagement.StatusEventFact], dict[int, engagement.ThreadFact]]:
    events = engagement.status_events(session)
    facts = engagement.thread_facts(session, sorted({e.thread_id for e in events}))
    keep = _kept(session, facts, flt)
    return [e for e in events if e.thread_id in keep], {t: f for t, f in facts.items() if t in keep}


def _kept(
    session: Session, facts: dict[int, engagement.ThreadFact], flt: MetricsFilter
) -> set[int]:
    people = set(engagement.people_with_label(session, flt.segment)) if flt.segment else None
    return {
        t
        for t, f in facts.items()
        if (flt.channel is None or f.channel == flt.channel)
        and (people is None or f.customer_person_id in people)
    }


def resolution_time(session: Session, flt: MetricsFilter | None = None) -> DurationReport:
    flt = flt or MetricsFilter()
    events, facts = _facts(session, flt)
    groups: dict[str, list[float]] = defaultdict(list)
    start: dict[int, datetime | None] = {}
    for e in events:
        fact = facts.get(e.thread_id)
        if e.thread_id not in start:
            start[e.thread_id] = fact.started_at if fact else None
        if e.to_status == "resolved":
            began = start[e.thread_id]
            if began is not None and _in_range(e.at, flt):
                for key in _keys(fact, flt.by, e.assignee):
                    groups[key].append(max(0.0, (e.at - began).total_seconds()))
        elif e.from_status == "resolved":
            start[e.thread_id] = e.at  # reopened: a new cycle starts
    return DurationReport(
        metric="resolution_time",
        by=flt.by,
        groups={k: _durations(v) for k, v in sorted(groups.items())},
    )


def reopen_rate(session: Session, flt: MetricsFilter | None = None) -> ReopenReport:
    flt = flt or MetricsFilter()
    events, facts = _facts(session, flt)
    resolved: dict[str, set[int]] = defaultdict(set)
    reopened: dict[str, set[int]] = defaultdict(set)
    last: dict[int, list[str]] = {}
    for e in events:
        if not _in_range(e.at, flt):
            continue
        if e.to_status == "resolved":
            last[e.thread_id] = list(_keys(facts.get(e.thread_id), flt.by, e.assignee))
            for key in last[e.thread_id]:
                resolved[key].add(e.thread_id)
        elif e.from_status == "resolved":
            for key in last.get(e.thread_id, []):
                reopened[key].add(e.thread_id)
    return ReopenReport(
        by=flt.by,
        groups={
            k: ReopenGroup(
                resolved_threads=len(v),
                reopened_threads=len(reopened[k] & v),
                reopen_rate=round(len(reopened[k] & v) / len(v), 4) if v else None,
            )
            for k, v in sorted(resolved.items())
        },
    )


def time_in_pending(
    session: Session, flt: MetricsFilter | None = None, *, now: datetime | None = None
) -> DurationReport:
    flt = flt or MetricsFilter()
    moment = now or utcnow()
    events, facts = _facts(session, flt)
    totals: dict[int, float] = defaultdict(float)
    entered: dict[int, datetime] = {}
    agents: dict[int, str | None] = {}
    for e in events:
        if e.from_status == "pending" and e.thread_id in entered:
            totals[e.thread_id] += (e.at - entered.pop(e.thread_id)).total_seconds()
        if e.to_status == "pending" and _in_range(e.at, flt):
            entered[e.thread_id] = e.at
            totals[e.thread_id] += 0.0
            agents[e.thread_id] = e.assignee
    for tid, since in entered.items():
        totals[tid] += max(0.0, (moment - since).total_seconds())
    groups: dict[str, list[float]] = defaultdict(list)
    for tid, seconds in totals.items():
        for key in _keys(facts.get(tid), flt.by, agents.get(tid)):
            groups[key].append(seconds)
    return DurationReport(
        metric="time_in_pending",
        by=flt.by,
        groups={k: _durations(v) for k, v in sorted(groups.items())},
    )


def csat(session: Session, flt: MetricsFilter | None = None) -> CsatReport:
    flt = flt or MetricsFilter()
    surveys = [s for s in engagement.survey_facts(session) if _in_range(s.created_at, flt)]
    facts = engagement.thread_facts(session, sorted({s.thread_id for s in surveys if s.thread_id}))
    keep = _kept(session, facts, flt) if (flt.channel or flt.segment) else set(facts)
    groups: dict[str, list[engagement.SurveyFact]] = defaultdict(list)
    for s in surveys:
        if s.thread_id is not None and s.thread_id not in keep:
            continue
        fact = facts.get(s.thread_id or 0)
        if flt.by == "channel":
            keys: Iterable[str] = [s.channel]
        elif flt.by == "team":
            keys = [s.team or "(no team)"]
        elif flt.by == "agent":
            keys = [s.agent or "(unassigned)"]
        else:
            keys = _keys(fact, flt.by)
        for key in keys:
            groups[key].append(s)
    out = {}
    for key, rows in sorted(groups.items()):
        scores = [s.score for s in rows if s.score is not None]
        sent = sum(1 for s in rows if s.sent or s.score is not None)
        out[key] = CsatGroup(
            surveys=len(rows),
            sent=sent,
            answered=len(scores),
            response_rate=round(len(scores) / sent, 4) if sent else None,
            mean_score=round(statistics.fmean(scores), 2) if scores else None,
            scores={str(n): scores.count(n) for n in range(1, 6)},
        )
    return CsatReport(by=flt.by, groups=out)
