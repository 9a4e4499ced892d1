"""/api/v1/inbox, thread work (claim, release, assign, reply, suggestions),
/api/v1/outbox, /api/v1/policy, /api/v1/teams: engagement over HTTP."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from rapport.engagement import queries, service
from rapport.engagement.models import DECISIONS, OUTBOX_STATES, STATUSES
from rapport.engagement.schemas import (
    AssignBody,
    DecisionPublic,
    InboxFilter,
    InboxPage,
    OutboxPublic,
    PolicyPublic,
    PolicyTestResult,
    QueuedReply,
    ReplyCreate,
    SuggestionList,
    TeamCreate,
    TeamPublic,
)
from rapport.reports.summary import ReportFilter
from rapport.reports.talk_listen import TalkListen, talk_listen
from rapport.storage.engine import session_scope
from rapport.web.api import AUTH_ERRORS, NOT_FOUND
from rapport.web.api.reports import as_utc
from rapport.web.deps import db_session
from rapport.web.security import Caller, requires

router = APIRouter(prefix="/api/v1", responses={**AUTH_ERRORS, **NOT_FOUND})
ThreadId = Path(..., ge=1, le=2**62)


def actor_of(caller: Caller) -> service.Actor:
    p = caller.principal
    return service.Actor(p.email, p.id, p.username, p.name or p.username)


def inbox_filter(
    all: bool = Query(False, description="every thread exactly once, any status or decision"),
    status: str | None = Query(None, description=f"one of {', '.join(STATUSES)} (default open)"),
    team: str | None = Query(None, max_length=100),
    channel: str | None = Query(None, max_length=100),
    decision: str | None = Query(None, description=f"one of {', '.join(DECISIONS)}"),
    assignee: str | None = Query(None, max_length=255, description="a user, or `none`"),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=10_000_000),
) -> InboxFilter:
    return InboxFilter(
        all=all,
        status=status,
        team=team,
        channel=channel,
        decision=decision,
        assignee=assignee,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/inbox",
    response_model=InboxPage,
    tags=["inbox"],
    dependencies=[Depends(requires("conversations.read"))],
)
def get_inbox(
    flt: InboxFilter = Depends(inbox_filter), session: Session = Depends(db_session)
) -> InboxPage:
    """Threads by priority, each with its decision and reason, priority and
    its factors, SLA due time, assignee; counts per status under the filters."""
    page = queries.inbox(session, flt)
    page.counts = queries.status_counts(session, flt)
    return page


@router.get(
    "/threads/{thread_id}/decision",
    response_model=DecisionPublic,
    responses=NOT_FOUND,
    tags=["inbox"],
    dependencies=[Depends(requires("conversations.read"))],
)
def get_decision(
    thread_id: int = ThreadId, session: Session = Depends(db_session)
) -> DecisionPublic:
    """The thread's triage: decision, rule, reason, evidence, priority factors, SLA."""
    return queries.decision_of(session, thread_id)


@router.post(
    "/threads/{thread_id}/claim",
    response_model=DecisionPublic,
    responses=NOT_FOUND,
    tags=["inbox"],
)
def claim_thread(
    thread_id: int = ThreadId, caller: Caller = Depends(requires("conversations.work"))
) -> DecisionPublic:
    """Take the thread (422 when another agent holds it)."""
    with session_scope(write=True) as session:
        service.do_claim(session, thread_id, caller.principal.id, actor=caller.actor)
        return queries.decision_of(session, thread_id)


@router.post(
    "/threads/{thread_id}/release",
    response_model=DecisionPublic,
    responses=NOT_FOUND,
    tags=["inbox"],
)
def release_thread(
    thread_id: int = ThreadId, caller: Caller = Depends(requires("conversations.work"))
) -> DecisionPublic:
    """Give the thread back (its holder, or a manager)."""
    with session_scope(write=True) as session:
        service.do_release(session, thread_id, caller.principal.id, actor=caller.actor)
        return queries.decision_of(session, thread_id)


@router.post(
    "/threads/{thread_id}/assign",
    response_model=DecisionPublic,
    responses=NOT_FOUND,
    tags=["inbox"],
)
def assign_thread(
    body: AssignBody,
    thread_id: int = ThreadId,
    caller: Caller = Depends(requires("conversations.assign")),
) -> DecisionPublic:
    """Give the thread to a user (managers)."""
    with session_scope(write=True) as session:
        service.do_assign(session, thread_id, body.to, actor=caller.actor)
        return queries.decision_of(session, thread_id)


@router.post(
    "/threads/{thread_id}/reply",
    response_model=QueuedReply,
    status_code=201,
    responses=NOT_FOUND,
    tags=["inbox"],
)
def reply_to_thread(
    body: ReplyCreate,
    thread_id: int = ThreadId,
    caller: Caller = Depends(requires("conversations.work")),
) -> QueuedReply:
    """Queue a reply through the outbox (variables rendered, length and
    consent checked: a refusal queues nothing), then send it (a worker sends
    it when a broker is configured)."""
    from rapport.workers.tasks.engagement import dispatch_send

    with session_scope(write=True) as session:
        queued = service.do_queue_reply(
            session,
            thread_id,
            body.text,
            actor=actor_of(caller),
            channel=body.channel,
            private=body.private,
        )
    sent = dispatch_send(queued.outbox.id)
    if sent is not None:
        queued.outbox = sent
    return queued


@router.get(
    "/threads/{thread_id}/suggestions",
    response_model=SuggestionList,
    responses=NOT_FOUND,
    tags=["inbox"],
    dependencies=[Depends(requires("conversations.read"))],
)
def thread_suggestions(
    thread_id: int = ThreadId,
    limit: int = Query(3, ge=1, le=20),
    session: Session = Depends(db_session),
) -> SuggestionList:
    """Suggested answers with their sources and reasons (never sent by themselves)."""
    from rapport.conversations.queries import get_thread
    from rapport.engagement.suggest import suggest_for_thread

    get_thread(session, thread_id)
    return suggest_for_thread(session, thread_id, limit=limit)


class OutboxList(BaseModel):
    items: list[OutboxPublic]
    counts: dict[str, int]


@router.get(
    "/outbox",
    response_model=OutboxList,
    tags=["outbox"],
    dependencies=[Depends(requires("conversations.read"))],
)
def list_outbox(
    status: str | None = Query(None, description=f"one of {', '.join(OUTBOX_STATES)}"),
    thread_id: int | None = Query(None, ge=1, le=2**62),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=10_000_000),
    session: Session = Depends(db_session),
) -> OutboxList:
    """Replies on their way out, newest first, with status and reason."""
    return OutboxList(
        items=queries.list_outbox(
            session, status=status, thread_id=thread_id, limit=limit, offset=offset
        ),
        counts=queries.outbox_counts(session),
    )


class PolicyBody(BaseModel):
    """A policy document (YAML, as `rapport policy set` reads from a file)."""

    source: str = Field(min_length=1, max_length=200_000)


class PolicySet(BaseModel):
    version: int
    name: str
    rules: list[str]


@router.get(
    "/policy",
    response_model=PolicyPublic,
    tags=["policy"],
    dependencies=[Depends(requires("policy.read"))],
)
def get_policy(session: Session = Depends(db_session)) -> PolicyPublic:
    """The triage policy in force: its YAML, rules, SLA targets, weights."""
    return queries.show_policy(session)


@router.put("/policy", response_model=PolicySet, tags=["policy"])
def put_policy(body: PolicyBody, caller: Caller = Depends(requires("policy.write"))) -> PolicySet:
    """Put a new policy version in force (422 with the line and reason when
    invalid: the policy in force stays); every thread is decided again."""
    with session_scope(write=True) as session:
        version, policy = service.do_set_policy(
            session, body.source, actor=caller.actor, source=None
        )
    service.do_triage_all()
    return PolicySet(version=version, name=policy.name, rules=[r.id for r in policy.rules])


@router.post(
    "/policy/test",
    response_model=PolicyTestResult,
    tags=["policy"],
    dependencies=[Depends(requires("policy.read"))],
)
def test_policy(
    body: PolicyBody,
    limit: int = Query(50, ge=0, le=10_000),
    session: Session = Depends(db_session),
) -> PolicyTestResult:
    """Dry run: which stored threads' decisions would change, and why (nothing written)."""
    return service.preview_policy(session, body.source, source=None, limit=limit)


class TeamList(BaseModel):
    teams: list[TeamPublic]


@router.get(
    "/teams",
    response_model=TeamList,
    tags=["teams"],
    dependencies=[Depends(requires("conversations.read"))],
)
def get_teams(session: Session = Depends(db_session)) -> TeamList:
    return TeamList(teams=queries.list_teams(session))


@router.post("/teams", response_model=TeamPublic, status_code=201, tags=["teams"])
def create_team(body: TeamCreate, caller: Caller = Depends(requires("teams.write"))) -> TeamPublic:
    with session_scope(write=True) as session:
        return service.do_create_team(
            session, body.name, description=body.description, actor=caller.actor
        )


@router.get(
    "/reports/talk-listen",
    response_model=TalkListen,
    tags=["reports"],
    dependencies=[Depends(requires("reports.read"))],
)
def report_talk_listen(
    since: datetime | None = Query(None),
    until: datetime | None = Query(None),
    channel: str | None = Query(None, max_length=100),
    session: Session = Depends(db_session),
) -> TalkListen:
    """Outbound share per channel, account and team against the target, with
    the places where we talk too much."""
    return talk_listen(
        session, ReportFilter(since=as_utc(since), until=as_utc(until), channel=channel)
    )


class SlaReport(BaseModel):
    breaches: int
    overdue: int
    by_decision: dict[str, dict[str, int]]
    by_channel: dict[str, dict[str, int]]


@router.get(
    "/reports/sla",
    response_model=SlaReport,
    tags=["reports"],
    dependencies=[Depends(requires("reports.read"))],
)
def report_sla(session: Session = Depends(db_session)) -> SlaReport:
    """SLA breaches (answers later than due) and threads overdue now."""
    return SlaReport.model_validate(queries.sla_summary(session))
