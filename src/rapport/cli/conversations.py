"""`rapport ingest` and `rapport quarantine ...`."""

from __future__ import annotations

from datetime import timezone
from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from rapport.cli.output import emit_json, stderr, stdout, warn
from rapport.cli.schema_guard import ensure_schema
from rapport.conversations import queries, service
from rapport.conversations.errors import IngestError
from rapport.conversations.importers.registry import FORMAT_NAMES
from rapport.conversations.importers.timestamps import TimestampError, parse_zone
from rapport.storage.engine import session_scope

quarantine_app = typer.Typer(
    help="Rows kept aside because they could not be stored.", no_args_is_help=True
)


def ingest(
    paths: list[Path] = typer.Argument(..., help="Files to import (.csv, .tsv, .jsonl, .gz)."),
    fmt: str | None = typer.Option(
        None,
        "--format",
        help=f"One of {', '.join(FORMAT_NAMES)}; detected from the header if omitted.",
    ),
    channel: str | None = typer.Option(
        None,
        "--channel",
        help="Channel name (default: twitter for twcs/airline, reviews for reviews).",
    ),
    mapping: str | None = typer.Option(
        None,
        "--map",
        help="For --format csv: FIELD=COLUMN pairs, e.g. text=body,author=user,created_at=ts.",
    ),
    assume_tz: str | None = typer.Option(
        None, "--assume-tz", help="Zone of timestamps written without offset (UTC, +02:00...)."
    ),
    batch_size: int | None = typer.Option(None, "--batch-size", min=1, max=100_000),
    distributed: bool = typer.Option(
        False,
        "--distributed",
        help="Cut the input into chunks stored by the Celery workers (needs RAPPORT_BROKER_URL).",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Import history. Re-running on the same file inserts nothing; bad rows go to quarantine."""
    zone = None
    if assume_tz:
        try:
            zone = parse_zone(assume_tz)
        except TimestampError as exc:
            raise IngestError(f"--assume-tz: {exc}") from None
    ensure_schema()
    if distributed:
        summary = _ingest_distributed(paths, fmt, channel, mapping, zone, batch_size)
    else:
        summary = _ingest_here(paths, fmt, channel, mapping, zone, batch_size)
    if summary.quarantined:
        warn(
            f"{summary.quarantined} row(s) quarantined; see `rapport quarantine list` "
            "for line numbers and reasons"
        )
    if json_out:
        emit_json(summary.contract())
    else:
        table = Table("read", "inserted", "duplicates", "quarantined", title="ingest")
        table.add_row(*(str(v) for v in summary.contract().values()))
        stdout.print(table)


def _ingest_here(
    paths: list[Path],
    fmt: str | None,
    channel: str | None,
    mapping: str | None,
    zone: timezone | None,
    batch_size: int | None,
) -> service.IngestSummary:
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=stderr,
        transient=not stderr.is_terminal,
    ) as bar:

        def progress_for(path: Path) -> service.Progress:
            task = bar.add_task(path.name, total=path.stat().st_size)

            def advance(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            return advance

        summary = service.do_ingest_files(
            paths,
            fmt=fmt,
            channel=channel,
            mapping=mapping,
            assume_tz=zone,
            batch_size=batch_size,
            progress=progress_for,
        )
    return summary


def _ingest_distributed(
    paths: list[Path],
    fmt: str | None,
    channel: str | None,
    mapping: str | None,
    zone: timezone | None,
    batch_size: int | None,
) -> service.IngestSummary:
    from rapport.workers.ingest import ChunkProgress, do_distributed_ingest

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} chunks stored"),
        console=stderr,
        transient=not stderr.is_terminal,
    ) as bar:

        def progress_for(path: Path) -> ChunkProgress:
            task = bar.add_task(f"{path.name} (distributed)", total=None)

            def advance(done: int, sent: int, finished: bool) -> None:
                bar.update(task, completed=done, total=sent if finished else None)

            return advance

        return do_distributed_ingest(
            paths,
            fmt=fmt,
            channel=channel,
            mapping=mapping,
            assume_tz=zone,
            batch_size=batch_size,
            progress=progress_for,
        )


@quarantine_app.command("list")
def quarantine_list(
    source: str | None = typer.Option(None, "--source", help="Only rows from this source file."),
    limit: int | None = typer.Option(None, "--limit", min=1),
    offset: int = typer.Option(0, "--offset", min=0),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Rows kept aside: source, line, reason and raw text."""
    ensure_schema()
    with session_scope() as session:
        rows, total = queries.list_quarantine(session, source=source, limit=limit, offset=offset)
    if json_out:
        emit_json({"items": [r.model_dump(mode="json") for r in rows], "total": total})
        return
    table = Table("id", "source", "line", "reason", "raw", title=f"quarantine ({total})")
    for r in rows:
        raw = r.raw if len(r.raw) < 80 else r.raw[:77] + "..."
        table.add_row(str(r.id), r.source, str(r.line or ""), r.reason, repr(raw))
    stdout.print(table)
