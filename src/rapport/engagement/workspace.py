"""The inbox essentials' writes: conversation status (open, pending,
snoozed, resolved; reopened by a new customer message; snoozes wake from
the schedule table), labels on threads and people, internal notes with
@mentions and their notifications, canned responses, satisfaction surveys
(CSAT) and their answers, bulk actions (one transaction, all or nothing) and
saved views. Reads are in `rapport.engagement.queries`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from rapport.audit.service import do_record
from rapport.conversations import queries as conversations
from rapport.conversations.hooks import StoredBatch
from rapport.conversations.importers.records import MENTION_RE
from rapport.engagement.errors import (
    BulkRefused,
    CannedNotFound,
    EngagementError,
    ViewNotFound,
)
from rapport.engagement.models import (
    STATUSES,
    CannedResponse,
    CsatSurvey,
    Label,
    Notification,
    PersonLabel,
    SavedView,
    ThreadEvent,
    ThreadLabel,
    ThreadNote,
    ThreadState,
)
from rapport.engagement.placeholders import VARIABLES, UnknownVariable, variables_in
from rapport.engagement.queries import label_key
from rapport.engagement.schemas import (
    BulkAction,
    BulkResult,
    CannedPublic,
    InboxFilter,
    NotePublic,
    StatusChange,
    ViewPublic,
)
from rapport.errors import RapportError
from rapport.relationships import queries as relationships
from rapport.scheduling.registry import JobOutcome
from rapport.scheduling.schemas import JobPublic
from rapport.storage.base import utcnow
from rapport.storage.bulk import in_values
from rapport.storage.engine import session_scope
from rapport.users.models import User

WAKE_JOB = "engagement.wake"
CSAT_QUESTION = "How did we do? Reply with a number from 1 (poor) to 5 (great). Thank you!"
#: At most one survey per thread in this window.
CSAT_EVERY = timedelta(hours=24)
#: An answer counts for a survey sent at most this long before.
CSAT_ANSWER_WINDOW = timedelta(days=7)
_CSAT_REPLY = re.compile(r"^\W*(?:@\w+\s*)*([1-5])(?:\s*/\s*5)?(?!\d)\W*(?:\w+\W*){0,6}$")
_LABEL = re.compile(r"^[\w][\w .:/+-]{0,49}$")
_SHORTCODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")


# ------------------------------------------------------------------ status


def _state(session: Session, thread_id: int) -> ThreadState:
    from rapport.engagement.service import _state as state_of

    return state_of(session, thread_id)


def _event(
    session: Session, state: ThreadState, to: str, at: datetime, actor: str, reason: str
) -> None:
    session.add(
        ThreadEvent(
            thread_id=state.thread_id,
            from_status=state.status,
            to_status=to,
            at=at,
            actor=actor,
            reason=reason,
            assignee_user_id=state.assignee_user_id,
        )
    )


def _move(
    session: Session,
    state: ThreadState,
    to: str,
    *,
    at: datetime,
    actor: str,
    reason: str,
    until: datetime | None = None,
) -> None:
    if to == state.status and to != "snoozed":
        return
    _event(session, state, to, at, actor, reason)
    if to == "open" and state.status == "resolved":
        state.reopen_count += 1
    state.status = to
    state.status_changed_at = at
    state.snoozed_until = until if to == "snoozed" else None
    if to == "resolved":
        state.resolved_at = at
    state.updated_at = at


def do_set_status(
    session: Session,
    thread_id: int,
    status: str,
    *,
    actor: Any,
    until: datetime | None = None,
    now: datetime | None = None,
) -> StatusChange:
    """Move a thread to ``status``: `snoozed` needs ``until`` in the future
    (the schedule wakes it then); `resolved` on a private channel queues a
    satisfaction survey when consent allows (at most one a day)."""
    moment = now or utcnow()
    if status not in STATUSES:
        raise EngagementError(f"unknown status {status!r} (statuses: {', '.join(STATUSES)})")
    if status == "snoozed":
        if until is None:
            raise EngagementError("snoozed needs --until (when the thread wakes up)")
        if until.tzinfo is None:
            raise EngagementError("--until needs a time zone (e.g. 2024-05-01T09:00Z)")
        if until <= moment:
            raise EngagementError(
                f"--until {until.isoformat()} is in the past: a snooze wakes up later than now"
            )
    elif until is not None:
        raise EngagementError(f"--until only goes with snoozed, not {status}")
    state = _state(session, thread_id)
    previous = state.status
    _move(session, state, status, at=moment, actor=actor.name, reason="set by hand", until=until)
    result = StatusChange(
        thread_id=thread_id,
        status=status,
        previous=previous,
        status_changed_at=state.status_changed_at,
        snoozed_until=state.snoozed_until,
        resolved_at=state.resolved_at,
    )
    if status == "snoozed" and until is not None:
        _schedule_wake(session, until)
    if status == "resolved" and previous != "resolved":
        result.survey_outbox_id, result.survey_skipped = _maybe_survey(
            session, state, actor, moment
        )
    session.flush()
    do_record(
        session,
        actor.name,
        "thread.status",
        subject_type="thread",
        subject_id=thread_id,
        details={
            "from": previous,
            "to": status,
            "until": until.isoformat() if until else None,
            "survey_outbox_id": result.survey_outbox_id,
        },
    )
    return result


def _schedule_wake(session: Session, at: datetime) -> None:
    from rapport.engagement.service import _schedule

    _schedule(session, WAKE_JOB, WAKE_JOB, at, 86400.0)


def do_wake_snoozed(session: Session, *, now: datetime | None = None) -> list[int]:
    """Open every snoozed thread whose time has come; decide them again."""
    from rapport.engagement.service import do_triage_threads

    moment = now or utcnow()
    due = list(
        session.execute(
            select(ThreadState).where(
                ThreadState.status == "snoozed", ThreadState.snoozed_until <= moment
            )
        ).scalars()
    )
    for state in due:
        when = state.snoozed_until or moment
        _move(session, state, "open", at=moment, actor="rapport:schedule",
              reason=f"snooze ended ({when.isoformat()})")  # fmt: skip
    session.flush()
    if due:
        do_triage_threads(session, [s.thread_id for s in due], health="stored")
    return [s.thread_id for s in due]


def run_wake_job(job: JobPublic) -> JobOutcome:
    """Scheduled job: wake snoozed threads, then sleep until the next one is due."""
    with session_scope(write=True) as session:
        woken = do_wake_snoozed(session)
        nxt = session.execute(
            select(func.min(ThreadState.snoozed_until)).where(ThreadState.status == "snoozed")
        ).scalar_one_or_none()
    return JobOutcome(next_run_at=nxt, summary=f"{len(woken)} thread(s) woken")


# ------------------------------------------------------------------ CSAT


def _maybe_survey(
    session: Session, state: ThreadState, actor: Any, now: datetime
) -> tuple[int | None, str | None]:
    """Queue the satisfaction survey of a resolved thread, or say why not."""
    from rapport.engagement.service import do_queue_reply, is_private_channel

    channel = conversations.get_thread(session, state.thread_id).channel
    kinds = conversations.channels_by_name(session)
    kind = kinds[channel].kind if channel in kinds else None
    if not is_private_channel(channel, kind):
        return None, f"{channel} is a public channel: surveys go on private channels only"
    recent = session.execute(
        select(CsatSurvey.id).where(
            CsatSurvey.thread_id == state.thread_id, CsatSurvey.created_at > now - CSAT_EVERY
        )
    ).first()
    if recent is not None:
        return None, "a survey went to this thread less than 24 hours ago"
    try:
        queued = do_queue_reply(
            session, state.thread_id, CSAT_QUESTION, actor=actor, private=True, kind="csat"
        )
    except RapportError as exc:  # consent, quiet hours, no way to reach them
        return None, str(exc)
    session.add(
        CsatSurvey(
            thread_id=state.thread_id,
            outbox_id=queued.outbox.id,
            person_id=queued.outbox.person_id,
            channel=channel,
            agent_user_id=state.assignee_user_id,
            team_id=state.team_id,
            created_at=now,
        )
    )
    session.flush()
    return queued.outbox.id, None


def csat_answer(text: str, meta: dict[str, Any]) -> tuple[int, str] | None:
    """(score, how) when a message answers a survey: a webhook body
    `{"csat": N}`, or a short reply starting with a digit 1-5."""
    value = meta.get("csat")
    if isinstance(value, int | str) and not isinstance(value, bool) and str(value).isdigit():
        score = int(value)
        if 1 <= score <= 5:
            return score, "webhook"
    match = _CSAT_REPLY.match(text.strip())
    if match:
        return int(match.group(1)), "reply"
    return None


def _csat_answers(session: Session, inbound: list[Any], now: datetime) -> set[int]:
    """Store survey answers among these new inbound messages; their ids."""
    threads = sorted({m.thread_id for m in inbound})
    open_surveys = {
        s.thread_id: s
        for s in session.execute(
            select(CsatSurvey)
            .where(
                in_values(session, CsatSurvey.thread_id, threads),
                CsatSurvey.score.is_(None),
                CsatSurvey.created_at > now - CSAT_ANSWER_WINDOW,
            )
            .order_by(CsatSurvey.id)
        ).scalars()
    }
    answered: set[int] = set()
    for m in inbound:
        survey = open_surveys.get(m.thread_id)
        if survey is None or survey.score is not None:
            continue
        found = csat_answer(m.text, m.meta or {})
        if found is None:
            continue
        survey.score, survey.via = found
        survey.answered_at = m.created_at
        survey.answer_message_id = m.id
        session.execute(
            update(ThreadState)
            .where(ThreadState.thread_id == m.thread_id)
            .values(csat_score=found[0], csat_at=m.created_at)
        )
        answered.add(m.id)
    return answered


def on_batch_stored(session: Session, batch: StoredBatch) -> None:
    """Before triage: survey answers are stored; any other new customer
    message in a pending, snoozed or resolved thread reopens it."""
    if not batch.thread_ids:
        return
    not_open = {
        s.thread_id: s
        for s in session.execute(
            select(ThreadState).where(
                in_values(session, ThreadState.thread_id, sorted(batch.thread_ids)),
                ThreadState.status != "open",
            )
        ).scalars()
    }
    has_surveys = bool(
        session.execute(
            select(CsatSurvey.id).where(
                in_values(session, CsatSurvey.thread_id, sorted(batch.thread_ids)),
                CsatSurvey.score.is_(None),
            )
        ).first()
    )
    if not not_open and not has_surveys:
        return
    accounts = conversations.account_identity_ids(session)
    inbound = [
        m
        for m in conversations.messages_by_ids(session, batch.message_ids)
        if m.direction == "inbound" and m.author_identity_id not in accounts
    ]
    now = utcnow()
    answers = _csat_answers(session, inbound, now) if has_surveys else set()
    for m in sorted(inbound, key=lambda x: (x.created_at, x.id)):
        state = not_open.get(m.thread_id)
        if state is None or m.id in answers or state.status == "open":
            continue
        _move(session, state, "open", at=now, actor="rapport:ingest",
              reason=f"new customer message {m.id}")  # fmt: skip
    session.flush()


# ------------------------------------------------------------------ labels


def _labels(session: Session, names: Sequence[str], *, create: bool) -> dict[str, int]:
    keys = []
    for name in names:
        key = label_key(name)
        if not _LABEL.match(key):
            raise EngagementError(
                f"bad label {name!r}: 1-50 characters, letters, digits, space . : / + - _"
            )
        keys.append(key)
    found = {
        n: int(i)
        for n, i in session.execute(select(Label.name, Label.id).where(Label.name.in_(keys)))
    }
    missing = [k for k in dict.fromkeys(keys) if k not in found]
    if missing and not create:
        from rapport.engagement.errors import LabelNotFound

        raise LabelNotFound(f"no label named {missing[0]!r} (see `rapport labels list`)")
    for key in missing:
        label = Label(name=key)
        session.add(label)
        session.flush()
        found[key] = label.id
    return {k: found[k] for k in keys}


def _set_labels(
    session: Session, column: Any, owner: int, names: Sequence[str], actor: str, remove: bool
) -> list[str]:
    """Add or remove labels of one owner (``column``: ThreadLabel.thread_id or
    PersonLabel.person_id); returns the label names touched."""
    link = column.class_
    ids = _labels(session, names, create=not remove)
    if remove:
        session.execute(delete(link).where(column == owner, link.label_id.in_(list(ids.values()))))
    else:
        have = set(session.execute(select(link.label_id).where(column == owner)).scalars())
        for lid in dict.fromkeys(ids.values()):
            if lid not in have:
                session.add(link(**{column.key: owner, "label_id": lid, "actor": actor}))
    session.flush()
    return sorted(ids)


def do_label_thread(
    session: Session, thread_id: int, names: Sequence[str], *, actor: str, remove: bool = False
) -> list[str]:
    """Add (or remove) labels on a thread; returns its labels after."""
    from rapport.engagement.queries import labels_of_threads

    _state(session, thread_id).updated_at = utcnow()
    touched = _set_labels(session, ThreadLabel.thread_id, thread_id, names, actor, remove)
    do_record(
        session, actor, "thread.unlabel" if remove else "thread.label", subject_type="thread",
        subject_id=thread_id, details={"labels": touched},
    )  # fmt: skip
    return labels_of_threads(session, [thread_id]).get(thread_id, [])


def do_label_person(
    session: Session, person_id: int, names: Sequence[str], *, actor: str, remove: bool = False
) -> list[str]:
    """Labels on a person (personal data: exported, erased with them)."""
    from rapport.engagement.queries import labels_of_people

    relationships.get_person(session, person_id)
    touched = _set_labels(session, PersonLabel.person_id, person_id, names, actor, remove)
    do_record(
        session, actor, "people.unlabel" if remove else "people.label", subject_type="person",
        subject_id=person_id, details={"labels": touched},
    )  # fmt: skip
    return labels_of_people(session, [person_id]).get(person_id, [])


# ------------------------------------------------------------------ notes


def do_add_note(session: Session, thread_id: int, text: str, *, actor: Any) -> NotePublic:
    """An internal note; each `@username` of a Rapport user is notified."""
    body = text.strip()
    if not body:
        raise EngagementError("the note is empty")
    if len(body) > 20_000:
        raise EngagementError(f"the note is {len(body)} characters; notes take at most 20000")
    _state(session, thread_id).updated_at = utcnow()
    handles = list(dict.fromkeys(h.casefold() for h in MENTION_RE.findall(body)))
    users = (
        list(session.execute(select(User).where(User.username.in_(handles))).scalars())
        if handles
        else []
    )
    note = ThreadNote(
        thread_id=thread_id,
        author=actor.name,
        author_user_id=actor.user_id,
        text=body,
        mentions=sorted(u.username for u in users),
    )
    session.add(note)
    session.flush()
    for user in users:
        if not user.active:
            continue
        session.add(
            Notification(
                user_id=user.id,
                kind="mention",
                thread_id=thread_id,
                note_id=note.id,
                actor=actor.name,
                text=body[:280],
            )
        )
    session.flush()
    do_record(
        session, actor.name, "note.add", subject_type="thread", subject_id=thread_id,
        details={"note_id": note.id, "mentions": note.mentions, "characters": len(body)},
    )  # fmt: skip
    return NotePublic.model_validate(note)


def do_mark_read(session: Session, user_id: int, ids: Sequence[int] | None = None) -> int:
    """Mark a user's notifications read (all, or these)."""
    query = update(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)
    )
    if ids is not None:
        query = query.where(Notification.id.in_(list(ids)))
    result = session.execute(query.values(read_at=utcnow()))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# ------------------------------------------------------------------ canned


def _check_variables(text: str) -> None:
    unknown = [v for v in variables_in(text) if v not in VARIABLES]
    if unknown:
        raise UnknownVariable(
            f"unknown variable {{{{{unknown[0]}}}}} (known: "
            + ", ".join("{{" + v + "}}" for v in VARIABLES)
            + ")"
        )


def do_save_canned(
    session: Session, shortcode: str, text: str, *, actor: str, replace: bool = False
) -> CannedPublic:
    from rapport.engagement.queries import _canned_public

    code = shortcode.strip().lstrip("/").lower()
    if not _SHORTCODE.match(code):
        raise EngagementError(
            f"bad shortcode {shortcode!r}: 1-50 of a-z 0-9 _ - (starting with a letter or digit)"
        )
    if not text.strip():
        raise EngagementError("the canned response is empty")
    _check_variables(text)
    row = session.execute(
        select(CannedResponse).where(CannedResponse.shortcode == code)
    ).scalar_one_or_none()
    if row is not None and not replace:
        raise EngagementError(f"canned response {code!r} exists already (use --replace)")
    if row is None:
        row = CannedResponse(shortcode=code, text=text.strip(), created_by=actor)
        session.add(row)
    else:
        row.text = text.strip()
        row.updated_at = utcnow()
    session.flush()
    do_record(session, actor, "canned.save", subject_type="canned", subject_id=code)
    return _canned_public(row)


def do_delete_canned(session: Session, shortcode: str, *, actor: str) -> None:
    code = shortcode.strip().lstrip("/").lower()
    result = session.execute(delete(CannedResponse).where(CannedResponse.shortcode == code))
    if not result.rowcount:  # type: ignore[attr-defined]
        raise CannedNotFound(f"no canned response {shortcode!r} (see `rapport canned list`)")
    do_record(session, actor, "canned.delete", subject_type="canned", subject_id=code)


# ------------------------------------------------------------------ views


def do_save_view(session: Session, name: str, filters: dict[str, Any], *, actor: str) -> ViewPublic:
    """Save an inbox filter under ``name`` (checked: unknown keys and values refused)."""
    from rapport.engagement.queries import inbox_where

    name = name.strip()
    if not name or len(name) > 100:
        raise EngagementError("a view name is 1 to 100 characters")
    known = set(InboxFilter.model_fields) - {"limit", "offset"}
    unknown = sorted(set(filters) - known)
    if unknown:
        raise EngagementError(
            f"unknown filter {unknown[0]!r} (filters: {', '.join(sorted(known))})"
        )
    try:
        flt = InboxFilter(**filters)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        raise EngagementError(f"filter {where}: {problem['msg']}") from None
    inbox_where(session, flt)  # unknown channel, team, label, user... refused now
    row = session.execute(select(SavedView).where(SavedView.name == name)).scalar_one_or_none()
    saved = flt.model_dump(exclude_none=True, exclude={"limit", "offset"}, exclude_defaults=True)
    if row is None:
        row = SavedView(name=name, filters=saved, created_by=actor)
        session.add(row)
    else:
        row.filters = saved
    session.flush()
    do_record(session, actor, "view.save", subject_type="view", subject_id=name, details=saved)
    return ViewPublic.model_validate(row)


def do_delete_view(session: Session, name: str, *, actor: str) -> None:
    result = session.execute(delete(SavedView).where(SavedView.name == name))
    if not result.rowcount:  # type: ignore[attr-defined]
        raise ViewNotFound(f"no saved view named {name!r} (see `rapport views list`)")
    do_record(session, actor, "view.delete", subject_type="view", subject_id=name)


# ------------------------------------------------------------------ bulk


def do_bulk(session: Session, action: BulkAction, *, actor: Any) -> BulkResult:
    """Apply one action to many threads in the caller's transaction: every
    thread is checked, and one refusal refuses all (with a reason per thread)."""
    from rapport.engagement.service import do_assign

    if action.status is None and not action.labels and action.assign is None:
        raise EngagementError("nothing to do: give --status, --label or --assign")
    ids = list(dict.fromkeys(action.ids))
    known = set(
        session.execute(
            select(ThreadState.thread_id).where(in_values(session, ThreadState.thread_id, ids))
        ).scalars()
    )
    problems = [f"thread {t}: not found" for t in ids if t not in known]
    if problems:
        raise BulkRefused("nothing changed; " + "; ".join(problems))
    changed = {"status": 0, "labels": 0, "assign": 0}
    surveys: list[int] = []
    for tid in ids:
        try:
            with session.begin_nested():
                if action.status is not None:
                    result = do_set_status(session, tid, action.status, actor=actor,
                                           until=action.until)  # fmt: skip
                    changed["status"] += 1
                    if result.survey_outbox_id:
                        surveys.append(result.survey_outbox_id)
                if action.labels:
                    do_label_thread(session, tid, action.labels, actor=actor.name)
                    changed["labels"] += 1
                if action.assign is not None:
                    do_assign(session, tid, action.assign, actor=actor.name)
                    changed["assign"] += 1
        except RapportError as exc:
            problems.append(f"thread {tid}: {exc}")
    if problems:
        raise BulkRefused("nothing changed; " + "; ".join(problems))
    do_record(
        session, actor.name, "thread.bulk", subject_type="threads", subject_id=len(ids),
        details={"ids": ids[:100], **action.model_dump(mode="json", exclude={"ids"})},
    )  # fmt: skip
    return BulkResult(threads=len(ids), changed=changed, surveys=surveys)


# ------------------------------------------------------------------ merges, privacy


def on_threads_merged(session: Session, survivor: int, absorbed: list[int]) -> None:
    """Labels, notes, surveys and status history follow the surviving thread."""
    kept = set(
        session.execute(
            select(ThreadLabel.label_id).where(ThreadLabel.thread_id == survivor)
        ).scalars()
    )
    moving = {
        int(lid): actor
        for lid, actor in session.execute(
            select(ThreadLabel.label_id, ThreadLabel.actor).where(
                ThreadLabel.thread_id.in_(absorbed)
            )
        )
        if lid not in kept
    }
    session.execute(delete(ThreadLabel).where(ThreadLabel.thread_id.in_(absorbed)))
    for lid, actor in moving.items():
        session.add(ThreadLabel(thread_id=survivor, label_id=lid, actor=actor))
    for table in (ThreadNote, ThreadEvent, CsatSurvey, Notification):
        session.execute(
            update(table)
            .where(table.thread_id.in_(absorbed))
            .values(thread_id=survivor)
            .execution_options(synchronize_session=False)
        )
