"""`rapport report`: the listening/engagement report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from rapport.cli.output import emit_json, parse_when, stderr, stdout, warn
from rapport.cli.schema_guard import ensure_schema
from rapport.relationships.queries import sales_report
from rapport.reports.summary import ReportFilter, compute_report
from rapport.reports.talk_listen import talk_listen
from rapport.storage.engine import session_scope


def _fmt(value: float | None, pattern: str) -> str:
    return "-" if value is None else pattern.format(value)


def report(
    since: str | None = typer.Option(
        None, "--since", help="From this date/time (ISO 8601, UTC if no offset)."
    ),
    until: str | None = typer.Option(None, "--until", help="Up to (excluding) this date/time."),
    channel: str | None = typer.Option(None, "--channel", help="Only this channel."),
    sales: bool = typer.Option(
        False,
        "--sales",
        help="Add revenue of socially engaged vs other customers, before/after first contact.",
    ),
    governance_out: bool = typer.Option(
        False,
        "--talk-listen",
        help="With --json: add `talk_listen` (outbound share per channel, account and team "
        "against the target; the table always shows it).",
    ),
    html: Path | None = typer.Option(
        None,
        "--html",
        help="Also write every insight as one self-contained HTML file with charts.",
    ),
    by: str = typer.Option("day", "--by", help="With --html: hour, day or week buckets."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The listening/engagement report: volumes, threads, and per brand answers,
    response time and talk/listen ratio (with --sales: social activity vs sales;
    with --html FILE: every insight as a self-contained HTML report)."""
    flt = ReportFilter(
        since=parse_when(since, "--since"), until=parse_when(until, "--until"), channel=channel
    )
    ensure_schema()
    if html is not None:
        if by not in ("hour", "day", "week"):
            raise typer.BadParameter(f"--by must be hour, day or week, not {by!r}")
        write_html_report(html, flt, by)
    with session_scope() as session:
        result = compute_report(session, flt)
        governance = talk_listen(session, flt, report=result)
        sales_doc = sales_report(session) if sales else None
    if json_out:
        # The contract's keys untouched; talk/listen governance and sales
        # around them when asked for.
        doc = result.model_dump(mode="json")
        if governance_out:
            doc["talk_listen"] = governance.model_dump(mode="json")
        if sales_doc is not None:
            doc["sales"] = sales_doc
        emit_json(doc)
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
    stdout.print(
        f"talk/listen: {_fmt(governance.overall.outbound_share, '{:.0%}')} outbound overall "
        f"(target {governance.target_outbound_share:.0%})"
    )
    for flag in governance.flags:
        stdout.print(f"[yellow]talks too much:[/yellow] {flag}", highlight=False)
    if sales_doc is not None:
        _print_sales(sales_doc)


def html_scripts() -> list[str]:
    """Chart.js (npm, installed by `make web-assets`) and the UI's insights
    script, to inline into the HTML report; empty without the assets."""
    from rapport.web.assets import VENDOR_FILES, find_assets

    assets = find_assets()
    if assets.root is None or "chartjs" not in assets.urls:
        warn("front-end libraries not installed (`make web-assets`): the report has no charts")
        return []
    own = Path(__file__).resolve().parents[1] / "web" / "static" / "insights.js"
    return [
        (assets.root / VENDOR_FILES["chartjs"]).read_text(encoding="utf-8"),
        own.read_text(encoding="utf-8"),
    ]


def write_html_report(path: Path, flt: ReportFilter, by: str) -> None:
    from rapport.cli.insights import _read
    from rapport.reports.filters import InsightFilter
    from rapport.reports.html import build_document, render_html

    insight = InsightFilter(since=flt.since, until=flt.until, channel=flt.channel)
    doc = _read(lambda s: build_document(s, insight, by=by))  # type: ignore[arg-type]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(doc, scripts=html_scripts()), encoding="utf-8")
    stderr.print(f"[dim]wrote {path}[/dim]")


def _print_sales(doc: dict[str, Any]) -> None:
    stdout.print(
        f"[bold]sales[/bold]: {doc['customers']} customers, "
        f"{doc['engaged_customers']} socially engaged (we replied to them)"
    )
    table = Table(title="revenue by group")
    for heading in ("currency", "group", "customers", "orders", "revenue", "per customer"):
        table.add_column(heading, justify="right" if heading != "group" else "left")
    for currency, groups in doc["currencies"].items():
        for name in ("engaged", "other", "before_first_contact", "after_first_contact"):
            g = groups[name]
            table.add_row(
                currency,
                name.replace("_", " "),
                str(g["customers"]),
                str(g["orders"]),
                f"{g['revenue']:.2f}",
                _fmt(g["revenue_per_customer"], "{:.2f}"),
            )
    stdout.print(table)
