"""Response metrics: first response time, coverage and the talk/listen ratio
per channel and account (and per team and agent, with SLA breaches, when
the engagement domain is installed: `engagement_link`).

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
  the target (25 % talk, 75 % listen: PRODUCT.md).
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
from rapport.reports.csvexport import CsvTable
from rapport.reports.engagement_link import engagement_view, talk_listen_governance
from rapport.reports.summary import ReportFilter, addressed_messages, compute_report
from rapport.storage.bulk import in_values

#: The healthy share of outbound messages (about 25 % talk to 75 % listen).
TALK_TARGET = 0.25
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
    talk_target: float = TALK_TARGET
    #: SLA figures from engagement (None: that domain is not installed).
    sla: dict[str, Any] | None
    #: Engagement's talk/listen governance (per channel, account, team, with
    #: flags), when installed (`rapport.reports.talk_listen`).
    talk_listen_governance: dict[str, Any] | None = None
    engagement: str
    definitions: dict[str, str]


DEFINITIONS = {
    "addressed": "inbound messages replying to the account or @mentioning it (per account)",
    "answered": "the account wrote in the same thread after the message",
    "coverage": "answered / addressed",
    "first_response": "first addressed message of a thread → the account's first message after it",
    "talk_listen_ratio": "outbound / (outbound + inbound addressed); target 25 %",
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
    eng = engagement_view(session, threads)
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
        if eng is not None:
            if tid in eng.team_of:
                groups.append(("team", eng.team_of[tid]))
            if tid in eng.agent_of:
                groups.append(("agent", eng.agent_of[tid]))
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
    by_channel = (eng.sla.get("by_channel", {}) if eng is not None else {}) or {}
    rows = []
    order = {"overall": 0, "channel": 1, "account": 2, "team": 3, "agent": 4}
    for (group, key), c in sorted(cells.items(), key=lambda kv: (order[kv[0][0]], kv[0][1])):
        firsts = sorted(c.first)
        sla = by_channel.get(key) if group == "channel" else None
        if group == "overall" and eng is not None:
            sla = {"breaches": eng.sla.get("breaches"), "overdue": eng.sla.get("overdue")}
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
                sla_breaches=int(sla["breaches"])
                if sla and sla.get("breaches") is not None
                else None,
                overdue=int(sla["overdue"]) if sla and sla.get("overdue") is not None else None,
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
        elif ratio > TALK_TARGET + TALK_TOLERANCE:
            status = "talks too much"
        elif ratio < TALK_TARGET - TALK_TOLERANCE:
            status = "listens more than target"
        else:
            status = "on target"
        talk.append(
            TalkListen(
                account=handle,
                outbound=b.outbound,
                inbound=b.inbound,
                ratio=ratio,
                target=TALK_TARGET,
                status=status,
            )
        )
    if eng is None:
        note = (
            "engagement domain not installed: SLA breaches and team/agent breakdowns "
            "appear once it is"
        )
    elif eng.missing:
        note = "engagement installed; not provided yet: " + ", ".join(eng.missing)
    else:
        note = "engagement installed"
    return ResponseMetrics(
        since=flt.since,
        until=flt.until,
        channel=flt.channel,
        rows=rows,
        talk_listen=talk,
        sla=eng.sla if eng is not None else None,
        talk_listen_governance=talk_listen_governance(session, flt),
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
