"""`rapport insights ...`, `rapport alerts ...` and `rapport listen ...`: the
Learn step — trends, spike alerts, listening queries, share of voice,
response metrics, the perception gap and social to sales."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import typer
from pydantic import BaseModel
from rich.table import Table

from rapport.cli.output import emit_json, parse_when, stderr, stdout
from rapport.cli.schema_guard import ensure_schema
from rapport.conversations.querylang import QueryError
from rapport.reports import buckets, listening, perception, response, service, social_sales
from rapport.reports.alerts import (
    RuleSpec,
    alerts_tables,
    compute_alerts,
    effective_rules,
    rules_table,
)
from rapport.reports.csvexport import CsvTable, write_tables
from rapport.reports.errors import InsightsError
from rapport.reports.filters import InsightFilter
from rapport.reports.summary import ReportFilter
from rapport.reports.trends import compute_trends, trends_tables
from rapport.storage.engine import session_scope

insights_app = typer.Typer(
    help="Insights: trends, share of voice, response metrics, perception gap, social to sales.",
    no_args_is_help=True,
)
alerts_app = typer.Typer(
    help="Spike alerts (volume, negative sentiment, thread velocity), rules, notifications.",
    invoke_without_command=True,
)
rule_app = typer.Typer(help="Alert rules: set, remove.", no_args_is_help=True)
alerts_app.add_typer(rule_app, name="rule")

SINCE = typer.Option(None, "--since", help="From this date/time (ISO 8601, UTC if no offset).")
UNTIL = typer.Option(None, "--until", help="Up to (excluding) this date/time.")
JSON = typer.Option(False, "--json", help="Print JSON.")
CSV = typer.Option(
    None, "--csv", help="Write the tables as CSV: FILE, and FILE-<table>.csv for the others."
)
AS_USER = typer.Option(
    None, "--as", help="Act as this Rapport user (id, email or username); their role is checked."
)

T = TypeVar("T")


def _read(fn: Callable[[Any], T]) -> T:
    """Run a read in one session, counting messages stored before the buckets
    existed into them first."""
    ensure_schema()
    with session_scope() as session:
        stale = buckets.needs_rebuild(session)
    if stale:
        stderr.print("[dim]counting stored messages into the insight buckets...[/dim]")
        with session_scope(write=True) as session:
            service.do_rebuild_buckets(session)
    with session_scope() as session:
        return fn(session)


def _finish(
    result: BaseModel | dict[str, Any],
    tables: Sequence[CsvTable],
    json_out: bool,
    csv_path: Path | None,
) -> bool:
    """Write CSV and/or JSON; True when the caller should print nothing else."""
    if csv_path is not None:
        for written in write_tables(tables, csv_path):
            stderr.print(f"[dim]wrote {written}[/dim]")
    if json_out:
        emit_json(result)
        return True
    return False


def _print_table(table: CsvTable, *, limit: int = 60, title: str | None = None) -> None:
    out = Table(*table.header, title=title or table.name)
    for row in table.rows[:limit]:
        out.add_row(*["" if v is None else _short(v) for v in row])
    stdout.print(out)
    if len(table.rows) > limit:
        stdout.print(f"[dim]… {len(table.rows) - limit} more rows (--json or --csv for all)[/dim]")


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    text = str(value)
    return text if len(text) <= 80 else text[:79] + "…"


# ----------------------------------------------------------------- insights


@insights_app.command("trends")
def trends(
    by: str = typer.Option("day", "--by", help="hour, day or week (UTC; weeks start Monday)."),
    since: str | None = SINCE,
    until: str | None = UNTIL,
    channel: str | None = typer.Option(None, "--channel", help="Only this channel."),
    brand: str | None = typer.Option(
        None, "--brand", help="Only messages by/to this brand handle."
    ),
    topic: str | None = typer.Option(None, "--topic", help="Only messages with this topic label."),
    query: str | None = typer.Option(None, "--query", help="Only matches of this listening query."),
    top: int = typer.Option(5, "--top", min=0, help="Top topics per bucket."),
    json_out: bool = JSON,
    csv_path: Path | None = CSV,
) -> None:
    """Volume, sentiment mix and top topics per hour, day or week."""
    if by not in ("hour", "day", "week"):
        raise typer.BadParameter(f"--by must be hour, day or week, not {by!r}")
    flt = InsightFilter(
        since=parse_when(since, "--since"),
        until=parse_when(until, "--until"),
        channel=channel,
        brand=brand,
        topic=topic,
        query=query,
    )
    result = _read(lambda s: compute_trends(s, flt, by=by, top_topics=top))  # type: ignore[arg-type]
    tables = trends_tables(result)
    if _finish(result, tables, json_out, csv_path):
        return
    stdout.print(f"[bold]{result.total_messages}[/bold] messages in {len(result.buckets)} {by}s")
    _print_table(tables[0], title="trend")


@insights_app.command("rebuild")
def rebuild(json_out: bool = JSON) -> None:
    """Count every stored message into the insight buckets again (after a bulk
    change made without the ingest hooks)."""
    ensure_schema()
    with session_scope(write=True) as session:
        done = service.do_rebuild_buckets(
            session, progress=lambda n: stderr.print(f"[dim]{n} messages[/dim]")
        )
    if json_out:
        emit_json({"messages": done})
    else:
        stdout.print(f"{done} messages counted into the insight buckets")


# ----------------------------------------------------------------- alerts


@alerts_app.callback()
def alerts(
    ctx: typer.Context,
    since: str | None = SINCE,
    until: str | None = UNTIL,
    json_out: bool = JSON,
    csv_path: Path | None = CSV,
) -> None:
    """Spikes in range (default: every stored hour) under the alert rules, each
    with its reason and example messages."""
    if ctx.invoked_subcommand is not None:
        return
    lo, hi = parse_when(since, "--since"), parse_when(until, "--until")
    result = _read(lambda s: compute_alerts(s, since=lo, until=hi))
    tables = alerts_tables(result)
    if _finish(result, tables, json_out, csv_path):
        return
    if not result.alerts:
        stdout.print("no alerts")
        return
    for a in result.alerts:
        stdout.print(
            f"[bold]{a.kind}[/bold] {a.scope} {a.start:%Y-%m-%d %H:%M} → {a.end:%Y-%m-%d %H:%M}: "
            f"{a.observed:g} vs {a.expected:g} expected (z {a.z:g}); "
            f"examples {', '.join(map(str, a.example_message_ids)) or '-'}",
            highlight=False,
        )
        stdout.print(f"  [dim]{a.reason}[/dim]", highlight=False)


@alerts_app.command("rules")
def rules(json_out: bool = JSON, csv_path: Path | None = CSV) -> None:
    """The alert rules in force (defaults and stored ones)."""
    found = _read(effective_rules)
    table = rules_table(found)
    if _finish({"rules": [r.model_dump() for r in found]}, [table], json_out, csv_path):
        return
    _print_table(table, title="alert rules")


@rule_app.command("set")
def rule_set(
    name: str = typer.Argument(..., help="The rule's name (a default's name overrides it)."),
    kind: str | None = typer.Option(None, "--kind", help="volume, negative or velocity."),
    scope: str | None = typer.Option(
        None,
        "--scope",
        help="all, brand, topic, query (each of them) or brand:HANDLE, topic:LABEL, "
        "query:NAME; velocity: thread.",
    ),
    bucket: str | None = typer.Option(None, "--bucket", help="hour (seasonal) or day."),
    baseline_days: int | None = typer.Option(None, "--baseline-days", min=1, max=90),
    threshold: float | None = typer.Option(
        None, "--z", help="Robust z-score that alerts (velocity: replies+reshares per hour)."
    ),
    min_count: int | None = typer.Option(None, "--min-count", min=1),
    notify: str | None = typer.Option(
        None, "--notify", help="A live webhook or email channel to send the alerts through."
    ),
    to: str | None = typer.Option(None, "--to", help="Recipient (email address)."),
    disable: bool = typer.Option(False, "--disable", help="Store the rule switched off."),
    as_user: str | None = AS_USER,
    json_out: bool = JSON,
) -> None:
    """Create or change an alert rule; options not given keep their current
    (or default) value."""
    ensure_schema()
    with session_scope(write=True) as session:
        actor = service.authorize(session, as_user, "alerts.write")
        current = {r.name: r for r in effective_rules(session)}.get(name)
        base: dict[str, Any] = (
            current.model_dump(exclude={"default"}) if current else {"name": name}
        )
        given = {
            "kind": kind,
            "scope": scope,
            "bucket": bucket,
            "baseline_days": baseline_days,
            "threshold": threshold,
            "min_count": min_count,
            "notify_channel": notify,
            "notify_to": to,
        }
        base.update({k: v for k, v in given.items() if v is not None})
        base["enabled"] = not disable
        if "kind" not in base:
            raise typer.BadParameter("a new rule needs --kind volume|negative|velocity")
        base.setdefault("scope", "thread" if base["kind"] == "velocity" else "all")
        try:
            spec = RuleSpec.model_validate(base)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        stored = service.do_set_rule(session, spec, actor=actor)
    if json_out:
        emit_json(stored)
    else:
        stdout.print(f"alert rule {stored.name} stored")


@rule_app.command("remove")
def rule_remove(name: str, as_user: str | None = AS_USER) -> None:
    """Remove a stored alert rule (a default comes back)."""
    ensure_schema()
    with session_scope(write=True) as session:
        actor = service.authorize(session, as_user, "alerts.write")
        service.do_remove_rule(session, name, actor=actor)
    stdout.print(f"alert rule {name} removed")


@alerts_app.command("notify")
def notify(since: str | None = SINCE, until: str | None = UNTIL, json_out: bool = JSON) -> None:
    """Send new alerts to each rule's notify channel, once each (default:
    alerts going on in the last day of data). The scheduler runs this every
    5 minutes once a rule has a recipient."""
    lo, hi = parse_when(since, "--since"), parse_when(until, "--until")
    ensure_schema()
    with session_scope(write=True) as session:
        summary = service.do_notify_alerts(session, since=lo, until=hi)
    if json_out:
        emit_json(summary.__dict__)
        return
    stdout.print(
        f"{summary.sent} sent, {summary.failed} failed, {summary.already_sent} already sent, "
        f"{summary.no_recipient} without a recipient"
    )
    for err in summary.errors:
        stderr.print(f"[yellow]{err}[/yellow]", highlight=False)


# ----------------------------------------------------------------- listening

listen_app = typer.Typer(
    help="Listening queries: saved boolean queries, tagged as messages arrive.",
    no_args_is_help=True,
)


@listen_app.command("add")
def listen_add(
    name: str = typer.Argument(..., help="A short name (letters, digits, '_', '-', '.')."),
    query: str = typer.Argument(
        ..., help='The query: words, "phrases", prefix*, AND, OR, NOT, -word, (groups).'
    ),
    brand: str | None = typer.Option(
        None, "--brand", help="The query is about our brand HANDLE (share of voice)."
    ),
    competitor: str | None = typer.Option(
        None, "--competitor", help="The query is about competitor HANDLE (share of voice)."
    ),
    as_user: str | None = AS_USER,
    json_out: bool = JSON,
) -> None:
    """Save a listening query and tag every stored message it matches."""
    if brand and competitor:
        raise typer.BadParameter("a query is about a brand or a competitor, not both")
    kind = "brand" if brand else "competitor" if competitor else "general"
    ensure_schema()
    with session_scope(write=True) as session:
        actor = service.authorize(session, as_user, "listening.write")
        try:
            saved = listening.do_add_query(
                session,
                listening.QueryCreate(
                    name=name,
                    query=query,
                    kind=kind,
                    brand=brand or competitor,
                ),
                actor=actor,
            )
        except QueryError as exc:
            raise InsightsError(f"{exc}\n{exc.caret()}") from None
    if json_out:
        emit_json(saved)
    else:
        stdout.print(f"listening query {saved.name} saved: {saved.matches} stored messages match")


@listen_app.command("list")
def listen_list(json_out: bool = JSON, csv_path: Path | None = CSV) -> None:
    """The saved listening queries and how many messages each matched."""
    found = _read(listening.list_queries)
    table = listening.queries_table(found)
    if _finish(
        {"queries": [q.model_dump(mode="json") for q in found]}, [table], json_out, csv_path
    ):
        return
    _print_table(table, title="listening queries")


@listen_app.command("run")
def listen_run(
    name: str,
    by: str = typer.Option("day", "--by", help="hour, day or week."),
    since: str | None = SINCE,
    until: str | None = UNTIL,
    channel: str | None = typer.Option(None, "--channel"),
    limit: int = typer.Option(20, "--limit", min=0, help="How many of the newest matches to show."),
    json_out: bool = JSON,
    csv_path: Path | None = CSV,
) -> None:
    """A query's matches: its trend and its newest matches with the terms found."""
    if by not in ("hour", "day", "week"):
        raise typer.BadParameter(f"--by must be hour, day or week, not {by!r}")
    flt = InsightFilter(
        since=parse_when(since, "--since"), until=parse_when(until, "--until"), channel=channel
    )
    run = _read(lambda s: listening.run_query(s, name, flt, by=by, examples=limit))  # type: ignore[arg-type]
    tables = listening.run_tables(run)
    if _finish(run, tables, json_out, csv_path):
        return
    stdout.print(f"[bold]{run.query.name}[/bold] ({run.query.query}): {run.matches} matches")
    _print_table(tables[0], limit=limit, title="newest matches")


@listen_app.command("remove")
def listen_remove(name: str, as_user: str | None = AS_USER) -> None:
    """Remove a listening query and its tags."""
    ensure_schema()
    with session_scope(write=True) as session:
        actor = service.authorize(session, as_user, "listening.write")
        listening.do_remove_query(session, name, actor=actor)
    stdout.print(f"listening query {name} removed")


@insights_app.command("share-of-voice")
def share_of_voice_cmd(
    by: str = typer.Option("day", "--by", help="hour, day or week."),
    since: str | None = SINCE,
    until: str | None = UNTIL,
    channel: str | None = typer.Option(None, "--channel"),
    json_out: bool = JSON,
    csv_path: Path | None = CSV,
) -> None:
    """Share of voice between the brand and competitor listening queries."""
    if by not in ("hour", "day", "week"):
        raise typer.BadParameter(f"--by must be hour, day or week, not {by!r}")
    flt = InsightFilter(
        since=parse_when(since, "--since"), until=parse_when(until, "--until"), channel=channel
    )
    sov = _read(lambda s: listening.share_of_voice(s, flt, by=by))  # type: ignore[arg-type]
    tables = listening.share_tables(sov)
    if _finish(sov, tables, json_out, csv_path):
        return
    if not sov.series:
        stdout.print(
            "no brand or competitor listening queries in range "
            "(`rapport listen add NAME QUERY --brand HANDLE`)"
        )
        return
    _print_table(tables[1], title="share of voice")


# ----------------------------------------------------------------- perception, response, sales

belief_app = typer.Typer(
    help="Why the company believes customers engage (for the perception gap).",
    no_args_is_help=True,
)
insights_app.add_typer(belief_app, name="belief")


@insights_app.command("perception-gap")
def perception_gap(
    since: str | None = SINCE,
    until: str | None = UNTIL,
    channel: str | None = typer.Option(None, "--channel"),
    examples: int = typer.Option(5, "--examples", min=0, help="Example messages per reason."),
    json_out: bool = JSON,
    csv_path: Path | None = CSV,
) -> None:
    """Why customers engage (from what they write) against why we believe they do."""
    lo, hi = parse_when(since, "--since"), parse_when(until, "--until")
    result = _read(
        lambda s: perception.compute_perception_gap(
            s, since=lo, until=hi, channel=channel, examples=examples
        )
    )
    tables = perception.perception_tables(result)
    if _finish(result, tables, json_out, csv_path):
        return
    stdout.print(f"{result.classified} of {result.messages} inbound messages classified")
    _print_table(tables[0], title="perception gap")
    if result.note:
        stdout.print(f"[dim]{result.note}[/dim]")


@belief_app.command("set")
def belief_set(
    ranking: str = typer.Argument(
        ...,
        help="Reasons, most important first, comma-separated: " + ",".join(perception.REASONS),
    ),
    as_user: str | None = AS_USER,
    json_out: bool = JSON,
) -> None:
    """Record the company's believed ranking of why customers engage (managers)."""
    ensure_schema()
    with session_scope(write=True) as session:
        actor = service.authorize(session, as_user, "insights.belief")
        reasons = service.do_set_belief(session, ranking, actor=actor)
    if json_out:
        emit_json({"ranking": reasons, "shares": perception.borda(reasons)})
    else:
        stdout.print("believed ranking recorded: " + " > ".join(reasons))


@belief_app.command("show")
def belief_show(json_out: bool = JSON) -> None:
    """The recorded believed ranking."""
    belief = _read(perception.stored_belief)
    if json_out:
        emit_json({"belief": belief.model_dump(mode="json") if belief else None})
    elif belief is None:
        stdout.print("no believed ranking recorded (`rapport insights belief set ...`)")
    else:
        stdout.print(
            " > ".join(belief.ranking)
            + f"  [dim](by {belief.updated_by}, {belief.updated_at:%Y-%m-%d})[/dim]"
        )


@insights_app.command("response")
def response_cmd(
    since: str | None = SINCE,
    until: str | None = UNTIL,
    channel: str | None = typer.Option(None, "--channel"),
    json_out: bool = JSON,
    csv_path: Path | None = CSV,
) -> None:
    """First response time, coverage and talk/listen ratio per channel and
    account (team, agent and SLA breaches once engagement is installed)."""
    flt = ReportFilter(
        since=parse_when(since, "--since"), until=parse_when(until, "--until"), channel=channel
    )
    result = _read(lambda s: response.compute_response(s, flt))
    tables = response.response_tables(result)
    if _finish(result, tables, json_out, csv_path):
        return
    _print_table(tables[0], title="response")
    _print_table(tables[1], title=f"talk/listen (target {result.talk_target:.0%} talk)")
    stdout.print(f"[dim]{result.engagement}[/dim]")


@insights_app.command("social-sales")
def social_sales_cmd(
    window: int = typer.Option(
        90, "--window-days", min=1, help="Days after a complaint that count."
    ),
    json_out: bool = JSON,
    csv_path: Path | None = CSV,
) -> None:
    """Revenue and purchase frequency of socially engaged customers vs others,
    and revenue after a resolved vs an unresolved complaint (correlation only)."""
    result = _read(lambda s: social_sales.compute_social_to_sales(s, window_days=window))
    tables = social_sales.social_sales_tables(result)
    if _finish(result, tables, json_out, csv_path):
        return
    _print_table(tables[0], title="engaged vs other customers")
    _print_table(tables[1], title=f"revenue in the {window} days after a complaint")
    stdout.print(f"[yellow]{result.caveat}[/yellow]")
