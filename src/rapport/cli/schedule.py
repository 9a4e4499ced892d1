"""`rapport schedule ...`: the periodic jobs every domain registers."""

from __future__ import annotations

import typer
from rich.table import Table

from rapport.cli.output import emit_json, stdout
from rapport.cli.schema_guard import ensure_schema
from rapport.scheduling import queries, runner
from rapport.storage.engine import session_scope

app = typer.Typer(help="Periodic jobs (channel polls and others).", no_args_is_help=True)


@app.command("list")
def list_(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Every scheduled job: kind, interval, next run, last run and error."""
    ensure_schema()
    with session_scope() as session:
        jobs = queries.list_jobs(session)
    if json_out:
        emit_json({"jobs": [j.model_dump(mode="json") for j in jobs]})
        return
    table = Table(
        "name",
        "kind",
        "every (s)",
        "next run",
        "last status",
        "runs",
        "last error",
        title="schedule",
    )
    for j in jobs:
        table.add_row(
            j.name,
            j.kind,
            f"{j.interval_seconds:g}",
            j.next_run_at.strftime("%Y-%m-%d %H:%M:%S") if j.enabled else "disabled",
            j.last_status or "",
            str(j.runs),
            (j.last_error or "")[:80],
        )
    stdout.print(table)


@app.command("run")
def run(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Run the jobs that are due now, once (for cron, or to catch up by hand)."""
    ensure_schema()
    reports = runner.run_due()
    if json_out:
        emit_json(
            {
                r.name: {"kind": r.kind, "ok": r.ok, "error": r.error, "summary": r.summary}
                for r in reports
            }
        )
        return
    for r in reports:
        stdout.print(f"{r.name}: {'ok' if r.ok else 'error: ' + str(r.error)} {r.summary or ''}")
