"""`rapport report`: the listening/engagement report."""

from __future__ import annotations

import typer
from rich.table import Table

from rapport.cli.output import emit_json, parse_when, stdout
from rapport.cli.schema_guard import ensure_schema
from rapport.reports.summary import ReportFilter, compute_report
from rapport.storage.engine import session_scope


def _fmt(value: float | None, pattern: str) -> str:
    return "-" if value is None else pattern.format(value)


def report(
    since: str | None = typer.Option(
        None, "--since", help="From this date/time (ISO 8601, UTC if no offset)."
    ),
    until: str | None = typer.Option(None, "--until", help="Up to (excluding) this date/time."),
    channel: str | None = typer.Option(None, "--channel", help="Only this channel."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The listening/engagement report: volumes, threads, and per brand answers,
    response time and talk/listen ratio."""
    flt = ReportFilter(
        since=parse_when(since, "--since"), until=parse_when(until, "--until"), channel=channel
    )
    ensure_schema()
    with session_scope() as session:
        result = compute_report(session, flt)
    if json_out:
        emit_json(result)
        return
    stdout.print(
        f"[bold]{result.messages}[/bold] messages in [bold]{result.threads}[/bold] threads: "
        f"{result.inbound} inbound, {result.outbound} outbound"
    )
    table = Table(title="brands")
    table.add_column("brand", no_wrap=True, min_width=10)
    for heading in ("in", "out", "threads", "answered", "median reply", "talk %"):
        table.add_column(heading, justify="right")
    for handle, b in sorted(result.brands.items(), key=lambda kv: -kv[1].inbound - kv[1].outbound):
        table.add_row(
            handle,
            str(b.inbound),
            str(b.outbound),
            str(b.threads),
            str(b.answered_threads),
            _fmt(
                None if b.median_response_seconds is None else b.median_response_seconds / 60,
                "{:.1f} min",
            ),
            _fmt(b.talk_listen_ratio, "{:.0%}"),
        )
    stdout.print(table)
