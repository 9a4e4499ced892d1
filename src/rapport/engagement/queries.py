"""Read-side functions of the engagement domain: the inbox, a thread's
decision and view, the outbox, the policy, teams. Other domains, the CLI,
the API and the pages read engagement through these."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from rapport.analysis.queries import analyses_for
from rapport.conversations import queries as conversations
from rapport.conversations.errors import ThreadNotFound
from rapport.conversations.schemas import MessagePreview
from rapport.engagement.errors import (
    CannedNotFound,
    EngagementError,
    LabelNotFound,
    OutboxItemNotFound,
    TeamNotFound,
    ViewNotFound,
)
from rapport.engagement.features import FIELDS
from rapport.engagement.models import (
    DECISIONS,
    OUTBOX_STATES,
    STATUSES,
    CannedResponse,
    CsatSurvey,
    Label,
    Notification,
    OutboxItem,
    PersonLabel,
    SavedView,
    Team,
    ThreadEvent,
    ThreadLabel,
    ThreadNote,
    ThreadState,
    TriagePolicy,
)
from rapport.engagement.policy import default_policy_text, parse_policy
from rapport.engagement.schemas import (
    CannedPublic,
    DecisionPublic,
    InboxFilter,
    InboxItem,
    InboxPage,
    LabelSummary,
    NotePublic,
    NotificationPublic,
    OutboxPublic,
    PolicyPublic,
    TeamPublic,
    ViewPublic,
)
from rapport.engagement.triage import explain_priority
from rapport.relationships import queries as relationships
from rapport.storage.base import utcnow
from rapport.storage.bulk import in_values
from rapport.users.models import User
from rapport.users.service import get_user

# ------------------------------------------------------------------ the inbox


def _usernames(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {
        int(i): u
        for i, u in session.execute(select(User.id, User.username).where(User.id.in_(ids)))
    }


def _team_names(session: Session) -> dict[int, str]:
    return {int(i): n for i, n in session.execute(select(Team.id, Team.name))}


def check_status(status: str) -> str:
    """``status`` if it is a thread status; refused naming the valid ones."""
    if status not in STATUSES:
        raise EngagementError(f"unknown status {status!r} (statuses: {', '.join(STATUSES)})")
    return status


def inbox_where(session: Session, flt: InboxFilter, *, with_status: bool = True) -> list[Any]:
    """The WHERE clauses of an inbox filter (bad names refused with the name)."""
    where: list[Any] = []
    if flt.status is not None:
        check_status(flt.status)
    if flt.decision is not None and flt.decision not in DECISIONS:
        raise EngagementError(
            f"unknown decision {flt.decision!r} (decisions: {', '.join(DECISIONS)})"
        )
    if with_status:
        if flt.status is not None:
            where.append(ThreadState.status == flt.status)
        elif not flt.all:
            where.append(ThreadState.status == "open")
    if flt.decision is not None:
        where.append(ThreadState.decision == flt.decision)
    elif not flt.all:
        where.append(ThreadState.decision != "listen_only")
    if flt.channel is not None:
        channels = conversations.channels_by_name(session)
        if flt.channel not in channels:
            raise EngagementError(
                f"unknown channel {flt.channel!r} (channels: {', '.join(sorted(channels))})"
            )
        where.append(ThreadState.channel_id == channels[flt.channel].id)
    if flt.team is not None:
        team = session.execute(select(Team.id).where(Team.name == flt.team)).scalar_one_or_none()
        if team is None:
            raise TeamNotFound(f"no team named {flt.team!r} (see `rapport teams list`)")
        where.append(ThreadState.team_id == team)
    if flt.assignee is not None:
        if flt.assignee.lower() == "none":
            where.append(ThreadState.assignee_user_id.is_(None))
        else:
            where.append(ThreadState.assignee_user_id == get_user(session, flt.assignee).id)
    if flt.label is not None:
        where.append(label_thread_filter(session, flt.label))
    return where


def inbox(session: Session, flt: InboxFilter, *, now: datetime | None = None) -> InboxPage:
    """Threads by priority (highest first), with decision, reason, SLA and
    assignee. By default the open threads that need us (not `listen_only`);
    ``flt.all``: every thread exactly once."""
    moment = now or utcnow()
    where = inbox_where(session, flt)
    rows = (
        session.execute(
            select(ThreadState)
            .where(*where)
            .order_by(ThreadState.priority.desc(), ThreadState.thread_id.desc())
            .limit(flt.limit)
            .offset(flt.offset)
        )
        .scalars()
        .all()
    )
    total, capped = capped_count(session, where)
    items = build_items(session, list(rows), moment)
    return InboxPage(
        items=items,
        total=total,
        total_capped=capped,
        limit=flt.limit,
        offset=flt.offset,
        filters=flt.model_dump(exclude_none=True, exclude={"limit", "offset"}),
    )


#: Counts stop here ("5000+"): an inbox page costs the same at any size.
COUNT_CAP = 5000


def capped_count(session: Session, where: list[Any], cap: int = COUNT_CAP) -> tuple[int, bool]:
    """How many threads match, counted up to ``cap`` (and whether it stopped there)."""
    sub = select(ThreadState.thread_id).where(*where).limit(cap + 1).subquery()
    n = int(session.execute(select(func.count()).select_from(sub)).scalar_one())
    return (cap, True) if n > cap else (n, False)


def status_counts(session: Session, flt: InboxFilter) -> dict[str, int]:
    """Threads per status under ``flt``'s other filters (the status tabs),
    each counted up to COUNT_CAP."""
    where = inbox_where(session, flt, with_status=False)
    return {s: capped_count(session, [*where, ThreadState.status == s])[0] for s in STATUSES}


_channel_cache: dict[tuple[str, int], str] = {}


def _channel_names(session: Session, ids: set[int]) -> dict[int, str]:
    """Channel id → name, remembered per database (channels are few and never renamed)."""
    url = str(session.get_bind().engine.url)
    if any((url, i) not in _channel_cache for i in ids):
        for name, c in conversations.channels_by_name(session).items():
            _channel_cache[(url, c.id)] = name
    return {i: _channel_cache.get((url, i), "") for i in ids}


def build_items(session: Session, rows: list[ThreadState], now: datetime) -> list[InboxItem]:
    """Inbox items for these states: previews by primary key only (the last
    message, the customer's identity), so a page costs the same at any size."""
    idents = conversations.identities_by_ids(
        session, sorted({r.customer_identity_id for r in rows if r.customer_identity_id})
    )
    last = {
        m.id: m
        for m in conversations.messages_by_ids(
            session, [r.last_message_id for r in rows if r.last_message_id]
        )
    }
    channels = _channel_names(session, {r.channel_id for r in rows})
    people = relationships.people_for_identities(session, sorted(idents))
    users = _usernames(session, {r.assignee_user_id for r in rows if r.assignee_user_id})
    teams = _team_names(session) if any(r.team_id for r in rows) else {}
    labels = labels_of_threads(session, [r.thread_id for r in rows])
    items = []
    for r in rows:
        msg = last.get(r.last_message_id or 0)
        ident = idents.get(r.customer_identity_id or 0)
        items.append(
            InboxItem(
                thread_id=r.thread_id,
                customer_id=people.get(r.customer_identity_id) if r.customer_identity_id else None,
                customer=ident.handle if ident else None,
                customer_identity_id=r.customer_identity_id,
                channel=channels.get(r.channel_id, ""),
                decision=r.decision,
                rule_id=r.rule_id,
                reason=r.reason,
                priority=r.priority,
                priority_reason=explain_priority(r.priority_factors or []),
                sla_due_at=r.sla_due_at,
                sla_kind=r.sla_kind,
                sla_overdue=r.sla_due_at is not None and r.sla_due_at < now,
                sla_breaches=r.sla_breaches,
                waiting_since=r.waiting_since,
                assignee=users.get(r.assignee_user_id) if r.assignee_user_id else None,
                team=teams.get(r.team_id) if r.team_id else None,
                status=r.status,
                labels=labels.get(r.thread_id, []),
                message_count=r.message_count,
                first_message_at=r.first_inbound_at,
                last_message_at=r.last_message_at,
                last_message=MessagePreview(
                    id=msg.id,
                    author=msg.author,
                    author_identity_id=msg.author_identity_id,
                    direction=msg.direction,
                    created_at=msg.created_at,
                    text=msg.text[: conversations.PREVIEW_CHARS],
                )
                if msg
                else None,
            )
        )
    return items


def states_of(session: Session, thread_ids: list[int]) -> list[ThreadState]:
    return list(
        session.execute(
            select(ThreadState).where(in_values(session, ThreadState.thread_id, thread_ids))
        ).scalars()
    )


def items_for_threads(session: Session, thread_ids: list[int]) -> dict[int, InboxItem]:
    """The triage of these threads as inbox items (threads without one absent)."""
    if not thread_ids:
        return {}
    rows = states_of(session, thread_ids)
    return {i.thread_id: i for i in build_items(session, rows, utcnow())}


def untriaged_threads(session: Session) -> int:
    """Threads with no decision yet (stored before engagement was installed)."""
    from rapport.conversations.models import Thread

    total = session.execute(select(func.count()).select_from(Thread)).scalar_one()
    decided = session.execute(select(func.count()).select_from(ThreadState)).scalar_one()
    return max(0, int(total) - int(decided))


# ------------------------------------------------------------------ one thread


def thread_state(session: Session, thread_id: int) -> ThreadState:
    state = session.get(ThreadState, thread_id)
    if state is None:
        conversations.get_thread(session, thread_id)
        raise ThreadNotFound(
            f"thread {thread_id} has no triage decision yet: run `rapport triage {thread_id}`"
        )
    return state


def decision_of(session: Session, thread_id: int, *, now: datetime | None = None) -> DecisionPublic:
    state = thread_state(session, thread_id)
    moment = now or utcnow()
    users = _usernames(session, {state.assignee_user_id} if state.assignee_user_id else set())
    teams = _team_names(session) if state.team_id else {}
    customer = (
        relationships.person_for_identity(session, state.customer_identity_id)
        if state.customer_identity_id
        else None
    )
    return DecisionPublic(
        thread_id=state.thread_id,
        decision=state.decision,
        rule_id=state.rule_id,
        reason=state.reason,
        policy_version=state.policy_version,
        evidence=state.evidence or {},
        decided_at=state.decided_at,
        priority=state.priority,
        priority_factors=state.priority_factors or [],
        priority_reason=explain_priority(state.priority_factors or []),
        waiting_since=state.waiting_since,
        sla_due_at=state.sla_due_at,
        sla_kind=state.sla_kind,
        sla_overdue=state.sla_due_at is not None and state.sla_due_at < moment,
        sla_breaches=state.sla_breaches,
        first_response_at=state.first_response_at,
        assignee=users.get(state.assignee_user_id) if state.assignee_user_id else None,
        assigned_at=state.assigned_at,
        assigned_how=state.assigned_how,
        team=teams.get(state.team_id) if state.team_id else None,
        status=state.status,
        status_changed_at=state.status_changed_at,
        resolved_at=state.resolved_at,
        snoozed_until=state.snoozed_until,
        reopen_count=state.reopen_count,
        csat_score=state.csat_score,
        csat_at=state.csat_at,
        customer_id=customer,
        customer_identity_id=state.customer_identity_id,
        brand_identity_id=state.brand_identity_id,
    )


def thread_view(session: Session, thread_id: int) -> dict[str, Any]:
    """`threads show --json`: the thread, its messages with analysis (and the
    internal notes, marked), the decision, status, labels and outbox."""
    thread = conversations.get_thread(session, thread_id)
    decision = decision_of(session, thread_id)
    messages = conversations.thread_messages(session, thread_id)
    analyses = analyses_for(session, [m.id for m in messages])
    people = relationships.people_for_identities(
        session, sorted({m.author_identity_id for m in messages if m.author_identity_id})
    )
    timeline: list[dict[str, Any]] = [
        {
            "kind": "message",
            **m.model_dump(mode="json"),
            "person_id": people.get(m.author_identity_id) if m.author_identity_id else None,
            "analysis": asdict(analyses[m.id]) if m.id in analyses else None,
            "internal": False,
        }
        for m in messages
    ]
    notes = notes_of_thread(session, thread_id)
    timeline = sorted(
        [*timeline, *({"kind": "note", **n.model_dump(mode="json")} for n in notes)],
        key=lambda e: (e["created_at"], 0 if e["kind"] == "message" else 1),
    )
    return {
        "thread": thread.model_dump(mode="json"),
        "customer_id": decision.customer_id,
        "decision": decision.model_dump(mode="json"),
        "status": decision.status,
        "status_changed_at": decision.status_changed_at.isoformat(),
        "resolved_at": decision.resolved_at.isoformat() if decision.resolved_at else None,
        "snoozed_until": decision.snoozed_until.isoformat() if decision.snoozed_until else None,
        "assignee": decision.assignee,
        "labels": labels_of_threads(session, [thread_id]).get(thread_id, []),
        "messages": [e for e in timeline if e["kind"] == "message"],
        "notes": [n.model_dump(mode="json") for n in notes],
        "timeline": timeline,
        "csat": {"score": decision.csat_score, "surveys": surveys_of_thread(session, thread_id)},
        "outbox": [o.model_dump(mode="json") for o in list_outbox(session, thread_id=thread_id)],
    }


# ------------------------------------------------------------------ outbox


def list_outbox(
    session: Session,
    *,
    status: str | None = None,
    thread_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[OutboxPublic]:
    """Outbox entries, newest first."""
    if status is not None and status not in OUTBOX_STATES:
        raise EngagementError(
            f"unknown outbox status {status!r} (states: {', '.join(OUTBOX_STATES)})"
        )
    query = select(OutboxItem)
    if status is not None:
        query = query.where(OutboxItem.status == status)
    if thread_id is not None:
        query = query.where(OutboxItem.thread_id == thread_id)
    rows = session.execute(
        query.order_by(OutboxItem.id.desc()).limit(limit).offset(offset)
    ).scalars()
    return [OutboxPublic.model_validate(r) for r in rows]


def get_outbox_item(session: Session, outbox_id: int) -> OutboxPublic:
    item = session.get(OutboxItem, outbox_id)
    if item is None:
        raise OutboxItemNotFound(f"outbox entry {outbox_id} not found")
    return OutboxPublic.model_validate(item)


def outbox_counts(session: Session) -> dict[str, int]:
    counts = {s: 0 for s in OUTBOX_STATES}
    for status, n in session.execute(
        select(OutboxItem.status, func.count()).group_by(OutboxItem.status)
    ):
        counts[str(status)] = int(n)
    return counts


# ------------------------------------------------------------------ policy


def show_policy(session: Session) -> PolicyPublic:
    """The policy in force (version 0: the shipped default, never changed)."""
    row = session.execute(
        select(TriagePolicy).order_by(TriagePolicy.version.desc()).limit(1)
    ).scalar_one_or_none()
    if row is None:
        text = default_policy_text()
        policy = parse_policy(text)
        return PolicyPublic(
            version=0,
            name=policy.name,
            source=text,
            created_by="rapport (shipped default)",
            created_at=None,
            compiled=policy.describe(),
        )
    return PolicyPublic(
        version=row.version,
        name=row.name,
        source=row.source,
        created_by=row.created_by,
        created_at=row.created_at,
        compiled=parse_policy(row.source).describe(),
    )


def policy_versions(session: Session) -> list[dict[str, Any]]:
    return [
        {"version": v, "name": n, "created_by": b, "created_at": a}
        for v, n, b, a in session.execute(
            select(
                TriagePolicy.version,
                TriagePolicy.name,
                TriagePolicy.created_by,
                TriagePolicy.created_at,
            ).order_by(TriagePolicy.version)
        )
    ]


def policy_fields() -> dict[str, dict[str, str]]:
    return {name: {"type": spec.kind, "help": spec.help} for name, spec in FIELDS.items()}


def decision_counts(session: Session) -> dict[str, int]:
    counts = {d: 0 for d in DECISIONS}
    for decision, n in session.execute(
        select(ThreadState.decision, func.count()).group_by(ThreadState.decision)
    ):
        counts[str(decision)] = int(n)
    return counts


def sla_summary(session: Session, *, now: datetime | None = None) -> dict[str, Any]:
    """SLA breaches (answers later than due) and overdue threads, per
    decision and channel."""
    moment = now or utcnow()
    channels = {c.id: name for name, c in conversations.channels_by_name(session).items()}
    out: dict[str, Any] = {"breaches": 0, "overdue": 0, "by_decision": {}, "by_channel": {}}
    rows = session.execute(
        select(
            ThreadState.decision,
            ThreadState.channel_id,
            func.sum(ThreadState.sla_breaches),
            func.count(),
        )
        .where(ThreadState.decision != "listen_only")
        .group_by(ThreadState.decision, ThreadState.channel_id)
    ).all()
    overdue = session.execute(
        select(ThreadState.decision, ThreadState.channel_id, func.count())
        .where(
            ThreadState.sla_due_at.is_not(None),
            ThreadState.sla_due_at < moment,
            ThreadState.status == "open",
        )
        .group_by(ThreadState.decision, ThreadState.channel_id)
    ).all()
    late = {(d, c): int(n) for d, c, n in overdue}
    for decision, channel_id, breaches, threads in rows:
        channel = channels.get(int(channel_id), str(channel_id))
        for key, group in (("by_decision", decision), ("by_channel", channel)):
            cell = out[key].setdefault(group, {"threads": 0, "breaches": 0, "overdue": 0})
            cell["threads"] += int(threads)
            cell["breaches"] += int(breaches or 0)
            cell["overdue"] += late.get((decision, channel_id), 0)
        out["breaches"] += int(breaches or 0)
        out["overdue"] += late.get((decision, channel_id), 0)
    return out


# ------------------------------------------------------------------ teams


def get_team(session: Session, name: str) -> TeamPublic:
    team = session.execute(select(Team).where(Team.name == name)).scalar_one_or_none()
    if team is None:
        raise TeamNotFound(f"no team named {name!r} (see `rapport teams list`)")
    members = list(
        session.execute(
            select(User.username).where(User.team == name).order_by(User.username)
        ).scalars()
    )
    return TeamPublic(
        id=team.id,
        name=team.name,
        description=team.description,
        members=members,
        created_at=team.created_at,
    )


def list_teams(session: Session) -> list[TeamPublic]:
    names = list(session.execute(select(Team.name).order_by(Team.name)).scalars())
    return [get_team(session, n) for n in names]


def team_of_threads(session: Session, thread_ids: list[int]) -> dict[int, str]:
    """thread id → its team's name (threads with a team only)."""
    if not thread_ids:
        return {}
    names = _team_names(session)
    return {
        int(t): names[int(team or 0)]
        for t, team in session.execute(
            select(ThreadState.thread_id, ThreadState.team_id).where(
                in_values(session, ThreadState.thread_id, thread_ids),
                ThreadState.team_id.is_not(None),
            )
        )
    }


@dataclass(frozen=True)
class ThreadSla:
    """Who owns a thread and how its SLA went, for the response metrics."""

    team: str | None
    assignee: str | None
    #: Answers later than their SLA (first and next responses).
    breaches: int
    #: An open thread whose next answer is already late.
    overdue: bool


def thread_sla_facts(
    session: Session, thread_ids: list[int], *, now: datetime | None = None
) -> dict[int, ThreadSla]:
    """thread id → team, assignee and SLA figures, for triaged threads that
    expect an answer (``listen_only`` threads have no SLA)."""
    if not thread_ids:
        return {}
    moment = now or utcnow()
    teams = _team_names(session)
    rows: list[Any] = []
    for start in range(0, len(thread_ids), 5000):
        rows += session.execute(
            select(
                ThreadState.thread_id,
                ThreadState.team_id,
                ThreadState.assignee_user_id,
                ThreadState.sla_breaches,
                ThreadState.sla_due_at,
                ThreadState.status,
            ).where(
                in_values(session, ThreadState.thread_id, thread_ids[start : start + 5000]),
                ThreadState.decision != "listen_only",
            )
        ).all()
    users = _usernames(session, {int(r[2]) for r in rows if r[2] is not None})
    return {
        int(tid): ThreadSla(
            team=teams.get(int(team)) if team is not None else None,
            assignee=users.get(int(user)) if user is not None else None,
            breaches=int(breaches or 0),
            overdue=due is not None and status == "open" and due < moment,
        )
        for tid, team, user, breaches, due, status in rows
    }


def direction_counts_by_team(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    channel_id: int | None = None,
) -> dict[str, dict[str, int]]:
    """Messages per direction in the threads of each team (team name →
    {"inbound", "outbound"}), for the talk/listen report."""
    from rapport.conversations.models import Message

    query = (
        select(Team.name, Message.direction, func.count())
        .select_from(Message)
        .join(ThreadState, ThreadState.thread_id == Message.thread_id)
        .join(Team, Team.id == ThreadState.team_id)
        .group_by(Team.name, Message.direction)
    )
    if since is not None:
        query = query.where(Message.created_at >= since)
    if until is not None:
        query = query.where(Message.created_at < until)
    if channel_id is not None:
        query = query.where(Message.channel_id == channel_id)
    out: dict[str, dict[str, int]] = {}
    for team, direction, n in session.execute(query):
        out.setdefault(str(team), {"inbound": 0, "outbound": 0})[str(direction)] = int(n)
    return out


# ------------------------------------------------------------------ labels, notes, canned, views


def label_key(name: str) -> str:
    return " ".join(name.strip().lower().split())


def _label_id(session: Session, name: str) -> int:
    found = session.execute(
        select(Label.id).where(Label.name == label_key(name))
    ).scalar_one_or_none()
    if found is None:
        raise LabelNotFound(f"no label named {label_key(name)!r} (see `rapport labels list`)")
    return int(found)


def threads_with_label(session: Session, name: str) -> Select[int]:
    """The ids of the threads with label ``name`` (unknown label refused by name)."""
    label = _label_id(session, name)
    return select(ThreadLabel.thread_id).where(ThreadLabel.label_id == label)


def label_thread_filter(session: Session, name: str) -> Any:
    """A WHERE clause: threads with label ``name`` (unknown label refused by name)."""
    return ThreadState.thread_id.in_(threads_with_label(session, name))


def people_with_label(session: Session, name: str) -> list[int]:
    """The people holding label ``name`` (a segment for reports)."""
    label = _label_id(session, name)
    return [
        int(p)
        for p in session.execute(
            select(PersonLabel.person_id).where(PersonLabel.label_id == label)
        ).scalars()
    ]


def _labels_of(session: Session, column: Any, ids: list[int]) -> dict[int, list[str]]:
    """Label names per owner (a thread or a person), given the owner column."""
    if not ids:
        return {}
    link = column.class_
    out: dict[int, list[str]] = {}
    for owner, name in session.execute(
        select(column, Label.name)
        .join(Label, Label.id == link.label_id)
        .where(in_values(session, column, ids))
        .order_by(Label.name)
    ):
        out.setdefault(int(owner), []).append(str(name))
    return out


def labels_of_threads(session: Session, thread_ids: list[int]) -> dict[int, list[str]]:
    return _labels_of(session, ThreadLabel.thread_id, thread_ids)


def labels_of_people(session: Session, person_ids: list[int]) -> dict[int, list[str]]:
    return _labels_of(session, PersonLabel.person_id, person_ids)


def list_labels(session: Session) -> list[LabelSummary]:
    """Every label with how many threads and people hold it."""
    threads = dict(
        session.execute(
            select(ThreadLabel.label_id, func.count()).group_by(ThreadLabel.label_id)
        ).all()
    )
    people = dict(
        session.execute(
            select(PersonLabel.label_id, func.count()).group_by(PersonLabel.label_id)
        ).all()
    )
    return [
        LabelSummary(name=name, threads=int(threads.get(lid, 0)), people=int(people.get(lid, 0)))
        for lid, name in session.execute(select(Label.id, Label.name).order_by(Label.name))
    ]


def notes_of_thread(session: Session, thread_id: int) -> list[NotePublic]:
    return [
        NotePublic.model_validate(n)
        for n in session.execute(
            select(ThreadNote)
            .where(ThreadNote.thread_id == thread_id)
            .order_by(ThreadNote.created_at, ThreadNote.id)
        ).scalars()
    ]


def notifications_for(
    session: Session, user_id: int, *, unread_only: bool = False, limit: int = 100
) -> list[NotificationPublic]:
    """A user's notifications, unread first, newest first."""
    query = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    rows = session.execute(
        query.order_by(Notification.read_at.is_not(None), Notification.id.desc()).limit(limit)
    ).scalars()
    return [NotificationPublic.model_validate(n) for n in rows]


def _canned_public(row: CannedResponse) -> CannedPublic:
    from rapport.engagement.placeholders import variables_in

    return CannedPublic(
        shortcode=row.shortcode,
        text=row.text,
        variables=list(dict.fromkeys(variables_in(row.text))),
        created_by=row.created_by,
        updated_at=row.updated_at,
    )


def list_canned(session: Session) -> list[CannedPublic]:
    rows = session.execute(select(CannedResponse).order_by(CannedResponse.shortcode)).scalars()
    return [_canned_public(r) for r in rows]


def canned_text(session: Session, shortcode: str) -> str:
    row = session.execute(
        select(CannedResponse).where(CannedResponse.shortcode == shortcode.strip().lstrip("/"))
    ).scalar_one_or_none()
    if row is None:
        raise CannedNotFound(f"no canned response {shortcode!r} (see `rapport canned list`)")
    return row.text


def list_views(session: Session) -> list[ViewPublic]:
    rows = session.execute(select(SavedView).order_by(SavedView.name)).scalars()
    return [ViewPublic.model_validate(r) for r in rows]


def view_filter(session: Session, name: str, **overrides: Any) -> InboxFilter:
    """The inbox filter saved as ``name``, with explicit options on top."""
    row = session.execute(select(SavedView).where(SavedView.name == name)).scalar_one_or_none()
    if row is None:
        raise ViewNotFound(f"no saved view named {name!r} (see `rapport views list`)")
    values = {**(row.filters or {}), **{k: v for k, v in overrides.items() if v is not None}}
    return InboxFilter(**values)


def surveys_of_thread(session: Session, thread_id: int) -> list[dict[str, Any]]:
    return [
        {
            "id": s.id,
            "outbox_id": s.outbox_id,
            "channel": s.channel,
            "created_at": s.created_at,
            "score": s.score,
            "answered_at": s.answered_at,
            "via": s.via,
        }
        for s in session.execute(
            select(CsatSurvey).where(CsatSurvey.thread_id == thread_id).order_by(CsatSurvey.id)
        ).scalars()
    ]


# ------------------------------------------------------------------ facts for the inbox reports


@dataclass(frozen=True)
class StatusEventFact:
    thread_id: int
    from_status: str
    to_status: str
    at: datetime
    assignee: str | None


@dataclass(frozen=True)
class ThreadFact:
    thread_id: int
    channel: str
    team: str | None
    assignee: str | None
    customer_person_id: int | None
    labels: tuple[str, ...]
    started_at: datetime | None
    status: str


@dataclass(frozen=True)
class SurveyFact:
    thread_id: int | None
    channel: str
    agent: str | None
    team: str | None
    created_at: datetime
    sent: bool
    score: int | None


def status_events(session: Session) -> list[StatusEventFact]:
    """Every status change, in time order per thread."""
    rows = session.execute(
        select(
            ThreadEvent.thread_id,
            ThreadEvent.from_status,
            ThreadEvent.to_status,
            ThreadEvent.at,
            ThreadEvent.assignee_user_id,
        ).order_by(ThreadEvent.thread_id, ThreadEvent.at, ThreadEvent.id)
    ).all()
    users = _usernames(session, {int(r[4]) for r in rows if r[4] is not None})
    return [
        StatusEventFact(int(t), str(f), str(to), at, users.get(int(u)) if u else None)
        for t, f, to, at, u in rows
    ]


def thread_facts(session: Session, thread_ids: list[int]) -> dict[int, ThreadFact]:
    """Channel, team, assignee, customer, labels and start of these threads."""
    if not thread_ids:
        return {}
    rows = states_of(session, thread_ids)
    channels = _channel_names(session, {r.channel_id for r in rows})
    teams = _team_names(session)
    users = _usernames(session, {r.assignee_user_id for r in rows if r.assignee_user_id})
    people = relationships.people_for_identities(
        session, [r.customer_identity_id for r in rows if r.customer_identity_id]
    )
    labels = labels_of_threads(session, thread_ids)
    return {
        r.thread_id: ThreadFact(
            thread_id=r.thread_id,
            channel=channels.get(r.channel_id, ""),
            team=teams.get(r.team_id) if r.team_id else None,
            assignee=users.get(r.assignee_user_id) if r.assignee_user_id else None,
            customer_person_id=people.get(r.customer_identity_id)
            if r.customer_identity_id
            else None,
            labels=tuple(labels.get(r.thread_id, [])),
            started_at=r.first_inbound_at,
            status=r.status,
        )
        for r in rows
    }


def survey_facts(session: Session) -> list[SurveyFact]:
    rows = session.execute(
        select(CsatSurvey, OutboxItem.status)
        .outerjoin(OutboxItem, OutboxItem.id == CsatSurvey.outbox_id)
        .order_by(CsatSurvey.id)
    ).all()
    users = _usernames(session, {s.agent_user_id for s, _ in rows if s.agent_user_id})
    teams = _team_names(session)
    return [
        SurveyFact(
            thread_id=s.thread_id,
            channel=s.channel,
            agent=users.get(s.agent_user_id) if s.agent_user_id else None,
            team=teams.get(s.team_id) if s.team_id else None,
            created_at=s.created_at,
            sent=status == "sent",
            score=s.score,
        )
        for s, status in rows
    ]


def inbox_version(session: Session) -> str:
    """Changes when any thread's triage, status, labels or notes change (the
    inbox page polls it to refresh without a reload)."""
    changed, count = session.execute(
        select(func.max(ThreadState.updated_at), func.count()).select_from(ThreadState)
    ).one()
    return f"{changed.isoformat() if changed else '-'}|{int(count)}"
