"""`rapport search QUERY`: full-text search over messages and internal notes."""

from __future__ import annotations

import typer
from rich.table import Table
from rich.text import Text

from rapport.cli.output import emit_json, fail, parse_when, stdout
from rapport.cli.schema_guard import ensure_schema
from rapport.conversations.errors import QueryError
from rapport.conversations.schemas import SearchResultsPublic
from rapport.conversations.search import SearchFilters, search_messages
from rapport.storage.engine import session_scope

QUERY_HELP = (
    'Words, "quoted phrases", prefix*, AND / OR / NOT (or -word), parentheses; '
    "adjacent terms must all appear."
)


def search(
    query: str = typer.Argument(..., help=QUERY_HELP),
    channel: str | None = typer.Option(None, "--channel", help="Only this channel."),
    since: str | None = typer.Option(
        None, "--since", help="From this date/time (ISO 8601, UTC if no offset)."
    ),
    until: str | None = typer.Option(None, "--until", help="Up to (excluding) this date/time."),
    status: str | None = typer.Option(
        None, "--status", help="Threads in this status (open, pending, snoozed, resolved)."
    ),
    label: str | None = typer.Option(
        None, "--label", help="Threads with this label (see `rapport labels list`)."
    ),
    limit: int = typer.Option(20, "--limit", min=1, max=500, help="Results to show."),
    offset: int = typer.Option(0, "--offset", min=0, help="Skip this many results first."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Search messages (text and author handle) and internal notes, best match first,
    with highlighted snippets."""
    threads = tuple(
        (name, value) for name, value in (("status", status), ("label", label)) if value
    )
    filters = SearchFilters(
        channel=channel,
        since=parse_when(since, "--since"),
        until=parse_when(until, "--until"),
        threads=threads,
    )
    ensure_schema()
    with session_scope() as session:
        try:
            page = search_messages(session, query, filters, limit=limit, offset=offset)
        except QueryError as exc:
            fail(f"{exc}\n{exc.caret()}")
        public = SearchResultsPublic.from_page(page)
    if json_out:
        emit_json(public.model_dump(mode="json"))
        return
    table = Table(
        "score", "kind", "when", "author", "thread", "snippet", title=f"{page.total} found"
    )
    for hit in page.results:
        snippet = Text()
        for piece, highlighted in hit.snippet:
            snippet.append(piece, style="bold yellow" if highlighted else None)
        table.add_row(
            f"{hit.score:.3g}",
            Text("internal note", style="magenta") if hit.kind == "note" else hit.kind,
            hit.created_at.strftime("%Y-%m-%d %H:%M"),
            hit.author or "",
            str(hit.thread_id),
            snippet,
        )
    stdout.print(table)
