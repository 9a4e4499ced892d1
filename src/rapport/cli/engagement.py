"""`rapport inbox`, `threads`, `triage`, `assign`/`claim`/`release`, `reply`,
`outbox`, `suggest`, `policy`, `teams`: the engagement commands."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from rapport.cli.output import emit_json, fail, stdout, warn
from rapport.cli.schema_guard import ensure_schema
from rapport.conversations.queries import get_thread
from rapport.engagement import queries, service
from rapport.engagement.errors import PolicyInvalid
from rapport.engagement.models import DECISIONS, OUTBOX_STATES, STATUSES
from rapport.engagement.schemas import InboxFilter
from rapport.storage.engine import session_scope

threads_app = typer.Typer(
    help="One thread: its messages, decision and status.", no_args_is_help=True
)
outbox_app = typer.Typer(help="Replies on their way out.", no_args_is_help=True)
policy_app = typer.Typer(help="The triage policy (YAML, versioned).", no_args_is_help=True)
teams_app = typer.Typer(help="Teams of users.", no_args_is_help=True)

JSON = typer.Option(False, "--json", help="Print JSON.")
AS_USER = typer.Option(
    None,
    "--as",
    help="Act as this Rapport user (id, email or username; default $RAPPORT_USER); "
    "their role is checked.",
)


def _say(text: str) -> None:
    stdout.print(text, markup=False, highlight=False)


def acting_user(value: str | None) -> str | None:
    return value or os.environ.get("RAPPORT_USER") or None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(f"{path}: no such file")
    except UnicodeDecodeError as exc:
        fail(f"{path}: not UTF-8 text (byte {exc.start})")
    except OSError as exc:
        fail(f"{path}: {exc.strerror}")


# ------------------------------------------------------------------ inbox


def inbox(
    all_: bool = typer.Option(
        False, "--all", help="Every thread exactly once, any status or decision."
    ),
    status: str | None = typer.Option(
        None, "--status", help=f"One of {', '.join(STATUSES)} (default open)."
    ),
    team: str | None = typer.Option(None, "--team", help="Only threads of this team."),
    channel: str | None = typer.Option(None, "--channel", help="Only this channel."),
    decision: str | None = typer.Option(None, "--decision", help=f"One of {', '.join(DECISIONS)}."),
    assignee: str | None = typer.Option(
        None, "--assignee", help="A user, or `none` for unassigned."
    ),
    label: str | None = typer.Option(None, "--label", help="Only threads with this label."),
    view: str | None = typer.Option(None, "--view", help="A saved view (`rapport views save`)."),
    limit: int = typer.Option(50, "--limit", min=1, max=1000),
    offset: int = typer.Option(0, "--offset", min=0),
    json_out: bool = JSON,
) -> None:
    """The prioritized inbox: `{"items": [{"thread_id", "customer_id", "decision",
    "reason", "priority", "sla_due_at", "assignee", "last_message", ...}], "total"}`.
    By default the open threads that need us (listen_only hidden)."""
    ensure_schema()
    given = {
        "status": status,
        "team": team,
        "channel": channel,
        "decision": decision,
        "assignee": assignee,
        "label": label,
    }
    with session_scope() as session:
        if view is not None:
            flt = queries.view_filter(session, view, **given, limit=limit, offset=offset)
            if all_:
                flt.all = True
        else:
            flt = InboxFilter(all=all_, limit=limit, offset=offset, **given)
        page = queries.inbox(session, flt)
        page.counts = queries.status_counts(session, flt)
        untriaged = queries.untriaged_threads(session)
    if untriaged:
        warn(f"{untriaged} thread(s) have no decision yet: run `rapport triage --all`")
    if json_out:
        emit_json(page)
        return
    table = Table(
        "thread", "priority", "decision", "status", "customer", "channel", "due", "assignee",
        "latest message", title=f"inbox ({page.total})",
    )  # fmt: skip
    for item in page.items:
        last = item.last_message
        due = item.sla_due_at.strftime("%Y-%m-%d %H:%M") if item.sla_due_at else "-"
        table.add_row(
            str(item.thread_id),
            f"{item.priority:.0f}",
            item.decision,
            item.status,
            item.customer or "-",
            item.channel,
            ("! " if item.sla_overdue else "") + due,
            item.assignee or "-",
            (last.text[:60] if last else ""),
        )
    stdout.print(table)


@threads_app.command("show")
def threads_show(thread_id: int = typer.Argument(..., min=1), json_out: bool = JSON) -> None:
    """A thread: messages with their analysis, decision with its reason, status, outbox."""
    ensure_schema()
    with session_scope() as session:
        view = queries.thread_view(session, thread_id)
    if json_out:
        emit_json(view)
        return
    d = view["decision"]
    _say(f"thread {thread_id} on {view['thread']['channel']} · {view['status']}")
    _say(f"decision: {d['decision']} ({d['rule_id']}): {d['reason']}")
    _say(f"priority {d['priority']:.0f}: {d['priority_reason']}")
    _say(f"SLA due: {d['sla_due_at'] or '-'} · breaches: {d['sla_breaches']}")
    for m in view["messages"]:
        _say(f"  [{m['direction']}] {m['author']}: {m['text']}")


def triage(
    thread_ids: list[int] = typer.Argument(None, help="Threads to decide again."),
    all_: bool = typer.Option(False, "--all", help="Every stored thread."),
    json_out: bool = JSON,
) -> None:
    """Decide threads again with the policy in force (current health)."""
    ensure_schema()
    if all_:
        summary = service.do_triage_all()
    else:
        if not thread_ids:
            fail("name threads to triage, or --all")
        with session_scope(write=True) as session:
            for tid in thread_ids:
                get_thread(session, tid)
            summary = service.do_triage_threads(session, thread_ids)
    if json_out:
        emit_json(summary)
        return
    _say(
        f"{summary.threads} thread(s) decided with policy version {summary.policy_version}: "
        + ", ".join(f"{k} {v}" for k, v in sorted(summary.decisions.items()))
    )


# ------------------------------------------------------------------ work


def _state_doc(session: Any, thread_id: int) -> dict[str, Any]:
    return queries.decision_of(session, thread_id).model_dump(mode="json")


def assign(
    thread_id: int = typer.Argument(..., min=1),
    to: str = typer.Option(..., "--to", help="The user (id, email or username) who takes it."),
    as_user: str | None = AS_USER,
    json_out: bool = JSON,
) -> None:
    """Give a thread to a user (managers)."""
    ensure_schema()
    with session_scope(write=True) as session:
        actor = service.authorize(session, acting_user(as_user), "conversations.assign")
        service.do_assign(session, thread_id, to, actor=actor.name)
        doc = _state_doc(session, thread_id)
    if json_out:
        emit_json(doc)
    else:
        _say(f"thread {thread_id} assigned to {doc['assignee']}")


def claim(
    thread_id: int = typer.Argument(..., min=1),
    as_user: str | None = AS_USER,
    json_out: bool = JSON,
) -> None:
    """Take a thread (refused when another agent holds it)."""
    ensure_schema()
    user = acting_user(as_user)
    if user is None:
        fail("claim needs the agent: --as USER (or $RAPPORT_USER)")
    with session_scope(write=True) as session:
        actor = service.authorize(session, user, "conversations.work")
        service.do_claim(session, thread_id, user, actor=actor.name)
        doc = _state_doc(session, thread_id)
    if json_out:
        emit_json(doc)
    else:
        _say(f"thread {thread_id} claimed by {doc['assignee']}")


def release(
    thread_id: int = typer.Argument(..., min=1),
    as_user: str | None = AS_USER,
    force: bool = typer.Option(False, "--force", help="Release whoever holds it (managers)."),
    json_out: bool = JSON,
) -> None:
    """Give a claimed thread back."""
    ensure_schema()
    user = acting_user(as_user)
    with session_scope(write=True) as session:
        actor = service.authorize(
            session, user, "conversations.assign" if force else "conversations.work"
        )
        service.do_release(session, thread_id, user, actor=actor.name, force=force or user is None)
        doc = _state_doc(session, thread_id)
    if json_out:
        emit_json(doc)
    else:
        _say(f"thread {thread_id} released")


# ------------------------------------------------------------------ replies


def reply(
    thread_id: int = typer.Argument(..., min=1),
    text: str | None = typer.Option(
        None, "--text", help="The reply ({{customer.name}}... allowed)."
    ),
    canned: str | None = typer.Option(None, "--canned", help="A canned response's shortcode."),
    channel: str | None = typer.Option(None, "--channel", help="Reply on this channel instead."),
    private: bool = typer.Option(False, "--private", help="Send privately (DM, direct, email)."),
    queue_only: bool = typer.Option(False, "--queue-only", help="Queue it; the outbox job sends."),
    as_user: str | None = AS_USER,
    json_out: bool = JSON,
) -> None:
    """Reply to a thread through the outbox (consent checked first; nothing is
    queued when refused). Prints the outbox entry."""
    ensure_schema()
    with session_scope(write=True) as session:
        actor = service.authorize(session, acting_user(as_user), "conversations.work")
        queued = service.do_queue_reply(
            session, thread_id, text, actor=actor, channel=channel, private=private, canned=canned
        )
    for warning in queued.warnings:
        warn(warning)
    item = queued.outbox
    if not queue_only:
        from rapport.workers.tasks.engagement import dispatch_send

        sent = dispatch_send(item.id)
        if sent is not None:
            item = sent
    if json_out:
        emit_json({**item.model_dump(mode="json"), "warnings": queued.warnings})
        return
    _say(f"outbox {item.id}: {item.status}" + (f" ({item.reason})" if item.reason else ""))


@outbox_app.command("list")
def outbox_list(
    status: str | None = typer.Option(None, "--status", help=f"One of {', '.join(OUTBOX_STATES)}."),
    thread: int | None = typer.Option(None, "--thread", min=1, help="Only this thread's."),
    limit: int = typer.Option(100, "--limit", min=1, max=10_000),
    json_out: bool = JSON,
) -> None:
    """Outbox entries, newest first: `{"items": [{"thread_id", "channel", "status",
    "reason", "text", ...}]}`."""
    ensure_schema()
    with session_scope() as session:
        items = queries.list_outbox(session, status=status, thread_id=thread, limit=limit)
        counts = queries.outbox_counts(session)
    if json_out:
        emit_json({"items": [i.model_dump(mode="json") for i in items], "counts": counts})
        return
    table = Table("id", "thread", "channel", "status", "attempts", "reason", "text", title="outbox")
    for i in items:
        table.add_row(
            str(i.id), str(i.thread_id or "-"), i.channel, i.status, str(i.attempts),
            (i.reason or "")[:60], i.text[:50],
        )  # fmt: skip
    stdout.print(table)


@outbox_app.command("send")
def outbox_send(
    outbox_id: int | None = typer.Argument(
        None, min=1, help="One entry (default: all that are due)."
    ),
    json_out: bool = JSON,
) -> None:
    """Send now what is due (new entries and retries whose time has come)."""
    ensure_schema()
    items = [service.do_send_outbox_item(outbox_id)] if outbox_id else service.do_send_due()
    if json_out:
        emit_json({"items": [i.model_dump(mode="json") for i in items]})
        return
    for i in items:
        _say(f"outbox {i.id}: {i.status}" + (f" ({i.reason})" if i.reason else ""))


def suggest(
    thread_id: int = typer.Argument(..., min=1),
    limit: int = typer.Option(3, "--limit", min=1, max=20),
    json_out: bool = JSON,
) -> None:
    """Suggested answers (never sent by themselves): `{"suggestions": [{"text", "score",
    "source_message_ids", "reason"}]}`."""
    from rapport.engagement.suggest import suggest_for_thread

    ensure_schema()
    with session_scope() as session:
        get_thread(session, thread_id)
        result = suggest_for_thread(session, thread_id, limit=limit)
    if json_out:
        emit_json(result)
        return
    if not result.suggestions:
        _say("no suggestion: no similar answered message and no knowledge-base entry")
    for s in result.suggestions:
        _say(f"[{s.score:.2f} {s.kind}] {s.text}\n    why: {s.reason}")


# ------------------------------------------------------------------ policy


@policy_app.command("show")
def policy_show(
    fields: bool = typer.Option(False, "--fields", help="List the features rules may test."),
    json_out: bool = JSON,
) -> None:
    """The policy in force: version, YAML, rules, SLA targets, priority weights."""
    ensure_schema()
    if fields:
        doc = queries.policy_fields()
        if json_out:
            emit_json({"fields": doc})
        else:
            for name, spec in doc.items():
                _say(f"{name} ({spec['type']}): {spec['help']}")
        return
    with session_scope() as session:
        policy = queries.show_policy(session)
        versions = queries.policy_versions(session)
        counts = queries.decision_counts(session)
    if json_out:
        emit_json({**policy.model_dump(mode="json"), "versions": versions, "decisions": counts})
        return
    _say(f"# policy version {policy.version} ({policy.name}), set by {policy.created_by}")
    _say(policy.source)


def _policy_text(path: Path) -> str:
    return _read(path)


@policy_app.command("set")
def policy_set(
    path: Path = typer.Argument(..., help="The policy YAML file."),
    retriage: bool = typer.Option(
        True, "--retriage/--no-retriage", help="Decide every thread again."
    ),
    as_user: str | None = AS_USER,
    json_out: bool = JSON,
) -> None:
    """Put a new policy version in force (an invalid one is refused with its
    line; the policy in force stays)."""
    ensure_schema()
    text = _policy_text(path)
    try:
        with session_scope(write=True) as session:
            actor = service.authorize(session, acting_user(as_user), "policy.write")
            version, policy = service.do_set_policy(
                session, text, actor=actor.name, source=str(path)
            )
    except PolicyInvalid as exc:
        fail(f"policy refused, version in force kept: {exc}")
    summary = service.do_triage_all() if retriage else None
    doc: dict[str, Any] = {
        "version": version,
        "name": policy.name,
        "rules": [r.id for r in policy.rules],
        "retriaged": summary.model_dump() if summary else None,
    }
    if json_out:
        emit_json(doc)
        return
    _say(f"policy version {version} ({policy.name}) in force: {len(policy.rules)} rules")
    if summary:
        _say(f"{summary.threads} threads decided again")


@policy_app.command("test")
def policy_test(
    path: Path = typer.Argument(..., help="The policy YAML file to try."),
    limit: int = typer.Option(50, "--limit", min=0, max=100_000, help="Changes listed at most."),
    json_out: bool = JSON,
) -> None:
    """Dry run: which stored threads' decisions would change, from which rule to
    which, and why. Nothing is written."""
    ensure_schema()
    text = _policy_text(path)
    with session_scope() as session:
        try:
            result = service.preview_policy(session, text, source=str(path), limit=limit)
        except PolicyInvalid as exc:
            fail(f"policy refused: {exc}")
    if json_out:
        emit_json(result)
        return
    _say(f"{result.changed} of {result.threads} threads would change")
    _say("before: " + ", ".join(f"{k} {v}" for k, v in sorted(result.before.items())))
    _say("after:  " + ", ".join(f"{k} {v}" for k, v in sorted(result.after.items())))
    for c in result.changes:
        _say(
            f"  thread {c.thread_id}: {c.before} ({c.before_rule}) → {c.after} ({c.after_rule}): "
            f"{c.reason}"
        )


# ------------------------------------------------------------------ teams


@teams_app.command("add")
def teams_add(
    name: str = typer.Argument(...),
    description: str | None = typer.Option(None, "--description"),
    as_user: str | None = AS_USER,
    json_out: bool = JSON,
) -> None:
    """Create a team (managers)."""
    ensure_schema()
    with session_scope(write=True) as session:
        actor = service.authorize(session, acting_user(as_user), "teams.write")
        team = service.do_create_team(session, name, description=description, actor=actor.name)
    if json_out:
        emit_json(team)
    else:
        _say(f"team {team.name} created")


@teams_app.command("join")
def teams_join(
    user: str = typer.Argument(..., help="The user (id, email or username)."),
    team: str = typer.Argument(...),
    as_user: str | None = AS_USER,
    json_out: bool = JSON,
) -> None:
    """Put a user in a team (a user belongs to one team)."""
    ensure_schema()
    with session_scope(write=True) as session:
        actor = service.authorize(session, acting_user(as_user), "teams.write")
        result = service.do_join_team(session, user, team, actor=actor.name)
    if json_out:
        emit_json(result)
    else:
        _say(f"{user} is in team {result.name}: {', '.join(result.members)}")


@teams_app.command("list")
def teams_list(json_out: bool = JSON) -> None:
    """Teams and their members."""
    ensure_schema()
    with session_scope() as session:
        teams = queries.list_teams(session)
    if json_out:
        emit_json({"teams": [t.model_dump(mode="json") for t in teams]})
        return
    for t in teams:
        _say(f"{t.name}: {', '.join(t.members) or '(nobody)'}")


def sla(json_out: bool = JSON) -> None:
    """SLA breaches (answers later than due) and overdue threads, per decision and channel."""
    ensure_schema()
    with session_scope() as session:
        doc = queries.sla_summary(session)
    if json_out:
        emit_json(doc)
        return
    _say(f"{doc['breaches']} breaches, {doc['overdue']} threads overdue now")
    for key in ("by_decision", "by_channel"):
        for name, cell in sorted(doc[key].items()):
            _say(
                f"  {name}: {cell['threads']} threads, {cell['breaches']} breaches, "
                f"{cell['overdue']} overdue"
            )
