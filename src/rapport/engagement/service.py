"""The engagement service: every write to the triage policy, thread states,
teams and the outbox goes through these functions.

- Triage: `do_triage_threads` (the Celery task `rapport.engagement.
  triage_threads` calls it), the ingest hook `on_batch_stored` (every stored
  batch's threads are decided in its transaction) and `on_threads_merged`.
- Policy: `do_set_policy` (versioned; an invalid document is refused and the
  old one stays), `preview_policy` (the dry run of `policy test`).
- Work: `do_assign`, `do_claim` (one conditional UPDATE: one agent wins a
  race), `do_release`.
- Replies: `do_queue_reply` (variables, length, consent, then an outbox
  entry) and `do_send_outbox_item` (the Celery task `rapport.outbox.send`):
  pending → sending → sent | pending again with back-off | failed |
  undeliverable. A sent reply is stored as an outbound message of the
  thread through `rapport.conversations.service.do_store_messages`.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from rapport.analysis.queries import analyses_for
from rapport.audit.service import cli_actor, do_record
from rapport.auth.roles import allows
from rapport.channels.queries import own_handles
from rapport.conversations import queries as conversations
from rapport.conversations.hooks import StoredBatch
from rapport.conversations.importers.records import ParsedMessage
from rapport.conversations.models import OUTBOUND
from rapport.conversations.schemas import MessagePublic
from rapport.engagement import features as feats
from rapport.engagement.errors import (
    ClaimTaken,
    ConsentRefused,
    EngagementError,
    OutboxItemNotFound,
    PermissionDenied,
    ReplyRefused,
    TeamNotFound,
)
from rapport.engagement.models import OutboxItem, Team, ThreadState, TriagePolicy
from rapport.engagement.placeholders import render
from rapport.engagement.policy import Policy, default_policy_text, parse_policy
from rapport.engagement.schemas import (
    OutboxPublic,
    PolicyChange,
    PolicyTestResult,
    QueuedReply,
    TeamPublic,
    TriageSummary,
)
from rapport.engagement.triage import (
    Decision,
    SlaResult,
    decide_thread,
    priority_of,
    sla_pressure,
    with_pressure,
)
from rapport.errors import RapportError
from rapport.relationships import queries as relationships
from rapport.scheduling import queries as schedule_queries
from rapport.scheduling import service as scheduling
from rapport.scheduling.registry import JobOutcome
from rapport.scheduling.schemas import JobCreate, JobPublic
from rapport.storage.base import utcnow
from rapport.storage.bulk import in_values
from rapport.storage.engine import session_scope
from rapport.users.models import User
from rapport.users.service import get_user

OUTBOX_JOB = "engagement.outbox"
RESCORE_JOB = "engagement.rescore"
RESCORE_SECONDS = 300.0
RESCORE_EVERY = timedelta(seconds=RESCORE_SECONDS)
#: Seconds before the n-th retry of a send: 30 s, 1 min, 2 min, 4 min... (at most 1 h).
RETRY_BASE_SECONDS = 30.0
RETRY_MAX_SECONDS = 3600.0
#: An entry left `sending` this long (a worker died mid-send) is tried again.
SENDING_LEASE = timedelta(minutes=10)
#: Characters one reply may have, by channel kind or name.
TEXT_LIMITS = {
    "twitter": 280,
    "x": 280,
    "mastodon": 500,
    "bluesky": 300,
    "sms": 1600,
    "discourse": 32_000,
    "email": 100_000,
    "webhook": 10_000,
}
DEFAULT_TEXT_LIMIT = 5000
#: Channels whose conversations are one-to-one.
PRIVATE_KINDS = frozenset({"email", "sms", "webhook"})
TRIAGE_CHUNK = 500


# ------------------------------------------------------------------ who acts


@dataclass(frozen=True)
class Actor:
    """Who does something: an audit name, and the user when there is one."""

    name: str
    user_id: int | None = None
    username: str | None = None
    display: str | None = None


def authorize(session: Session, user: str | int | None, capability: str) -> Actor:
    """The actor for ``capability`` done by ``user`` (id, email or username),
    refused when their role lacks it. None: the shell operator (`cli:<os user>`)."""
    if user is None:
        return Actor(cli_actor())
    found = get_user(session, user)
    if not found.active:
        raise PermissionDenied(f"user {found.email} is disabled")
    if not allows(found.role, capability):
        raise PermissionDenied(
            f"{found.email} ({found.role}) may not do this ({capability}); see docs/ROLES.md"
        )
    return Actor(found.email, found.id, found.username, found.name or found.username)


def actor_for_user(user: User) -> Actor:
    return Actor(user.email, user.id, user.username, user.name or user.username)


# ------------------------------------------------------------------ policy

_policy_cache: dict[tuple[int, str], Policy] = {}


def current_policy(session: Session) -> tuple[int, Policy]:
    """The policy in force and its version (0: the shipped default, never set)."""
    row = session.execute(
        select(TriagePolicy.version, TriagePolicy.source)
        .order_by(TriagePolicy.version.desc())
        .limit(1)
    ).one_or_none()
    version, text = (int(row[0]), str(row[1])) if row else (0, default_policy_text())
    key = (version, text)
    policy = _policy_cache.get(key)
    if policy is None:
        policy = parse_policy(text, source=f"policy version {version}")
        _policy_cache.clear()
        _policy_cache[key] = policy
    return version, policy


def do_set_policy(
    session: Session, text: str, *, actor: str, source: str | None = None
) -> tuple[int, Policy]:
    """Store ``text`` as the next policy version (refused with the line when
    invalid: the policy in force stays)."""
    policy = parse_policy(text, source=source)
    last = session.execute(select(func.max(TriagePolicy.version))).scalar_one_or_none() or 0
    version = int(last) + 1
    session.add(TriagePolicy(version=version, name=policy.name, source=text, created_by=actor))
    session.flush()
    do_record(
        session,
        actor,
        "policy.set",
        subject_type="policy",
        subject_id=version,
        details={"name": policy.name, "rules": [r.id for r in policy.rules], "source": source},
    )
    return version, policy


# ------------------------------------------------------------------ triage


@dataclass
class _Context:
    """Lookups shared by the threads of one triage run."""

    accounts: frozenset[int]
    handles: dict[str, dict[str, int | None]]
    kinds: dict[str, str]
    channel_ids: dict[str, int]
    teams: dict[str, int]
    team_names: dict[int, str]


def _context(session: Session) -> _Context:
    accounts = frozenset(conversations.account_identity_ids(session))
    handles: dict[str, dict[str, int | None]] = {}
    for ident in conversations.identities_by_ids(session, sorted(accounts)).values():
        handles.setdefault(ident.channel, {})[ident.handle.casefold()] = ident.id
    # The handle a live connector speaks as is ours even before we wrote there.
    for channel, handle in own_handles(session).items():
        handles.setdefault(channel, {}).setdefault(handle.casefold().split("@")[0], None)
    teams = {name: int(tid) for tid, name in session.execute(select(Team.id, Team.name))}
    channels = conversations.channels_by_name(session)
    return _Context(
        accounts=accounts,
        handles=handles,
        kinds={name: c.kind for name, c in channels.items()},
        channel_ids={name: c.id for name, c in channels.items()},
        teams=teams,
        team_names={v: k for k, v in teams.items()},
    )


def is_private_channel(name: str, kind: str | None) -> bool:
    return (kind in PRIVATE_KINDS) or relationships.contact_kind(name, kind) is not None


def _customers(
    session: Session, identity_ids: Sequence[int], *, health: str
) -> dict[int, feats.CustomerFacts]:
    people = relationships.people_for_identities(session, list(identity_ids))
    person_ids = sorted(set(people.values()))
    roles = relationships.roles_for(session, person_ids)
    if health == "computed":
        scores = relationships.health_for(session, person_ids)
    elif health == "stored":
        scores = relationships.stored_health_for(session, person_ids)
    else:
        scores = {}
    influence: dict[int, float] = {}
    if health == "computed" and person_ids:
        from rapport.network.queries import influence_for

        influence = influence_for(session, person_ids)
    out = {}
    for ident, pid in people.items():
        h = scores.get(pid)
        out[ident] = feats.CustomerFacts(
            person_id=pid,
            roles=frozenset(roles.get(pid, set())),
            health=h.score if h else None,
            health_trend=h.trend if h else None,
            influence=influence.get(pid),
        )
    return out


def _first_customer(msgs: Sequence[MessagePublic], accounts: frozenset[int]) -> int | None:
    for m in sorted(msgs, key=lambda x: (x.created_at, x.id)):
        ident = m.author_identity_id
        if m.direction != OUTBOUND and ident is not None and ident not in accounts:
            return ident
    return None


def _profiles(
    session: Session,
    threads: list[list[MessagePublic]],
    ctx: _Context,
    *,
    health: str,
    now: datetime,
) -> list[feats.ThreadProfile]:
    analyses = analyses_for(session, [m.id for msgs in threads for m in msgs])
    firsts = [_first_customer(msgs, ctx.accounts) for msgs in threads]
    customers = _customers(session, sorted({f for f in firsts if f is not None}), health=health)
    out = []
    for msgs, first in zip(threads, firsts, strict=True):
        channel = msgs[0].channel
        kind = ctx.kinds.get(channel, "import")
        facts = feats.ThreadFacts(
            thread_id=msgs[0].thread_id,
            channel=channel,
            channel_kind=kind,
            private_channel=is_private_channel(channel, kind),
            messages=msgs,
            analyses=analyses,
            account_ids=ctx.accounts,
            account_handles=ctx.handles.get(channel, {}),
            customer=customers.get(first, feats.CustomerFacts())
            if first
            else feats.CustomerFacts(),
        )
        out.append(feats.thread_features(facts, now))
    return out


def do_triage_threads(
    session: Session,
    thread_ids: Iterable[int],
    *,
    health: str = "computed",
    now: datetime | None = None,
) -> TriageSummary:
    """Decide these threads with the policy in force and store each decision
    with its rule, reason, priority and SLA (idempotent: a decision is replaced).
    ``health``: `computed` (current health, computed where stale), `stored`
    (the last stored scores: the ingest hook) or `none`."""
    started = time.perf_counter()
    ids = sorted(set(thread_ids))
    version, policy = current_policy(session)
    counts: Counter[str] = Counter()
    if not ids:
        return TriageSummary(threads=0, decisions={}, policy_version=version)
    moment = now or utcnow()
    ctx = _context(session)
    running = False
    for start in range(0, len(ids), TRIAGE_CHUNK):
        part = ids[start : start + TRIAGE_CHUNK]
        threads = list(conversations.iter_threads(session, part))
        existing = {
            s.thread_id: s
            for s in session.execute(
                select(ThreadState).where(in_values(session, ThreadState.thread_id, part))
            ).scalars()
        }
        for msgs, profile in zip(
            threads, _profiles(session, threads, ctx, health=health, now=moment), strict=True
        ):
            tid = msgs[0].thread_id
            state = existing.get(tid)
            team = ctx.team_names.get(state.team_id) if state and state.team_id else None
            decision = decide_thread(profile, policy, moment, team=team)
            if state is None:
                state = ThreadState(
                    thread_id=tid,
                    channel_id=ctx.channel_ids[msgs[0].channel],
                    status="open",
                    status_changed_at=moment,
                    reopen_count=0,
                )
                session.add(state)
            _apply(state, profile, decision, version, ctx, moment)
            counts[decision.decision] += 1
            running = running or (decision.sla.due_at is not None and decision.sla.due_at > moment)
        session.flush()
    if running:  # an SLA window is running: priorities must follow the clock
        _schedule(session, RESCORE_JOB, RESCORE_JOB, moment + RESCORE_EVERY, RESCORE_SECONDS)
    return TriageSummary(
        threads=sum(counts.values()),
        decisions=dict(counts),
        policy_version=version,
        seconds=round(time.perf_counter() - started, 3),
    )


def _apply(
    state: ThreadState,
    profile: feats.ThreadProfile,
    decision: Decision,
    version: int,
    ctx: _Context,
    now: datetime,
) -> None:
    state.customer_identity_id = profile.customer_identity_id
    state.brand_identity_id = profile.brand_identity_id
    state.decision = decision.decision
    state.rule_id = decision.rule.id
    state.reason = decision.reason
    state.policy_version = version
    state.evidence = decision.evidence
    state.decided_at = now
    state.priority = decision.priority
    state.priority_factors = decision.factors
    state.waiting_since = decision.sla.waiting_since
    state.sla_due_at = decision.sla.due_at
    state.sla_kind = decision.sla.kind
    state.first_response_at = decision.sla.first_response_at
    state.sla_breaches = decision.sla.breaches
    state.first_inbound_at = profile.first_inbound_at
    state.last_inbound_at = profile.last_inbound_at
    state.last_outbound_at = profile.last_outbound_at
    state.last_message_id = profile.last_message_id
    state.last_message_at = profile.last_message_at
    state.message_count = int(profile.features["messages"])
    if decision.rule.team and decision.rule.team in ctx.teams and state.team_id is None:
        state.team_id = ctx.teams[decision.rule.team]
    state.updated_at = now


def do_triage_all(
    *, health: str = "computed", chunk: int = 2000, progress: Callable[[int], None] | None = None
) -> TriageSummary:
    """Decide every stored thread again, ``chunk`` threads per transaction."""
    from rapport.conversations.models import Thread

    started = time.perf_counter()
    total: Counter[str] = Counter()
    version = 0
    last = 0
    while True:
        with session_scope(write=True) as session:
            ids = list(
                session.execute(
                    select(Thread.id).where(Thread.id > last).order_by(Thread.id).limit(chunk)
                ).scalars()
            )
            if not ids:
                break
            summary = do_triage_threads(session, ids, health=health)
            version = summary.policy_version
        total.update(summary.decisions)
        last = ids[-1]
        if progress:
            progress(sum(total.values()))
    return TriageSummary(
        threads=sum(total.values()),
        decisions=dict(total),
        policy_version=version,
        seconds=round(time.perf_counter() - started, 3),
    )


def preview_policy(
    session: Session, text: str, *, source: str | None = None, limit: int = 100
) -> PolicyTestResult:
    """Decide every stored thread under ``text`` without storing anything:
    which decisions would change, from which rule to which, and why."""
    policy = parse_policy(text, source=source)
    from rapport.conversations.models import Thread

    ctx = _context(session)
    now = utcnow()
    before: Counter[str] = Counter()
    after: Counter[str] = Counter()
    changes: list[PolicyChange] = []
    changed = 0
    threads = 0
    ids = list(session.execute(select(Thread.id).order_by(Thread.id)).scalars())
    for start in range(0, len(ids), TRIAGE_CHUNK):
        part = ids[start : start + TRIAGE_CHUNK]
        stored = {
            s.thread_id: (s.decision, s.rule_id, s.team_id)
            for s in session.execute(
                select(ThreadState).where(in_values(session, ThreadState.thread_id, part))
            ).scalars()
        }
        msgs_by_thread = list(conversations.iter_threads(session, part))
        for msgs, profile in zip(
            msgs_by_thread,
            _profiles(session, msgs_by_thread, ctx, health="stored", now=now),
            strict=True,
        ):
            tid = msgs[0].thread_id
            old = stored.get(tid)
            team = ctx.team_names.get(old[2]) if old and old[2] else None
            new = decide_thread(profile, policy, now, team=team)
            threads += 1
            old_decision, old_rule = (old[0], old[1]) if old else ("undecided", "-")
            before[old_decision] += 1
            after[new.decision] += 1
            if old_decision != new.decision or old_rule != new.rule.id:
                changed += 1
                if len(changes) < limit:
                    changes.append(
                        PolicyChange(
                            thread_id=tid,
                            before=old_decision,
                            after=new.decision,
                            before_rule=old_rule,
                            after_rule=new.rule.id,
                            reason=new.reason,
                        )
                    )
    return PolicyTestResult(
        threads=threads, changed=changed, before=dict(before), after=dict(after), changes=changes
    )


def on_batch_stored(session: Session, batch: StoredBatch) -> None:
    """Ingest hook: decide every thread the batch touched, in its transaction
    (stored health only: computing health here would slow every import)."""
    if batch.thread_ids:
        from rapport.engagement import workspace

        workspace.on_batch_stored(session, batch)
        do_triage_threads(session, batch.thread_ids, health="stored")


def on_threads_merged(session: Session, survivor: int, absorbed: list[int]) -> None:
    """Threads merge: the survivor keeps its state (and takes an absorbed
    thread's assignee and team when it has none); outbox entries move to it.
    The batch hook decides the merged thread again."""
    states = {
        s.thread_id: s
        for s in session.execute(
            select(ThreadState).where(ThreadState.thread_id.in_([survivor, *absorbed]))
        ).scalars()
    }
    keep = states.get(survivor)
    for tid in absorbed:
        gone = states.get(tid)
        if gone is None:
            continue
        if keep is None:
            gone.thread_id = survivor  # the absorbed state becomes the survivor's
            keep = gone
            continue
        if keep.assignee_user_id is None and gone.assignee_user_id is not None:
            keep.assignee_user_id = gone.assignee_user_id
            keep.assigned_at = gone.assigned_at
            keep.assigned_how = gone.assigned_how
        if keep.team_id is None:
            keep.team_id = gone.team_id
        session.delete(gone)
    session.execute(
        update(OutboxItem).where(OutboxItem.thread_id.in_(absorbed)).values(thread_id=survivor)
    )
    from rapport.engagement import workspace

    workspace.on_threads_merged(session, survivor, absorbed)
    session.flush()


def do_rescore(session: Session, now: datetime) -> int:
    """Bring the SLA factor of open threads with a running SLA up to ``now``."""
    rows = session.execute(
        select(ThreadState).where(
            ThreadState.status == "open",
            ThreadState.sla_due_at.is_not(None),
            ThreadState.sla_due_at > now - timedelta(hours=1),
        )
    ).scalars()
    changed = 0
    for state in rows:
        if state.waiting_since is None or state.sla_due_at is None:
            continue
        pressure = sla_pressure(
            SlaResult(due_at=state.sla_due_at, waiting_since=state.waiting_since), now
        )
        factors = with_pressure(list(state.priority_factors or []), pressure)
        priority = priority_of(factors)
        if priority != state.priority:
            state.priority_factors = factors
            state.priority = priority
            changed += 1
    session.flush()
    return changed


def run_rescore_job(job: JobPublic) -> JobOutcome:
    """Scheduled job: priorities move as SLA windows run out."""
    with session_scope(write=True) as session:
        changed = do_rescore(session, utcnow())
    return JobOutcome(summary=f"{changed} priorities updated")


# ------------------------------------------------------------------ work


def _state(session: Session, thread_id: int, *, lock: bool = False) -> ThreadState:
    query = select(ThreadState).where(ThreadState.thread_id == thread_id)
    if lock:
        query = query.with_for_update()
    state = session.execute(query).scalar_one_or_none()
    if state is None:
        conversations.get_thread(session, thread_id)  # ThreadNotFound when unknown
        do_triage_threads(session, [thread_id])
        state = session.execute(query).scalar_one()
    return state


def _user_label(session: Session, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    user = session.get(User, user_id)
    return user.username if user else None


def do_assign(session: Session, thread_id: int, to: str | int, *, actor: str) -> ThreadState:
    """Give the thread to ``to`` (a manager's act: it replaces any claim)."""
    user = get_user(session, to)
    if not user.active:
        raise EngagementError(f"user {user.email} is disabled: cannot be given threads")
    if not allows(user.role, "conversations.work"):
        raise EngagementError(
            f"{user.email} is an {user.role}: only agents and managers work threads"
        )
    state = _state(session, thread_id)
    previous = _user_label(session, state.assignee_user_id)
    state.assignee_user_id = user.id
    state.assigned_at = utcnow()
    state.assigned_how = "assign"
    if user.team:
        team = session.execute(select(Team.id).where(Team.name == user.team)).scalar_one_or_none()
        if team is not None:
            state.team_id = int(team)
    session.flush()
    do_record(
        session,
        actor,
        "thread.assign",
        subject_type="thread",
        subject_id=thread_id,
        details={"to": user.username, "previous": previous},
    )
    return state


def do_claim(session: Session, thread_id: int, user: str | int, *, actor: str) -> ThreadState:
    """Take the thread for ``user``. One conditional UPDATE (assignee is
    nobody, or already them): under concurrent claims exactly one wins and
    the others are refused with who holds it."""
    found = get_user(session, user)
    _state(session, thread_id)
    now = utcnow()
    result = session.execute(
        update(ThreadState)
        .where(
            ThreadState.thread_id == thread_id,
            or_(ThreadState.assignee_user_id.is_(None), ThreadState.assignee_user_id == found.id),
        )
        .values(assignee_user_id=found.id, assigned_at=now, assigned_how="claim", updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        holder = session.execute(
            select(ThreadState.assignee_user_id, ThreadState.assigned_at).where(
                ThreadState.thread_id == thread_id
            )
        ).one()
        raise ClaimTaken(
            f"thread {thread_id} is already claimed by {_user_label(session, holder[0])} "
            f"(since {holder[1].isoformat() if holder[1] else '?'}); ask them or a manager to "
            "release it"
        )
    do_record(
        session,
        actor,
        "thread.claim",
        subject_type="thread",
        subject_id=thread_id,
        details={"user": found.username},
    )
    session.expire_all()
    return _state(session, thread_id)


def do_release(
    session: Session, thread_id: int, user: str | int | None, *, actor: str, force: bool = False
) -> ThreadState:
    """Give the thread back: its holder (or, with ``force``, a manager) releases it."""
    state = _state(session, thread_id)
    if state.assignee_user_id is None:
        return state
    if not force:
        if user is None:
            raise EngagementError("release needs the user releasing (--as USER)")
        found = get_user(session, user)
        if found.id != state.assignee_user_id and not allows(found.role, "conversations.assign"):
            raise ClaimTaken(
                f"thread {thread_id} is held by {_user_label(session, state.assignee_user_id)}, "
                f"not {found.username}: only they or a manager can release it"
            )
    previous = _user_label(session, state.assignee_user_id)
    state.assignee_user_id = None
    state.assigned_at = None
    state.assigned_how = None
    session.flush()
    do_record(
        session,
        actor,
        "thread.release",
        subject_type="thread",
        subject_id=thread_id,
        details={"previous": previous},
    )
    return state


# ------------------------------------------------------------------ teams


def do_create_team(
    session: Session, name: str, *, description: str | None = None, actor: str
) -> TeamPublic:
    from rapport.engagement.queries import get_team

    name = name.strip()
    if not name or len(name) > 100:
        raise EngagementError("a team name is 1 to 100 characters")
    if session.execute(select(Team.id).where(Team.name == name)).scalar_one_or_none():
        raise EngagementError(f"team {name!r} exists already")
    session.add(Team(name=name, description=description))
    session.flush()
    do_record(session, actor, "team.create", subject_type="team", subject_id=name)
    return get_team(session, name)


def do_join_team(session: Session, user: str | int, team: str, *, actor: str) -> TeamPublic:
    """Put ``user`` in ``team`` (a user belongs to one team)."""
    from rapport.engagement.queries import get_team
    from rapport.users.schemas import UserUpdate
    from rapport.users.service import do_update_user

    if session.execute(select(Team.id).where(Team.name == team)).scalar_one_or_none() is None:
        raise TeamNotFound(f"no team named {team!r} (see `rapport teams list`)")
    do_update_user(session, user, UserUpdate(team=team), actor=actor)
    return get_team(session, team)


# ------------------------------------------------------------------ replies


def text_limit(channel: str, kind: str | None) -> int:
    for key in (kind, channel):
        if key and key in TEXT_LIMITS:
            return TEXT_LIMITS[key]
    return DEFAULT_TEXT_LIMIT


def _values(
    session: Session, state: ThreadState, customer: Any, agent: Actor | None
) -> dict[str, str | None]:
    handle = customer.handle if customer else None
    name = customer.display_name if customer and customer.display_name else None
    pid = (
        relationships.person_for_identity(session, state.customer_identity_id)
        if state.customer_identity_id
        else None
    )
    if pid is not None and name is None:
        try:
            name = relationships.get_person(session, pid).display_name
        except RapportError:
            name = None
    return {
        "customer.name": name,
        "customer.handle": handle,
        "agent.name": agent.display if agent else None,
        "thread.id": str(state.thread_id),
    }


def do_queue_reply(
    session: Session,
    thread_id: int,
    text: str | None,
    *,
    actor: Actor,
    channel: str | None = None,
    private: bool = False,
    canned: str | None = None,
    kind: str = "reply",
) -> QueuedReply:
    """Queue a reply: variables rendered, length and consent checked first;
    anything refused raises and queues nothing. The entry is sent by
    `do_send_outbox_item` (now, by a worker, or by the outbox job)."""
    state = _state(session, thread_id)
    thread = conversations.get_thread(session, thread_id)
    template = text
    if canned is not None:
        if text:
            raise ReplyRefused("give --text or --canned, not both")
        from rapport.engagement.queries import canned_text

        template = canned_text(session, canned)
    if template is None or not template.strip():
        raise ReplyRefused("the reply is empty: give --text (or --canned SHORTCODE)")
    idents = conversations.identities_by_ids(
        session, [i for i in (state.customer_identity_id, state.brand_identity_id) if i]
    )
    customer = idents.get(state.customer_identity_id or 0)
    rendered = render(template, _values(session, state, customer, actor))
    body = rendered.text
    if not body:
        raise ReplyRefused("the reply is empty once its variables are filled in")
    target = (channel or thread.channel).strip()
    kinds = {n: c.kind for n, c in conversations.channels_by_name(session).items()}
    if target not in kinds:
        raise ReplyRefused(f"no channel named {target!r} (see `rapport channels list`)")
    limit = text_limit(target, kinds.get(target))
    if len(body) > limit:
        raise ReplyRefused(f"the reply is {len(body)} characters; {target} takes at most {limit}")
    person_id = (
        relationships.person_for_identity(session, state.customer_identity_id)
        if state.customer_identity_id
        else None
    )
    to_handle = customer.handle if customer else None
    in_reply_to = None
    if target == thread.channel:
        in_reply_to = _latest_customer_external_id(session, thread_id, state)
    else:
        to_handle = _handle_on(session, person_id, target)
        if to_handle is None:
            raise ReplyRefused(
                f"the customer has no identity on {target}: reply on {thread.channel}, or add "
                "their contact first"
            )
    consent = relationships.consent_decision(session, person_id, target, private=private)
    if not consent.allowed:
        raise ConsentRefused(f"consent refuses this reply: {consent.reason}")
    brand = idents.get(state.brand_identity_id or 0)
    from_account = brand.handle if brand is not None and target == thread.channel else None
    if from_account is None:
        from_account = _channel_handle(session, target)
    now = utcnow()
    item = OutboxItem(
        thread_id=thread_id,
        kind=kind,
        channel=target,
        text=body,
        private=private,
        to_handle=to_handle,
        in_reply_to_external_id=in_reply_to,
        from_account=from_account,
        person_id=person_id,
        canned=canned,
        status="pending",
        attempts=0,
        max_attempts=5,
        next_attempt_at=now,
        created_by=actor.name,
        created_at=now,
        updated_at=now,
    )
    session.add(item)
    session.flush()
    _schedule_outbox(session, now)
    do_record(
        session,
        actor.name,
        "outbox.queue",
        subject_type="thread",
        subject_id=thread_id,
        details={
            "outbox_id": item.id,
            "kind": kind,
            "channel": target,
            "private": private,
            "canned": canned,
            "characters": len(body),
            "consent": consent.reason,
        },
    )
    return QueuedReply(
        outbox=OutboxPublic.model_validate(item),
        warnings=[f"{{{{{name}}}}} has no value here: rendered empty" for name in rendered.missing],
    )


def _latest_customer_external_id(
    session: Session, thread_id: int, state: ThreadState
) -> str | None:
    messages = conversations.thread_messages(session, thread_id)
    accounts = conversations.account_identity_ids(session)
    for m in reversed(messages):
        if m.direction != OUTBOUND and m.author_identity_id not in accounts:
            return m.external_id
    return messages[-1].external_id if messages else None


def _handle_on(session: Session, person_id: int | None, channel: str) -> str | None:
    if person_id is None:
        return None
    for ident in relationships.identities_of(session, [person_id]).get(person_id, []):
        if ident.channel == channel:
            return ident.handle
    return None


def _channel_handle(session: Session, channel: str) -> str | None:
    return own_handles(session).get(channel)


def _schedule(session: Session, name: str, kind: str, at: datetime, interval: float) -> None:
    """Make job ``name`` run at ``at`` at the latest (registered if new)."""
    try:
        job = schedule_queries.get_job(session, name)
        first = min(job.next_run_at, at) if job.enabled else at
    except Exception:  # JobNotFound
        first = at
    scheduling.do_register_job(
        session, JobCreate(name=name, kind=kind, interval_seconds=interval, first_run_at=first)
    )


def _schedule_outbox(session: Session, at: datetime) -> None:
    _schedule(session, OUTBOX_JOB, OUTBOX_JOB, at, 3600.0)


def retry_delay(attempt: int) -> timedelta:
    """The wait before the attempt after attempt number ``attempt`` (1-based)."""
    return timedelta(seconds=min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** max(0, attempt - 1)))


def do_send_outbox_item(
    outbox_id: int, *, now: datetime | None = None, transport: Any = None
) -> OutboxPublic:
    """Send one outbox entry (its own transactions; idempotent: an entry that
    is not due — already sent, being sent, waiting for its retry — is left be)."""
    from rapport.channels.base import OutboundReply
    from rapport.channels.errors import NoConnector, SendFailed
    from rapport.channels.service import do_send

    moment = now or utcnow()
    with session_scope(write=True) as session:
        claimed = session.execute(
            update(OutboxItem)
            .where(
                OutboxItem.id == outbox_id,
                or_(
                    (OutboxItem.status == "pending")
                    & or_(
                        OutboxItem.next_attempt_at.is_(None), OutboxItem.next_attempt_at <= moment
                    ),
                    (OutboxItem.status == "sending")
                    & (OutboxItem.updated_at <= moment - SENDING_LEASE),
                ),
            )
            .values(status="sending", attempts=OutboxItem.attempts + 1, updated_at=moment)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        item = session.get(OutboxItem, outbox_id)
        if item is None:
            raise OutboxItemNotFound(f"outbox entry {outbox_id} not found")
        if not claimed:
            return OutboxPublic.model_validate(item)
        reply = OutboundReply(
            outbox_id=item.id,
            channel=item.channel,
            text=item.text,
            to_handle=item.to_handle,
            in_reply_to_external_id=item.in_reply_to_external_id,
            private=item.private,
            from_account=item.from_account,
        )
    outcome: dict[str, Any] = {}
    with session_scope(write=True) as session:
        item = session.get(OutboxItem, outbox_id)
        assert item is not None
        try:
            receipt = do_send(session, reply, transport=transport)
        except NoConnector as exc:
            item.status = "undeliverable"
            item.reason = str(exc)
            item.next_attempt_at = None
            outcome = {"status": "undeliverable", "reason": str(exc)}
        except SendFailed as exc:
            if exc.retryable and item.attempts < item.max_attempts:
                wait = retry_delay(item.attempts)
                item.status = "pending"
                item.next_attempt_at = moment + wait
                item.reason = (
                    f"attempt {item.attempts} of {item.max_attempts} failed ({exc}); "
                    f"next try in {int(wait.total_seconds())} s"
                )
                _schedule_outbox(session, item.next_attempt_at)
            else:
                item.status = "failed"
                item.next_attempt_at = None
                why = "not retryable" if not exc.retryable else f"{item.attempts} attempts"
                item.reason = f"{exc} ({why})"
            outcome = {"status": item.status, "reason": item.reason}
        else:
            item.status = "sent"
            item.sent_at = receipt.sent_at
            item.external_id = receipt.external_id
            item.reason = None
            item.next_attempt_at = None
            item.message_id = _store_sent(session, item, receipt)
            outcome = {"status": "sent", "external_id": receipt.external_id}
        item.updated_at = utcnow()
        session.flush()
        do_record(
            session,
            "rapport:outbox",
            f"outbox.{item.status}",
            subject_type="outbox",
            subject_id=item.id,
            details={**outcome, "attempt": item.attempts, "thread_id": item.thread_id},
        )
        return OutboxPublic.model_validate(item)


def _store_sent(session: Session, item: OutboxItem, receipt: Any) -> int | None:
    """The sent reply as an outbound message of its thread (deduplicated by
    the platform's id: a later poll of our own post stores nothing twice)."""
    from rapport.conversations.service import do_store_messages

    raw = json.dumps(
        {"outbox_id": item.id, "receipt": receipt.raw}, ensure_ascii=False, default=str
    )
    message = ParsedMessage(
        external_id=receipt.external_id,
        author=item.from_account,
        direction=OUTBOUND,
        created_at=receipt.sent_at,
        text=item.text,
        raw=raw,
        channel=item.channel,
        parent_external_id=item.in_reply_to_external_id,
        meta={"outbox_id": item.id, "private": item.private, "kind": item.kind},
    )
    do_store_messages(session, [message], default_channel=item.channel, channel_kind="import")
    stored = conversations.message_by_external_id(session, item.channel, receipt.external_id)
    return stored.id if stored else None


def do_send_due(*, now: datetime | None = None, transport: Any = None) -> list[OutboxPublic]:
    """Send every entry due at ``now`` (new ones, retries, stale `sending`)."""
    moment = now or utcnow()
    with session_scope() as session:
        ids = list(
            session.execute(
                select(OutboxItem.id)
                .where(
                    or_(
                        (OutboxItem.status == "pending")
                        & or_(
                            OutboxItem.next_attempt_at.is_(None),
                            OutboxItem.next_attempt_at <= moment,
                        ),
                        (OutboxItem.status == "sending")
                        & (OutboxItem.updated_at <= moment - SENDING_LEASE),
                    )
                )
                .order_by(OutboxItem.id)
            ).scalars()
        )
    return [do_send_outbox_item(i, now=moment, transport=transport) for i in ids]


def run_outbox_job(job: JobPublic) -> JobOutcome:
    """Scheduled job: send what is due, then sleep until the next retry."""
    sent = do_send_due()
    with session_scope() as session:
        nxt = session.execute(
            select(func.min(OutboxItem.next_attempt_at)).where(OutboxItem.status == "pending")
        ).scalar_one_or_none()
    counts = Counter(s.status for s in sent)
    return JobOutcome(
        next_run_at=nxt,
        summary=", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing due",
    )
