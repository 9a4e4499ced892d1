"""Response metrics: first response time, coverage, SLA breaches and the
talk/listen ratio per channel, account, team and agent (teams, assignees and
SLAs are engagement's: `rapport.engagement.queries.thread_sla_facts`).

Definitions (the contract report's, `reports/summary.py`): a brand is an
author of outbound messages; an inbound message is *addressed* to a brand
when it replies to one of its messages or @mentions its handle (one ask per
message and brand).
- *answered*: the brand wrote in the same thread after the message;
- *coverage*: answered / addressed;
- *first response time* of a thread and brand: from the first addressed
  message to the brand's first message after it (threads never answered
  have none);
- *talk/listen ratio*: outbound / (outbound + inbound addressed), against
  the target (`RAPPORT_TALK_TARGET_OUTBOUND_SHARE`, default 25 % talk,
  75 % listen: PRODUCT.md), the same target as the governance report;
- *SLA breaches* of a row: answers later than their SLA in the row's
  threads; *overdue*: its open threads whose answer is already late
  (``listen_only`` threads have no SLA).
"""

from __future__ import annotations

import bisect
import statistics
from collections import defaultdict
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from rapport.conversations.models import OUTBOUND, Channel, Identity, Message
from rapport.engagement.queries import sla_summary, thread_sla_facts
from rapport.reports.csvexport import CsvTable
from rapport.reports.summary import ReportFilter, addressed_messages, compute_report
from rapport.reports.talk_listen import talk_listen
from rapport.settings import get_settings
from rapport.storage.bulk import in_values

#: Within this many points of the target counts as on target.
TALK_TOLERANCE = 0.05


class ResponseRow(BaseModel):
    group: str
    key: str
    addressed: int
    answered: int
    coverage: float | None
    threads: int
    answered_threads: int
    first_response_median_seconds: float | None
    first_response_p90_seconds: float | None
    sla_breaches: int | None = None
    overdue: int | None = None


class TalkListen(BaseModel):
    account: str
    outbound: int
    inbound: int
    ratio: float | None
    target: float
    status: str


class ResponseMetrics(BaseModel):
    since: datetime | None
    until: datetime | None
    channel: str | None
    rows: list[ResponseRow]
    talk_listen: list[TalkListen]
    talk_target: float
    #: SLA breaches and overdue threads per decision and channel (every
    #: triaged thread, whatever the range: `engagement.queries.sla_summary`).
    sla: dict[str, Any]
    #: The talk/listen governance (per channel, account, team, with flags:
    #: `rapport.reports.talk_listen`), for the same range.
    talk_listen_governance: dict[str, Any]
    #: Where the SLA, team and agent figures come from.
    engagement: str
    definitions: dict[str, str]


DEFINITIONS = {
    "addressed": "inbound messages replying to the account or @mentioning it (per account)",
    "answered": "the account wrote in the same thread after the message",
    "coverage": "answered / addressed",
    "first_response": "first addressed message of a thread → the account's first message after it",
    "talk_listen_ratio": "outbound / (outbound + inbound addressed), against the target",
    "sla_breaches": "answers later than their SLA, in the row's threads",
    "overdue": "open threads of the row whose next answer is already late",
}


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1]


class _Cell:
    def __init__(self) -> None:
        self.addressed = 0
        self.answered = 0
        self.threads: set[tuple[int, int]] = set()
        self.answered_threads: set[tuple[int, int]] = set()
        self.first: list[float] = []


def compute_response(session: Session, flt: ReportFilter | None = None) -> ResponseMetrics:
    flt = flt or ReportFilter()
    channel_id: int | None = None
    empty = False
    if flt.channel is not None:
        channel_id = session.execute(
            select(Channel.id).where(Channel.name == flt.channel)
        ).scalar_one_or_none()
        empty = channel_id is None
    asks: list[tuple[int, int, int, datetime, int]] = []
    if not empty:
        addressed = addressed_messages(flt, channel_id).subquery("addressed")
        asks = [
            (int(mid), int(tid), int(bid), at, int(ch))
            for mid, tid, bid, at, ch in session.execute(
                select(
                    addressed.c.mid,
                    addressed.c.tid,
                    addressed.c.bid,
                    Message.created_at,
                    Message.channel_id,
                ).join(Message, Message.id == addressed.c.mid)
            )
        ]
    threads = sorted({a[1] for a in asks})
    answers: dict[tuple[int, int], list[datetime]] = defaultdict(list)
    for start in range(0, len(threads), 5000):
        chunk = threads[start : start + 5000]
        for tid, author, at in session.execute(
            select(Message.thread_id, Message.author_identity_id, Message.created_at).where(
                in_values(session, Message.thread_id, chunk), Message.direction == OUTBOUND
            )
        ):
            if author is not None:
                answers[(int(tid), int(author))].append(at)
    for times in answers.values():
        times.sort()
    names = dict(
        session.execute(
            select(Identity.id, Identity.handle).where(
                in_values(session, Identity.id, sorted({a[2] for a in asks}))
            )
        ).all()
    )
    channels = dict(session.execute(select(Channel.id, Channel.name)).all())
    facts = thread_sla_facts(session, threads)
    target = get_settings().talk_target_outbound_share
    cells: dict[tuple[str, str], _Cell] = defaultdict(_Cell)
    first_ask: dict[tuple[int, int], datetime] = {}
    for _mid, tid, bid, at, _ch in asks:
        if (tid, bid) not in first_ask or at < first_ask[(tid, bid)]:
            first_ask[(tid, bid)] = at

    def groups_of(tid: int, bid: int, ch: int) -> list[tuple[str, str]]:
        groups = [
            ("overall", "all"),
            ("channel", str(channels.get(ch, ch))),
            ("account", str(names.get(bid, bid))),
        ]
        fact = facts.get(tid)
        if fact is not None and fact.team is not None:
            groups.append(("team", fact.team))
        if fact is not None and fact.assignee is not None:
            groups.append(("agent", fact.assignee))
        return groups

    pair_groups: dict[tuple[int, int], list[tuple[str, str]]] = {}
    for _mid, tid, bid, at, ch in asks:
        groups = pair_groups.setdefault((tid, bid), groups_of(tid, bid, ch))
        times = answers.get((tid, bid), [])
        answered = bisect.bisect_right(times, at) < len(times)
        for g in groups:
            cell = cells[g]
            cell.addressed += 1
            cell.answered += int(answered)
            cell.threads.add((tid, bid))
            if answered:
                cell.answered_threads.add((tid, bid))
    for pair, asked in first_ask.items():
        times = answers.get(pair, [])
        i = bisect.bisect_right(times, asked)
        if i < len(times):
            delay = (times[i] - asked).total_seconds()
            for g in pair_groups[pair]:
                cells[g].first.append(delay)
    rows = []
    order = {"overall": 0, "channel": 1, "account": 2, "team": 3, "agent": 4}
    for (group, key), c in sorted(cells.items(), key=lambda kv: (order[kv[0][0]], kv[0][1])):
        firsts = sorted(c.first)
        owned = [facts[t] for t in {tid for tid, _ in c.threads} if t in facts]
        rows.append(
            ResponseRow(
                group=group,
                key=key,
                addressed=c.addressed,
                answered=c.answered,
                coverage=round(c.answered / c.addressed, 4) if c.addressed else None,
                threads=len(c.threads),
                answered_threads=len(c.answered_threads),
                first_response_median_seconds=(
                    float(statistics.median(firsts)) if firsts else None
                ),
                first_response_p90_seconds=_quantile(firsts, 0.9),
                sla_breaches=sum(f.breaches for f in owned),
                overdue=sum(f.overdue for f in owned),
            )
        )
    report = compute_report(session, flt)
    talk = []
    for handle, b in sorted(
        report.brands.items(), key=lambda kv: -(kv[1].inbound + kv[1].outbound)
    ):
        ratio = b.talk_listen_ratio
        if ratio is None:
            status = "no messages"
        elif ratio > target + TALK_TOLERANCE:
            status = "talks too much"
        elif ratio < target - TALK_TOLERANCE:
            status = "listens more than target"
        else:
            status = "on target"
        talk.append(
            TalkListen(
                account=handle,
                outbound=b.outbound,
                inbound=b.inbound,
                ratio=ratio,
                target=target,
                status=status,
            )
        )
    note = (
        f"SLA, team and agent figures from the triage of {len(facts)} of {len(threads)} "
        "addressed threads (listen_only threads have no SLA)"
    )
    return ResponseMetrics(
        since=flt.since,
        until=flt.until,
        channel=flt.channel,
        rows=rows,
        talk_listen=talk,
        talk_target=target,
        sla=sla_summary(session),
        talk_listen_governance=talk_listen(session, flt).model_dump(mode="json"),
        engagement=note,
        definitions=DEFINITIONS,
    )


def response_tables(r: ResponseMetrics) -> list[CsvTable]:
    fields = list(ResponseRow.model_fields)
    return [
        CsvTable("response", fields, [[getattr(x, f) for f in fields] for x in r.rows]),
        CsvTable(
            "talk_listen",
            ["account", "outbound", "inbound", "ratio", "target", "status"],
            [
                [t.account, t.outbound, t.inbound, t.ratio, t.target, t.status]
                for t in r.talk_listen
            ],
        ),
    ]
