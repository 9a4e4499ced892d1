"""`rapport people ...`, `rapport consent ...` and `rapport sales ...`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rapport.cli.output import emit_json, fail, parse_when, stderr, stdout, warn
from rapport.cli.schema_guard import ensure_schema
from rapport.relationships import queries, service
from rapport.relationships.models import ROLES, PersonHealthStale
from rapport.relationships.resolution import find_duplicates
from rapport.storage.engine import session_scope
from rapport.storage.vacuum import do_vacuum

app = typer.Typer(
    help="People across all their identities: profiles, health, roles, merges, privacy.",
    no_args_is_help=True,
)
role_app = typer.Typer(help="Roles held by people.", no_args_is_help=True)
consent_app = typer.Typer(help="Consent per channel and contact preferences.", no_args_is_help=True)
sales_app = typer.Typer(help="Sales and deals linked to people.", no_args_is_help=True)

AS_USER = typer.Option(
    None, "--as", help="Act as this Rapport user (id, email or username); their role is checked."
)
JSON = typer.Option(False, "--json", help="Print JSON.")
#: `people list` refreshes out-of-date health itself up to this many people.
AUTO_REFRESH = 5000


def _say(text: str) -> None:
    """Print text that may hold user data (no Rich markup interpretation)."""
    stdout.print(text, markup=False, highlight=False)


def _person(session: Session, ref: str) -> int:
    """A person id from `ID` or an identity (`CHANNEL:HANDLE`, email, phone)."""
    ref = ref.strip()
    if ref.isdigit():
        return queries.get_person(session, int(ref), allow=("active", "merged", "erased")).id
    return queries.resolve_person(session, ref)


def _refresh_small() -> None:
    """Bring stored health up to date first when few people are waiting."""
    with session_scope() as session:
        stale = session.execute(select(func.count()).select_from(PersonHealthStale)).scalar_one()
    if stale and stale <= AUTO_REFRESH:
        with session_scope(write=True) as session:
            service.do_refresh_health(session, stale_only=True)
    elif stale:
        warn(
            f"health of {stale} people is out of date: "
            "run `rapport people health --recompute` (or let the worker do it)"
        )


@app.command("list")
def list_(
    role: str | None = typer.Option(
        None, "--role", help=f"Only people with this role ({', '.join(ROLES)})."
    ),
    q: str | None = typer.Option(None, "--q", help="Text in a handle, name, email or phone."),
    limit: int = typer.Option(50, "--limit", min=1, max=10_000),
    offset: int = typer.Option(0, "--offset", min=0),
    sort: str = typer.Option("recent", "--sort", help="recent (last seen), health, or id."),
    json_out: bool = JSON,
) -> None:
    """People, most recently active first: `{"people": [...], "total": N}`."""
    if role is not None and role not in ROLES:
        fail(f"--role: unknown role {role!r} (roles: {', '.join(ROLES)})")
    if sort not in ("recent", "health", "id"):
        fail(f"--sort: {sort!r} is not one of recent, health, id")
    ensure_schema()
    _refresh_small()
    with session_scope() as session:
        result = queries.list_people(session, role=role, q=q, limit=limit, offset=offset, sort=sort)
    if json_out:
        emit_json(result)
        return
    table = Table(
        "id",
        "name",
        "identities",
        "roles",
        "messages",
        "last seen",
        "health",
        title=f"people ({result.total})",
    )
    for p in result.people:
        table.add_row(
            str(p.id),
            p.display_name,
            ", ".join(p.identities),
            ", ".join(p.roles),
            str(p.message_count),
            p.last_seen_at.date().isoformat() if p.last_seen_at else "-",
            "-"
            if p.health is None
            else f"{p.health:.0f}" + ("" if p.trend is None else f" ({p.trend:+.0f})"),
        )
    stdout.print(table)


@app.command("find")
def find(
    identity: str = typer.Argument(
        ..., help="CHANNEL:HANDLE (e.g. twitter:115712), an email or a phone."
    ),
    json_out: bool = JSON,
) -> None:
    """The person an identity belongs to."""
    ensure_schema()
    with session_scope() as session:
        pid = queries.resolve_person(session, identity)
        person = queries.get_person(session, pid)
        summary = queries.summaries(session, [person])[0]
    if json_out:
        emit_json(summary)
    else:
        stdout.print(
            f"person {summary.id}: {summary.display_name} ({', '.join(summary.identities)})"
        )


def _print_detail(detail: Any) -> None:
    _say(f"person {detail.id}: {detail.display_name} ({detail.status})")
    for ident in detail.identities:
        extra = ", ".join([*ident.emails, *ident.phones])
        _say(f"  identity {ident.ref}" + (f" ({extra})" if extra else ""))
    if detail.roles:
        _say("  roles: " + ", ".join(f"{r.role} [{r.source}: {r.reason}]" for r in detail.roles))
    for s in detail.suggested_roles:
        _say(f"  suggested role {s.role}: {s.reason}")
    if detail.health:
        _say(f"  health: {detail.health.explanation}")
        for f in detail.health.factors:
            _say(
                f"    {f.name:22} {f.value:.2f} × {f.weight:.2f} = {f.points:4.1f} pts  "
                f"{f.explanation}"
            )
    for d in detail.consent.decisions:
        _say(
            f"  consent {d.channel}{' (private)' if d.private else ''}: "
            f"{'allowed' if d.allowed else 'DENIED'} — {d.reason}"
        )
    for s in detail.sales:
        _say(f"  sale {s.occurred_at.date()} {s.product} {s.amount:.2f} {s.currency} ({s.stage})")
    _say(f"  timeline ({detail.timeline_total} events, newest {len(detail.timeline)} shown):")
    for e in detail.timeline:
        who = f" {e.author}" if e.author else ""
        _say(
            f"    {e.at.isoformat(timespec='minutes')} {e.kind:14} {e.channel or '':10}{who}: "
            f"{e.summary[:120]!r}"
        )


@app.command("show")
def show(
    person: str = typer.Argument(..., help="Person id or CHANNEL:HANDLE."),
    timeline_limit: int = typer.Option(
        200, "--timeline-limit", min=0, help="Newest timeline events shown (0: all)."
    ),
    json_out: bool = JSON,
) -> None:
    """Identities, roles, attributes, timeline, health, consent and sales of a person."""
    ensure_schema()
    with session_scope() as session:
        pid = _person(session, person)
        detail = queries.show_person(session, pid, timeline_limit=timeline_limit or None)
    if json_out:
        emit_json(detail)
    else:
        _print_detail(detail)


@app.command("duplicates")
def duplicates(
    limit: int = typer.Option(100, "--limit", min=1),
    min_score: float = typer.Option(0.5, "--min-score", min=0, max=1),
    json_out: bool = JSON,
) -> None:
    """People who are probably the same human, with a score and the reasons."""
    ensure_schema()
    with session_scope() as session:
        found = find_duplicates(session, limit=limit, min_score=min_score)
    if json_out:
        emit_json({"suggestions": [s.model_dump(mode="json") for s in found], "total": len(found)})
        return
    table = Table(
        "people", "score", "identities", "reasons", title=f"possible duplicates ({len(found)})"
    )
    for s in found:
        table.add_row(
            " + ".join(map(str, s.people)),
            f"{s.score:.2f}",
            " | ".join(", ".join(i) for i in s.identities),
            "; ".join(s.reasons),
        )
    stdout.print(table)


@app.command("not-duplicate")
def not_duplicate(
    a: str = typer.Argument(...),
    b: str = typer.Argument(...),
    as_user: str | None = AS_USER,
    json_out: bool = JSON,
) -> None:
    """Record that two people are different (never suggested again)."""
    ensure_schema()
    with session_scope(write=True) as session:
        actor = service.authorize(session, as_user, "people.merge")
        pa, pb = _person(session, a), _person(session, b)
        service.do_mark_not_duplicates(session, pa, pb, actor=actor)
    if json_out:
        emit_json({"people": sorted([pa, pb]), "not_duplicate": True})
    else:
        stdout.print(f"people {pa} and {pb} will not be suggested as duplicates again")


@app.command("merge")
def merge(
    survivor: str = typer.Argument(..., help="The person that stays (id or CHANNEL:HANDLE)."),
    absorbed: str = typer.Argument(..., help="The person folded into it."),
    as_user: str | None = AS_USER,
    json_out: bool = JSON,
) -> None:
    """Merge person B into person A (undo with `people unmerge A --identity ...`)."""
    ensure_schema()
    with session_scope(write=True) as session:
        actor = service.authorize(session, as_user, "people.merge")
        result = service.do_merge_people(
            session, _person(session, survivor), _person(session, absorbed), actor=actor
        )
    if json_out:
        emit_json(result)
    else:
        stdout.print(
            f"merged person {result.absorbed_id} into {result.survivor_id}: "
            f"{', '.join(result.identities_moved)}; {result.sales_moved} sale(s); "
            f"merge {result.merge_id}"
        )


@app.command("unmerge")
def unmerge(
    person: str = typer.Argument(..., help="Person id."),
    identity: str = typer.Option(..., "--identity", help="The CHANNEL:HANDLE to take out."),
    only: bool = typer.Option(False, "--only", help="Split just this identity into a new person."),
    as_user: str | None = AS_USER,
    json_out: bool = JSON,
) -> None:
    """Take an identity out of a person (undoing the merge that brought it in)."""
    ensure_schema()
    with session_scope(write=True) as session:
        actor = service.authorize(session, as_user, "people.merge")
        result = service.do_unmerge(
            session, _person(session, person), identity, actor=actor, only=only
        )
    if json_out:
        emit_json(result)
    else:
        stdout.print(
            f"{', '.join(result.identities_moved)} now belong to person {result.restored_person_id}"
            + (f" (undid merge {result.undid_merge_id})" if result.undid_merge_id else "")
        )


@role_app.command("set")
def role_set(
    person: str = typer.Argument(...),
    add: list[str] = typer.Option(
        [], "--add", help=f"Role to give ({', '.join(ROLES)}); repeatable."
    ),
    remove: list[str] = typer.Option([], "--remove", help="Role to take away; repeatable."),
    reason: str | None = typer.Option(None, "--reason"),
    as_user: str | None = AS_USER,
    json_out: bool = JSON,
) -> None:
    """Give or take roles by hand (taking a suggested role away dismisses it)."""
    if not add and not remove:
        fail("nothing to do: give --add ROLE and/or --remove ROLE")
    ensure_schema()
    with session_scope(write=True) as session:
        actor = service.authorize(session, as_user, "people.role")
        pid = _person(session, person)
        roles = service.do_set_roles(
            session, pid, add=add, remove=remove, actor=actor, reason=reason
        )
    if json_out:
        emit_json({"person_id": pid, "roles": roles})
    else:
        stdout.print(f"person {pid}: {', '.join(roles) or 'no roles'}")


@role_app.command("suggest")
def role_suggest(person: str = typer.Argument(...), json_out: bool = JSON) -> None:
    """Roles the rules suggest for a person, with their reasons."""
    ensure_schema()
    with session_scope() as session:
        detail = queries.show_person(session, _person(session, person), timeline_limit=1)
    if json_out:
        emit_json(
            {"person_id": detail.id, "roles": detail.roles, "suggested": detail.suggested_roles}
        )
        return
    for r in detail.roles:
        stdout.print(f"{r.role} ({r.source}): {r.reason}")
    for s in detail.suggested_roles:
        stdout.print(f"suggested {s.role}: {s.reason}")


@app.command("contact")
def contact(
    identity: str = typer.Argument(..., help="CHANNEL:HANDLE the contact points belong to."),
    email: list[str] = typer.Option([], "--email", help="Email address; repeatable."),
    phone: list[str] = typer.Option([], "--phone", help="Phone number; repeatable."),
    as_user: str | None = AS_USER,
    json_out: bool = JSON,
) -> None:
    """Record emails and phone numbers known for an identity (they match sales and duplicates)."""
    if not email and not phone:
        fail("nothing to do: give --email and/or --phone")
    ensure_schema()
    with session_scope(write=True) as session:
        actor = service.authorize(session, as_user, "people.contact")
        pid = service.do_add_contacts(session, identity, emails=email, phones=phone, actor=actor)
    if json_out:
        emit_json({"person_id": pid, "identity": identity, "emails": email, "phones": phone})
    else:
        stdout.print(f"recorded for {identity} (person {pid})")


@app.command("health")
def health(
    people: list[str] = typer.Argument(
        None, help="Person ids (default: with --recompute, everyone)."
    ),
    recompute: bool = typer.Option(
        False, "--recompute", help="Recompute and store health (and suggested roles)."
    ),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Score as of this time (default: the newest message)."
    ),
    json_out: bool = JSON,
) -> None:
    """Relationship health with its factors; `--recompute` refreshes the stored scores."""
    when = parse_when(as_of, "--as-of")
    ensure_schema()
    if recompute:
        started = time.perf_counter()
        with session_scope(write=True) as session:
            ids = [_person(session, p) for p in people] if people else None
            n = service.do_recompute_health(session, ids, as_of=when)
        seconds = time.perf_counter() - started
        doc = {
            "recomputed": n,
            "seconds": round(seconds, 2),
            "people_per_s": round(n / seconds, 1) if seconds else None,
        }
        if json_out:
            emit_json(doc)
        else:
            stdout.print(f"recomputed the health of {n} people in {seconds:.1f} s")
        return
    if not people:
        fail("name person ids, or use --recompute")
    with session_scope() as session:
        ids = [_person(session, p) for p in people]
        for pid in ids:
            queries.get_person(session, pid)
        found = queries.health_details(session, ids, as_of=when)
    if json_out:
        emit_json({"health": [found[p].model_dump(mode="json") for p in ids if p in found]})
        return
    for pid in ids:
        h = found.get(pid)
        stdout.print(f"person {pid}: " + (h.explanation if h else "no messages: no health yet"))


@app.command("at-risk")
def at_risk(
    limit: int = typer.Option(50, "--limit", min=1),
    json_out: bool = JSON,
) -> None:
    """Falling relationships (churn warnings), steepest fall first, with the reason."""
    ensure_schema()
    with session_scope(write=True) as session:
        refreshed = service.do_refresh_health(session)
    if refreshed:
        stderr.print(f"[dim]recomputed the health of {refreshed} people[/dim]")
    with session_scope() as session:
        falling = queries.at_risk_people(session, limit=limit)
        people = {
            p.id: p
            for p in queries.summaries(
                session, [queries.get_person(session, h.person_id) for h in falling]
            )
        }
    items = [
        {
            **people[h.person_id].model_dump(mode="json"),
            "health": h.score,
            "previous_score": h.previous_score,
            "trend": h.trend,
            "reason": h.at_risk_reason,
            "factors": [f.model_dump() for f in h.factors],
        }
        for h in falling
    ]
    if json_out:
        emit_json({"people": items, "total": len(items)})
        return
    table = Table("id", "name", "health", "trend", "reason", title=f"at risk ({len(items)})")
    for item in items:
        table.add_row(
            str(item["id"]),
            item["display_name"],
            f"{item['health']:.0f}",
            f"{item['trend']:+.0f}",
            item["reason"] or "",
        )
    stdout.print(table)


@app.command("export")
def export(
    person: str = typer.Argument(...),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the JSON to this file."),
    as_user: str | None = AS_USER,
    json_out: bool = JSON,
) -> None:
    """Everything held on a person (identities, messages, analysis, consent, sales, audit)."""
    ensure_schema()
    with session_scope(write=True) as session:
        actor = service.authorize(session, as_user, "people.export")
        document = service.do_export_person(session, _person(session, person), actor=actor)
    if output is not None:
        import json

        from rapport.cli.output import _default

        output.write_text(
            json.dumps(document, default=_default, ensure_ascii=False, indent=2), encoding="utf-8"
        )
        if json_out:
            emit_json({"person_id": document["person"]["id"], "written": str(output)})
        else:
            stdout.print(f"wrote {output}")
        return
    emit_json(document)


@app.command("erase")
def erase(
    person: str = typer.Argument(...),
    yes: bool = typer.Option(False, "--yes", help="Confirm: this cannot be undone."),
    vacuum: bool = typer.Option(
        True,
        "--vacuum/--no-vacuum",
        help="Vacuum the database afterwards (default) so no trace stays in its files.",
    ),
    as_user: str | None = AS_USER,
    json_out: bool = JSON,
) -> None:
    """Erase a person: personal text and identifiers go, anonymous counts stay."""
    if not yes:
        fail("erasure cannot be undone: add --yes to confirm")
    ensure_schema()
    with session_scope(write=True) as session:
        actor = service.authorize(session, as_user, "people.erase")
        summary = service.do_erase_person(session, _person(session, person), actor=actor)
    if vacuum:
        summary.vacuum = do_vacuum(full=True)
        summary.vacuumed = True
    if json_out:
        emit_json(summary)
    else:
        stdout.print(
            f"erased person {summary.person_id}: {summary.messages_redacted} messages redacted, "
            f"{summary.related_messages_scrubbed} replies scrubbed, "
            f"{summary.identities_erased} identities, "
            f"{summary.quarantined_rows_removed} quarantined rows removed"
            + ("" if summary.vacuumed else " (run `rapport db vacuum` to wipe the database files)")
        )


# ------------------------------------------------------------------ consent


@consent_app.command("set")
def consent_set(
    person: str = typer.Argument(...),
    channel: str | None = typer.Option(
        None, "--channel", help="Channel name, or * for every channel."
    ),
    allow: bool | None = typer.Option(
        None, "--allow/--deny", help="Allow or deny contact on --channel."
    ),
    preferred_channel: str | None = typer.Option(None, "--preferred-channel"),
    quiet_hours: str | None = typer.Option(
        None, "--quiet-hours", help="HH:MM-HH:MM in their timezone ('' clears)."
    ),
    timezone: str | None = typer.Option(None, "--timezone", help="IANA zone, e.g. Europe/Paris."),
    language: str | None = typer.Option(None, "--language", help="ISO 639-1 code, e.g. fr."),
    as_user: str | None = AS_USER,
    json_out: bool = JSON,
) -> None:
    """Record consent on a channel (`--channel C --allow|--deny`) and/or preferences."""
    if (channel is None) != (allow is None):
        fail("--channel and --allow/--deny go together")
    if channel is None and all(
        v is None for v in (preferred_channel, quiet_hours, timezone, language)
    ):
        fail("nothing to do: give --channel C --allow|--deny and/or a preference")
    ensure_schema()
    with session_scope(write=True) as session:
        actor = service.authorize(session, as_user, "consent.set")
        pid = _person(session, person)
        view = None
        if channel is not None and allow is not None:
            view = service.do_set_consent(session, pid, channel, allow, actor=actor)
        if any(v is not None for v in (preferred_channel, quiet_hours, timezone, language)):
            view = service.do_set_preferences(
                session,
                pid,
                actor=actor,
                preferred_channel=preferred_channel,
                quiet_hours=quiet_hours,
                timezone=timezone,
                language=language,
            )
    assert view is not None
    if json_out:
        emit_json(view)
    else:
        _print_consent(view)


def _print_consent(view: Any) -> None:
    _say(f"person {view.person_id}")
    for c in view.channels:
        _say(
            f"  {c.channel}: {'allow' if c.allowed else 'deny'} "
            f"({c.source}, {c.actor}, {c.updated_at.date()})"
        )
    p = view.preferences
    _say(
        f"  preferred channel: {p.preferred_channel or '-'}; "
        f"quiet hours: {p.quiet_hours or '-'} {p.timezone or ''}; language: {p.language or '-'}"
    )
    for d in view.decisions:
        _say(
            f"  {d.channel}{' private' if d.private else ''}: "
            f"{'allowed' if d.allowed else 'DENIED'} — {d.reason}"
        )


@consent_app.command("show")
def consent_show(person: str = typer.Argument(...), json_out: bool = JSON) -> None:
    """Recorded consent and preferences, and what a reply on each channel would be told."""
    ensure_schema()
    with session_scope() as session:
        view = queries.consent_view(session, _person(session, person))
    if json_out:
        emit_json(view)
    else:
        _print_consent(view)


# ------------------------------------------------------------------ sales


@sales_app.command("import")
def sales_import(
    path: Path = typer.Argument(
        ..., help="CSV with identity,amount,currency,date,product[,stage]."
    ),
    as_user: str | None = AS_USER,
    json_out: bool = JSON,
) -> None:
    """Link sales to people; unmatched or malformed rows go to quarantine with the reason."""
    ensure_schema()
    with session_scope(write=True) as session:
        actor = service.authorize(session, as_user, "sales.import")
        summary = service.do_import_sales(session, path, actor=actor)
    if summary.quarantined:
        warn(
            f"{summary.quarantined} row(s) quarantined; "
            f"see `rapport quarantine list --source {path}`"
        )
    if json_out:
        emit_json(summary)
    else:
        stdout.print(
            f"sales: {summary.read} read, {summary.matched} linked to {summary.people} people, "
            f"{summary.duplicates} already there, {summary.quarantined} quarantined"
        )
