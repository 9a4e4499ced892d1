"""The inbox essentials on the command line: `threads status|bulk`, `labels`,
`people label`, `notes`, `notifications`, `canned`, `views`, `metrics`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import typer

from rapport.cli.engagement import AS_USER, JSON, _say, acting_user, threads_app
from rapport.cli.output import emit_json, fail, parse_when, stdout
from rapport.cli.schema_guard import ensure_schema
from rapport.conversations.queries import get_thread
from rapport.engagement import queries, service, workspace
from rapport.engagement.models import STATUSES
from rapport.engagement.schemas import BulkAction
from rapport.reports import inbox_metrics
from rapport.storage.engine import session_scope

labels_app = typer.Typer(help="Labels on threads (and people).", no_args_is_help=True)
notes_app = typer.Typer(help="Internal notes: never sent, never counted.", no_args_is_help=True)
canned_app = typer.Typer(help="Canned responses with {{variables}}.", no_args_is_help=True)
views_app = typer.Typer(help="Saved inbox views.", no_args_is_help=True)
metrics_app = typer.Typer(
    help="How the inbox is worked: resolution, reopens, pending, CSAT, SLA.", no_args_is_help=True
)


def _send(outbox_ids: list[int]) -> None:
    from rapport.workers.tasks.engagement import dispatch_send

    for oid in outbox_ids:
        dispatch_send(oid)


def _until(value: str | None) -> datetime | None:
    return parse_when(value, "--until")


@threads_app.command("status")
def threads_status(
    thread_id: int = typer.Argument(..., min=1),
    status: str = typer.Argument(..., help=" | ".join(STATUSES)),
    until: str | None = typer.Option(None, "--until", help="snoozed: when it wakes (ISO 8601)."),
    as_user: str | None = AS_USER,
    json_out: bool = JSON,
) -> None:
    """Set a thread's status (resolving on a private channel sends a CSAT survey)."""
    ensure_schema()
    with session_scope(write=True) as session:
        actor = service.authorize(session, acting_user(as_user), "conversations.work")
        result = workspace.do_set_status(
            session, thread_id, status, actor=actor, until=_until(until)
        )
    if result.survey_outbox_id:
        _send([result.survey_outbox_id])
    if json_out:
        emit_json(result)
        return
    _say(f"thread {thread_id}: {result.previous} → {result.status}")
    if result.survey_skipped:
        _say(f"no survey: {result.survey_skipped}")


@threads_app.command("bulk")
def threads_bulk(
    ids: str = typer.Option(..., "--ids", help="Thread ids, comma-separated."),
    status: str | None = typer.Option(None, "--status"),
    until: str | None = typer.Option(None, "--until"),
    label: list[str] = typer.Option([], "--label", help="Add this label (repeatable)."),
    assign: str | None = typer.Option(None, "--assign", help="Give them to this user."),
    as_user: str | None = AS_USER,
    json_out: bool = JSON,
) -> None:
    """One action on many threads, in one transaction: all or nothing."""
    try:
        thread_ids = [int(x) for x in ids.split(",") if x.strip()]
    except ValueError:
        fail(f"--ids: {ids!r} is not a comma-separated list of thread ids")
    if not thread_ids:
        fail("--ids: no thread id given")
    ensure_schema()
    action = BulkAction(
        ids=thread_ids, status=status, until=_until(until), labels=label, assign=assign
    )
    with session_scope(write=True) as session:
        capability = "conversations.assign" if assign else "conversations.work"
        actor = service.authorize(session, acting_user(as_user), capability)
        result = workspace.do_bulk(session, action, actor=actor)
    _send(result.surveys)
    if json_out:
        emit_json(result)
    else:
        _say(
            f"{result.threads} threads: " + ", ".join(f"{k} {v}" for k, v in result.changed.items())
        )


# ------------------------------------------------------------------ labels


def _labels(
    thread_id: int, labels: list[str], as_user: str | None, remove: bool, json_out: bool
) -> None:
    ensure_schema()
    with session_scope(write=True) as session:
        actor = service.authorize(session, acting_user(as_user), "conversations.work")
        now = workspace.do_label_thread(session, thread_id, labels, actor=actor.name, remove=remove)
    if json_out:
        emit_json({"thread_id": thread_id, "labels": now})
    else:
        _say(f"thread {thread_id}: {', '.join(now) or '(no labels)'}")


@labels_app.command("add")
def labels_add(
    thread_id: int = typer.Argument(..., min=1),
    labels: list[str] = typer.Argument(...),
    as_user: str | None = AS_USER,
    json_out: bool = JSON,
) -> None:
    """Label a thread (new labels are created)."""
    _labels(thread_id, labels, as_user, False, json_out)


@labels_app.command("remove")
def labels_remove(
    thread_id: int = typer.Argument(..., min=1),
    labels: list[str] = typer.Argument(...),
    as_user: str | None = AS_USER,
    json_out: bool = JSON,
) -> None:
    """Take labels off a thread (an unknown label is refused by name)."""
    _labels(thread_id, labels, as_user, True, json_out)


@labels_app.command("list")
def labels_list(json_out: bool = JSON) -> None:
    """`{"labels": [{"name", "threads", "people"}]}`."""
    ensure_schema()
    with session_scope() as session:
        labels = queries.list_labels(session)
    if json_out:
        emit_json({"labels": [label.model_dump() for label in labels]})
        return
    for label in labels:
        _say(f"{label.name}: {label.threads} threads, {label.people} people")


def people_label(
    person: str = typer.Argument(..., help="Person id or CHANNEL:HANDLE."),
    labels: list[str] = typer.Argument(...),
    remove: bool = typer.Option(False, "--remove", help="Take these labels off."),
    as_user: str | None = AS_USER,
    json_out: bool = JSON,
) -> None:
    """Label a person (a segment for reports; personal data: exported, erased)."""
    from rapport.relationships.queries import resolve_person

    ensure_schema()
    with session_scope(write=True) as session:
        actor = service.authorize(session, acting_user(as_user), "people.label")
        pid = int(person) if person.strip().isdigit() else resolve_person(session, person)
        now = workspace.do_label_person(session, pid, labels, actor=actor.name, remove=remove)
    if json_out:
        emit_json({"person_id": pid, "labels": now})
    else:
        _say(f"person {pid}: {', '.join(now) or '(no labels)'}")


# ------------------------------------------------------------------ notes


@notes_app.command("add")
def notes_add(
    thread_id: int = typer.Argument(..., min=1),
    text: str = typer.Option(..., "--text", help="The note; @username notifies that user."),
    as_user: str | None = AS_USER,
    json_out: bool = JSON,
) -> None:
    """An internal note on a thread: never sent, never an outbound message."""
    ensure_schema()
    with session_scope(write=True) as session:
        actor = service.authorize(session, acting_user(as_user), "conversations.work")
        note = workspace.do_add_note(session, thread_id, text, actor=actor)
    if json_out:
        emit_json(note)
    else:
        _say(f"note {note.id} on thread {thread_id}" + (
            f"; notified {', '.join('@' + m for m in note.mentions)}" if note.mentions else ""
        ))  # fmt: skip


@notes_app.command("list")
def notes_list(thread_id: int = typer.Argument(..., min=1), json_out: bool = JSON) -> None:
    ensure_schema()
    with session_scope() as session:
        get_thread(session, thread_id)
        notes = queries.notes_of_thread(session, thread_id)
    if json_out:
        emit_json({"notes": [n.model_dump(mode="json") for n in notes]})
        return
    for n in notes:
        _say(f"[internal] {n.author} {n.created_at:%Y-%m-%d %H:%M}: {n.text}")


def notifications(
    as_user: str | None = AS_USER,
    unread: bool = typer.Option(False, "--unread", help="Only unread ones."),
    mark_read: bool = typer.Option(False, "--mark-read", help="Mark them read."),
    json_out: bool = JSON,
) -> None:
    """Your notifications (@mentions in notes)."""
    from rapport.users.service import get_user

    user = acting_user(as_user)
    if user is None:
        fail("notifications are per user: --as USER (or $RAPPORT_USER)")
    ensure_schema()
    with session_scope(write=True) as session:
        found = get_user(session, user)
        items = queries.notifications_for(session, found.id, unread_only=unread)
        if mark_read:
            workspace.do_mark_read(session, found.id)
    if json_out:
        emit_json({"items": [i.model_dump(mode="json") for i in items]})
        return
    for i in items:
        _say(f"{'  ' if i.read_at else '* '}thread {i.thread_id}, {i.actor}: {i.text[:120]}")


# ------------------------------------------------------------------ canned


@canned_app.command("add")
def canned_add(
    shortcode: str = typer.Argument(...),
    text: str = typer.Option(..., "--text", help="Hi {{customer.name}}, ... ({{agent.name}})"),
    replace: bool = typer.Option(False, "--replace", help="Replace an existing one."),
    as_user: str | None = AS_USER,
    json_out: bool = JSON,
) -> None:
    """Add a canned response (an unknown variable is refused by name)."""
    ensure_schema()
    with session_scope(write=True) as session:
        actor = service.authorize(session, acting_user(as_user), "canned.write")
        saved = workspace.do_save_canned(
            session, shortcode, text, actor=actor.name, replace=replace
        )
    if json_out:
        emit_json(saved)
    else:
        _say(f"/{saved.shortcode} saved")


@canned_app.command("list")
def canned_list(json_out: bool = JSON) -> None:
    ensure_schema()
    with session_scope() as session:
        items = queries.list_canned(session)
    if json_out:
        emit_json({"canned": [c.model_dump(mode="json") for c in items]})
        return
    for c in items:
        _say(f"/{c.shortcode}: {c.text}")


@canned_app.command("delete")
def canned_delete(
    shortcode: str = typer.Argument(...), as_user: str | None = AS_USER, json_out: bool = JSON
) -> None:
    ensure_schema()
    with session_scope(write=True) as session:
        actor = service.authorize(session, acting_user(as_user), "canned.write")
        workspace.do_delete_canned(session, shortcode, actor=actor.name)
    if json_out:
        emit_json({"deleted": shortcode})
    else:
        _say(f"/{shortcode} deleted")


# ------------------------------------------------------------------ views


def _filters(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            fail(f"--filter: {pair!r} is not KEY=VALUE (e.g. status=open, label=vip)")
        val: Any = value.strip()
        if key.strip() == "all":
            val = val.lower() in ("1", "true", "yes")
        out[key.strip()] = val
    return out


@views_app.command("save")
def views_save(
    name: str = typer.Argument(...),
    filter_: list[str] = typer.Option(
        [], "--filter", help="KEY=VALUE: status, decision, channel, team, assignee, label, all."
    ),
    as_user: str | None = AS_USER,
    json_out: bool = JSON,
) -> None:
    """Save an inbox view (`inbox --view NAME`)."""
    ensure_schema()
    with session_scope(write=True) as session:
        actor = service.authorize(session, acting_user(as_user), "conversations.read")
        view = workspace.do_save_view(session, name, _filters(filter_), actor=actor.name)
    if json_out:
        emit_json(view)
    else:
        _say(f"view {view.name}: {view.filters}")


@views_app.command("list")
def views_list(json_out: bool = JSON) -> None:
    ensure_schema()
    with session_scope() as session:
        views = queries.list_views(session)
    if json_out:
        emit_json({"views": [v.model_dump(mode="json") for v in views]})
        return
    for v in views:
        _say(f"{v.name}: {v.filters}")


@views_app.command("delete")
def views_delete(
    name: str = typer.Argument(...), as_user: str | None = AS_USER, json_out: bool = JSON
) -> None:
    ensure_schema()
    with session_scope(write=True) as session:
        actor = service.authorize(session, acting_user(as_user), "conversations.read")
        workspace.do_delete_view(session, name, actor=actor.name)
    if json_out:
        emit_json({"deleted": name})
    else:
        _say(f"view {name} deleted")


# ------------------------------------------------------------------ metrics

BY = typer.Option("all", "--by", help="all, channel, team, agent or label.")
SINCE = typer.Option(None, "--since", help="From (ISO 8601).")
UNTIL = typer.Option(None, "--until", help="Up to, excluding (ISO 8601).")
CHANNEL = typer.Option(None, "--channel")
SEGMENT = typer.Option(None, "--people-label", help="Only customers with this label.")


def _metrics_filter(
    by: str, since: str | None, until: str | None, channel: str | None, segment: str | None
) -> inbox_metrics.MetricsFilter:
    if by not in inbox_metrics.GROUPS:
        fail(f"--by: {by!r} is not one of {', '.join(inbox_metrics.GROUPS)}")
    return inbox_metrics.MetricsFilter(
        by=by,
        since=parse_when(since, "--since"),
        until=parse_when(until, "--until"),
        channel=channel,
        segment=segment,
    )


def _print_durations(report: inbox_metrics.DurationReport) -> None:
    for name, d in report.groups.items():
        med = "-" if d.median_seconds is None else f"{d.median_seconds / 3600:.1f} h"
        p90 = "-" if d.p90_seconds is None else f"{d.p90_seconds / 3600:.1f} h"
        stdout.print(f"{name}: {d.count} · median {med} · p90 {p90}", markup=False)


@metrics_app.command("resolution")
def metrics_resolution(
    by: str = BY, since: str | None = SINCE, until: str | None = UNTIL,
    channel: str | None = CHANNEL, segment: str | None = SEGMENT, json_out: bool = JSON,
) -> None:  # fmt: skip
    """Resolution time (median, p90) per group."""
    ensure_schema()
    with session_scope() as session:
        report = inbox_metrics.resolution_time(
            session, _metrics_filter(by, since, until, channel, segment)
        )
    if json_out:
        emit_json(report)
    else:
        _print_durations(report)


@metrics_app.command("reopen")
def metrics_reopen(
    by: str = BY, since: str | None = SINCE, until: str | None = UNTIL,
    channel: str | None = CHANNEL, segment: str | None = SEGMENT, json_out: bool = JSON,
) -> None:  # fmt: skip
    """Reopen rate: resolved threads that came back."""
    ensure_schema()
    with session_scope() as session:
        report = inbox_metrics.reopen_rate(
            session, _metrics_filter(by, since, until, channel, segment)
        )
    if json_out:
        emit_json(report)
        return
    for name, g in report.groups.items():
        _say(f"{name}: {g.reopened_threads} of {g.resolved_threads} reopened")


@metrics_app.command("pending")
def metrics_pending(
    by: str = BY, since: str | None = SINCE, until: str | None = UNTIL,
    channel: str | None = CHANNEL, segment: str | None = SEGMENT, json_out: bool = JSON,
) -> None:  # fmt: skip
    """Time in pending (waiting on the customer) per thread."""
    ensure_schema()
    with session_scope() as session:
        report = inbox_metrics.time_in_pending(
            session, _metrics_filter(by, since, until, channel, segment)
        )
    if json_out:
        emit_json(report)
    else:
        _print_durations(report)


@metrics_app.command("csat")
def metrics_csat(
    by: str = BY, since: str | None = SINCE, until: str | None = UNTIL,
    channel: str | None = CHANNEL, segment: str | None = SEGMENT, json_out: bool = JSON,
) -> None:  # fmt: skip
    """Satisfaction: surveys, answers, response rate, mean score."""
    ensure_schema()
    with session_scope() as session:
        report = inbox_metrics.csat(session, _metrics_filter(by, since, until, channel, segment))
    if json_out:
        emit_json(report)
        return
    for name, g in report.groups.items():
        rate = "-" if g.response_rate is None else f"{g.response_rate:.0%}"
        _say(f"{name}: {g.answered}/{g.sent} answered ({rate}), mean {g.mean_score or '-'}")
