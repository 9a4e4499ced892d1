"""/api/v1/inbox, thread work (claim, release, assign, reply, suggestions),
/api/v1/outbox, /api/v1/policy, /api/v1/teams: engagement over HTTP."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from rapport.engagement import queries, service, workspace
from rapport.engagement.models import DECISIONS, OUTBOX_STATES, STATUSES
from rapport.engagement.schemas import (
    AssignBody,
    BulkAction,
    BulkResult,
    CannedCreate,
    CannedPublic,
    DecisionPublic,
    InboxFilter,
    InboxPage,
    LabelsBody,
    LabelSummary,
    NoteCreate,
    NotePublic,
    NotificationPublic,
    OutboxPublic,
    PolicyPublic,
    PolicyTestResult,
    QueuedReply,
    ReplyCreate,
    StatusBody,
    StatusChange,
    SuggestionList,
    TeamCreate,
    TeamPublic,
    ViewCreate,
    ViewPublic,
)
from rapport.reports import inbox_metrics
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
    label: str | None = Query(None, max_length=50),
    view: str | None = Query(None, max_length=100, description="a saved view's name"),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=10_000_000),
    session: Session = Depends(db_session),
) -> InboxFilter:
    given = {
        "status": status,
        "team": team,
        "channel": channel,
        "decision": decision,
        "assignee": assignee,
        "label": label,
    }
    if view:
        flt = queries.view_filter(session, view, **given, limit=limit, offset=offset)
        flt.all = flt.all or all
        return flt
    return InboxFilter(all=all, limit=limit, offset=offset, **given)


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
            canned=body.canned,
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


# ---------------------------------------------------------------- inbox essentials


@router.post("/threads/{thread_id}/status", response_model=StatusChange, tags=["inbox"])
def set_status(
    body: StatusBody,
    thread_id: int = ThreadId,
    caller: Caller = Depends(requires("conversations.work")),
) -> StatusChange:
    """open, pending (waiting on the customer), snoozed (`until` in the future)
    or resolved (a CSAT survey goes out on private channels, at most one a day)."""
    from rapport.workers.tasks.engagement import dispatch_send

    with session_scope(write=True) as session:
        result = workspace.do_set_status(
            session, thread_id, body.status, actor=actor_of(caller), until=as_utc(body.until)
        )
    if result.survey_outbox_id:
        dispatch_send(result.survey_outbox_id)
    return result


class ThreadLabels(BaseModel):
    thread_id: int
    labels: list[str]


@router.post("/threads/{thread_id}/labels", response_model=ThreadLabels, tags=["labels"])
def add_labels(
    body: LabelsBody,
    thread_id: int = ThreadId,
    caller: Caller = Depends(requires("conversations.work")),
) -> ThreadLabels:
    with session_scope(write=True) as session:
        now = workspace.do_label_thread(session, thread_id, body.labels, actor=caller.actor)
    return ThreadLabels(thread_id=thread_id, labels=now)


@router.delete("/threads/{thread_id}/labels/{label}", response_model=ThreadLabels, tags=["labels"])
def remove_label(
    thread_id: int = ThreadId,
    label: str = Path(..., max_length=50),
    caller: Caller = Depends(requires("conversations.work")),
) -> ThreadLabels:
    with session_scope(write=True) as session:
        now = workspace.do_label_thread(
            session, thread_id, [label], actor=caller.actor, remove=True
        )
    return ThreadLabels(thread_id=thread_id, labels=now)


class LabelList(BaseModel):
    labels: list[LabelSummary]


@router.get(
    "/labels",
    response_model=LabelList,
    tags=["labels"],
    dependencies=[Depends(requires("conversations.read"))],
)
def get_labels(session: Session = Depends(db_session)) -> LabelList:
    """Every label, with the threads and people holding it."""
    return LabelList(labels=queries.list_labels(session))


class PersonLabels(BaseModel):
    person_id: int
    labels: list[str]


@router.post("/people/{person_id}/labels", response_model=PersonLabels, tags=["labels"])
def label_person(
    body: LabelsBody,
    person_id: int = Path(..., ge=1, le=2**62),
    caller: Caller = Depends(requires("people.label")),
) -> PersonLabels:
    """Labels on a person (personal data: in their export, gone on erasure)."""
    with session_scope(write=True) as session:
        now = workspace.do_label_person(session, person_id, body.labels, actor=caller.actor)
    return PersonLabels(person_id=person_id, labels=now)


class NoteList(BaseModel):
    notes: list[NotePublic]


@router.get(
    "/threads/{thread_id}/notes",
    response_model=NoteList,
    tags=["notes"],
    dependencies=[Depends(requires("conversations.read"))],
)
def get_notes(thread_id: int = ThreadId, session: Session = Depends(db_session)) -> NoteList:
    from rapport.conversations.queries import get_thread

    get_thread(session, thread_id)
    return NoteList(notes=queries.notes_of_thread(session, thread_id))


@router.post(
    "/threads/{thread_id}/notes", response_model=NotePublic, status_code=201, tags=["notes"]
)
def add_note(
    body: NoteCreate,
    thread_id: int = ThreadId,
    caller: Caller = Depends(requires("conversations.work")),
) -> NotePublic:
    """An internal note (never sent); `@username` notifies that user."""
    with session_scope(write=True) as session:
        return workspace.do_add_note(session, thread_id, body.text, actor=actor_of(caller))


class NotificationList(BaseModel):
    items: list[NotificationPublic]
    unread: int


@router.get("/notifications", response_model=NotificationList, tags=["notes"])
def get_notifications(
    unread: bool = Query(False, description="only unread ones"),
    caller: Caller = Depends(requires("conversations.read")),
    session: Session = Depends(db_session),
) -> NotificationList:
    """The caller's notifications (@mentions in notes), unread first."""
    items = queries.notifications_for(session, caller.principal.id, unread_only=unread)
    return NotificationList(items=items, unread=sum(1 for i in items if i.read_at is None))


class MarkRead(BaseModel):
    marked: int


@router.post("/notifications/read", response_model=MarkRead, tags=["notes"])
def read_notifications(caller: Caller = Depends(requires("conversations.read"))) -> MarkRead:
    with session_scope(write=True) as session:
        return MarkRead(marked=workspace.do_mark_read(session, caller.principal.id))


class CannedList(BaseModel):
    canned: list[CannedPublic]


@router.get(
    "/canned",
    response_model=CannedList,
    tags=["canned"],
    dependencies=[Depends(requires("conversations.read"))],
)
def get_canned(session: Session = Depends(db_session)) -> CannedList:
    return CannedList(canned=queries.list_canned(session))


@router.post("/canned", response_model=CannedPublic, status_code=201, tags=["canned"])
def add_canned(
    body: CannedCreate, caller: Caller = Depends(requires("canned.write"))
) -> CannedPublic:
    """A canned response; an unknown `{{variable}}` is refused by name."""
    with session_scope(write=True) as session:
        return workspace.do_save_canned(session, body.shortcode, body.text, actor=caller.actor)


@router.delete("/canned/{shortcode}", status_code=204, tags=["canned"])
def delete_canned(
    shortcode: str = Path(..., max_length=50), caller: Caller = Depends(requires("canned.write"))
) -> None:
    with session_scope(write=True) as session:
        workspace.do_delete_canned(session, shortcode, actor=caller.actor)


@router.post("/threads/bulk", response_model=BulkResult, tags=["inbox"])
def bulk_threads(
    body: BulkAction, caller: Caller = Depends(requires("conversations.work"))
) -> BulkResult:
    """One action on many threads in one transaction: all or nothing (422
    with a reason per refused thread)."""
    from rapport.engagement.errors import PermissionDenied
    from rapport.workers.tasks.engagement import dispatch_send

    if body.assign is not None and not caller.can("conversations.assign"):
        raise PermissionDenied("assigning threads needs conversations.assign (managers)")
    body.until = as_utc(body.until)
    with session_scope(write=True) as session:
        result = workspace.do_bulk(session, body, actor=actor_of(caller))
    for outbox_id in result.surveys:
        dispatch_send(outbox_id)
    return result


class ViewList(BaseModel):
    views: list[ViewPublic]


@router.get(
    "/views",
    response_model=ViewList,
    tags=["inbox"],
    dependencies=[Depends(requires("conversations.read"))],
)
def get_views(session: Session = Depends(db_session)) -> ViewList:
    return ViewList(views=queries.list_views(session))


@router.post("/views", response_model=ViewPublic, status_code=201, tags=["inbox"])
def save_view(
    body: ViewCreate, caller: Caller = Depends(requires("conversations.read"))
) -> ViewPublic:
    """Save an inbox filter (status, decision, channel, team, assignee, label, all)."""
    with session_scope(write=True) as session:
        return workspace.do_save_view(session, body.name, body.filters, actor=caller.actor)


def metrics_filter(
    by: str = Query("all", description="all, channel, team, agent or label"),
    since: datetime | None = Query(None),
    until: datetime | None = Query(None),
    channel: str | None = Query(None, max_length=100),
    people_label: str | None = Query(None, max_length=50, description="a customer segment"),
) -> inbox_metrics.MetricsFilter:
    from rapport.engagement.errors import EngagementError

    if by not in inbox_metrics.GROUPS:
        raise EngagementError(f"by: {by!r} is not one of {', '.join(inbox_metrics.GROUPS)}")
    return inbox_metrics.MetricsFilter(
        by=by,
        since=as_utc(since),
        until=as_utc(until),
        channel=channel,
        segment=people_label,
    )


@router.get(
    "/reports/resolution",
    response_model=inbox_metrics.DurationReport,
    tags=["reports"],
    dependencies=[Depends(requires("reports.read"))],
)
def report_resolution(
    flt: inbox_metrics.MetricsFilter = Depends(metrics_filter),
    session: Session = Depends(db_session),
) -> inbox_metrics.DurationReport:
    """Resolution time (median, p90) per channel, team, agent or label."""
    return inbox_metrics.resolution_time(session, flt)


@router.get(
    "/reports/reopen",
    response_model=inbox_metrics.ReopenReport,
    tags=["reports"],
    dependencies=[Depends(requires("reports.read"))],
)
def report_reopen(
    flt: inbox_metrics.MetricsFilter = Depends(metrics_filter),
    session: Session = Depends(db_session),
) -> inbox_metrics.ReopenReport:
    """Reopen rate: resolved threads that came back."""
    return inbox_metrics.reopen_rate(session, flt)


@router.get(
    "/reports/pending",
    response_model=inbox_metrics.DurationReport,
    tags=["reports"],
    dependencies=[Depends(requires("reports.read"))],
)
def report_pending(
    flt: inbox_metrics.MetricsFilter = Depends(metrics_filter),
    session: Session = Depends(db_session),
) -> inbox_metrics.DurationReport:
    """Time in pending (waiting on the customer) per thread."""
    return inbox_metrics.time_in_pending(session, flt)


@router.get(
    "/reports/csat",
    response_model=inbox_metrics.CsatReport,
    tags=["reports"],
    dependencies=[Depends(requires("reports.read"))],
)
def report_csat(
    flt: inbox_metrics.MetricsFilter = Depends(metrics_filter),
    session: Session = Depends(db_session),
) -> inbox_metrics.CsatReport:
    """Satisfaction: surveys sent, answered, response rate, mean score."""
    return inbox_metrics.csat(session, flt)
