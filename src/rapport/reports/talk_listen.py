"""Talk/listen governance: how much we talk against how much we listen,
per channel, account and team, against a target share of outbound messages
(`RAPPORT_TALK_TARGET_OUTBOUND_SHARE`, default 0.25: about 25 % talk, 75 %
listen). Where the outbound share is above the target (with at least
`MIN_MESSAGES` messages, so one reply is not a verdict) we talk too much,
and the report says so.

- channel: messages in range on the channel, by direction;
- account: the contract's brand figures (`rapport.reports.summary`):
  outbound written by the account, inbound addressed to it;
- team: messages in the threads a team owns (`rapport.engagement.queries`).

One function (`talk_listen`) for `rapport report`, the API and the dashboard.
"""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rapport.conversations.models import Channel, Message
from rapport.reports.summary import Report, ReportFilter, compute_report
from rapport.settings import get_settings

MIN_MESSAGES = 10


class ShareRow(BaseModel):
    name: str
    inbound: int
    outbound: int
    outbound_share: float | None
    #: We talk too much here: the outbound share is above the target.
    over_target: bool


class TalkListen(BaseModel):
    target_outbound_share: float
    min_messages: int
    overall: ShareRow
    channels: list[ShareRow]
    accounts: list[ShareRow]
    teams: list[ShareRow]
    #: One sentence per place where we talk too much.
    flags: list[str]


def _row(name: str, inbound: int, outbound: int, target: float) -> ShareRow:
    total = inbound + outbound
    share = outbound / total if total else None
    return ShareRow(
        name=name,
        inbound=inbound,
        outbound=outbound,
        outbound_share=round(share, 4) if share is not None else None,
        over_target=share is not None and total >= MIN_MESSAGES and share > target,
    )


def talk_listen(
    session: Session,
    flt: ReportFilter | None = None,
    *,
    target: float | None = None,
    report: Report | None = None,
) -> TalkListen:
    """The talk/listen report for ``flt``'s range (``report``: the contract
    report for the same range, when the caller has it already)."""
    from rapport.engagement.queries import direction_counts_by_team

    flt = flt or ReportFilter()
    goal = target if target is not None else get_settings().talk_target_outbound_share
    channel_id: int | None = None
    if flt.channel is not None:
        channel_id = session.execute(
            select(Channel.id).where(Channel.name == flt.channel)
        ).scalar_one_or_none()
        if channel_id is None:
            empty = _row("all", 0, 0, goal)
            return TalkListen(
                target_outbound_share=goal, min_messages=MIN_MESSAGES, overall=empty,
                channels=[], accounts=[], teams=[], flags=[],
            )  # fmt: skip
    query = (
        select(Channel.name, Message.direction, func.count())
        .join(Channel, Channel.id == Message.channel_id)
        .group_by(Channel.name, Message.direction)
    )
    if flt.since is not None:
        query = query.where(Message.created_at >= flt.since)
    if flt.until is not None:
        query = query.where(Message.created_at < flt.until)
    if channel_id is not None:
        query = query.where(Message.channel_id == channel_id)
    per_channel: dict[str, dict[str, int]] = {}
    for name, direction, n in session.execute(query):
        per_channel.setdefault(str(name), {"inbound": 0, "outbound": 0})[str(direction)] = int(n)
    channels = [
        _row(name, c["inbound"], c["outbound"], goal) for name, c in sorted(per_channel.items())
    ]
    brands = (report or compute_report(session, flt)).brands
    accounts = [_row(handle, b.inbound, b.outbound, goal) for handle, b in brands.items()]
    accounts.sort(key=lambda r: -(r.inbound + r.outbound))
    teams = [
        _row(name, c["inbound"], c["outbound"], goal)
        for name, c in sorted(
            direction_counts_by_team(
                session, since=flt.since, until=flt.until, channel_id=channel_id
            ).items()
        )
    ]
    overall = _row(
        "all",
        sum(r.inbound for r in channels),
        sum(r.outbound for r in channels),
        goal,
    )
    flags = [
        f"{kind} {r.name}: {r.outbound_share:.0%} outbound ({r.outbound} of "
        f"{r.inbound + r.outbound} messages), above the {goal:.0%} target: we talk too much"
        for kind, rows in (("channel", channels), ("account", accounts), ("team", teams))
        for r in rows
        if r.over_target and r.outbound_share is not None
    ]
    return TalkListen(
        target_outbound_share=goal,
        min_messages=MIN_MESSAGES,
        overall=overall,
        channels=channels,
        accounts=accounts,
        teams=teams,
        flags=flags,
    )
