"""`rapport kb ...`: the knowledge base harvested from good answers."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from rapport.audit.service import cli_actor
from rapport.cli.output import emit_json, stderr, stdout
from rapport.cli.schema_guard import ensure_schema
from rapport.knowledge import queries, service
from rapport.knowledge.models import APPROVED, CANDIDATE, STATUSES
from rapport.knowledge.schemas import EntryPublic
from rapport.storage.engine import session_scope

app = typer.Typer(
    help="Knowledge base: answers that resolved customers' questions, harvested and searchable.",
    no_args_is_help=True,
)


def _cut(text: str, width: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _entries_table(entries: list[EntryPublic], title: str) -> Table:
    table = Table("id", "status", "question", "answer", "by", "outcome", "×", title=title)
    for e in entries:
        table.add_row(
            str(e.id),
            e.status,
            _cut(e.question, 50),
            _cut(e.answer, 60),
            f"{e.answered_by} ({e.answered_by_kind})",
            e.outcome,
            str(e.support),
        )
    return table


@app.command("build")
def build(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Harvest question → answer pairs from the stored threads (new entries are
    candidates awaiting review; re-running adds only what is new)."""
    ensure_schema()
    stderr.print("[dim]reading threads and embedding new pairs...[/dim]")
    with session_scope(write=True) as session:
        result = service.do_harvest(session, actor=cli_actor())
    if json_out:
        emit_json(result)
        return
    stdout.print(
        f"{result.threads:,} threads read: {result.pairs_found} resolved pairs, "
        f"{result.added} new entries ({result.by_agents} from our accounts, {result.by_peers} "
        f"from peers), {result.merged} merged into entries saying the same, "
        f"{result.already_harvested} already harvested"
    )


@app.command("list")
def list_(
    status: str | None = typer.Option(None, "--status", help=f"One of {', '.join(STATUSES)}."),
    limit: int = typer.Option(50, "--limit", min=1),
    offset: int = typer.Option(0, "--offset", min=0),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Entries, best supported first, with their sources."""
    ensure_schema()
    with session_scope() as session:
        entries, counts = queries.list_entries(session, status=status, limit=limit, offset=offset)
    if json_out:
        emit_json({"entries": [e.model_dump(mode="json") for e in entries], "counts": counts})
        return
    summary = ", ".join(f"{n} {s}" for s, n in counts.items())
    stdout.print(_entries_table(entries, f"knowledge base ({summary})"))


def _review(entry_ids: list[int], approve: bool, note: str | None, json_out: bool) -> None:
    ensure_schema()
    with session_scope(write=True) as session:
        verb = service.do_approve if approve else service.do_reject
        entries = verb(session, entry_ids, actor=cli_actor(), note=note)
    if json_out:
        emit_json({"entries": [e.model_dump(mode="json") for e in entries]})
        return
    stdout.print(_entries_table(entries, "approved" if approve else "rejected"))


@app.command("approve")
def approve(
    entry_ids: list[int] = typer.Argument(..., help="Entry ids."),
    note: str | None = typer.Option(None, "--note", help="Why (kept in the audit trail)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Approve entries: they become suggested answers."""
    _review(entry_ids, True, note, json_out)


@app.command("reject")
def reject(
    entry_ids: list[int] = typer.Argument(..., help="Entry ids."),
    note: str | None = typer.Option(None, "--note", help="Why (kept in the audit trail)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Reject entries: never suggested, and not harvested again."""
    _review(entry_ids, False, note, json_out)


@app.command("search")
def search(
    text: str = typer.Argument(..., help="What the customer asks, in their words."),
    limit: int = typer.Option(5, "--limit", min=1, max=100),
    approved_only: bool = typer.Option(
        False, "--approved", help="Only approved entries (default: approved and candidates)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Entries that answer TEXT, ranked by meaning (MiniLM) and words (full text)."""
    ensure_schema()
    statuses = (APPROVED,) if approved_only else (APPROVED, CANDIDATE)
    with session_scope() as session:
        results = queries.search(session, text, limit=limit, statuses=statuses)
    if json_out:
        emit_json({"query": text, "results": [r.model_dump(mode="json") for r in results]})
        return
    if not results:
        stdout.print("no entry matches (is the knowledge base built? `rapport kb build`)")
        return
    for rank, r in enumerate(results, start=1):
        cited = ", ".join(f"{s.channel}:{s.external_id} ({s.role})" for s in r.sources[:4])
        stdout.print(
            f"[bold]{rank}. {r.score:.3f}[/bold] [dim]#{r.id} {r.status}[/dim]\n"
            f"   Q: {_cut(r.question, 110)}\n   A: {_cut(r.answer, 110)}\n"
            f"   [dim]by {r.answered_by} ({r.answered_by_kind}); cites {cited}; "
            f"{_cut(r.reason, 140)}[/dim]"
        )


@app.command("evaluate")
def evaluate(
    gold: Path | None = typer.Argument(
        None, help="Gold JSONL (default: the bundled TWCS gold set)."
    ),
    k: int = typer.Option(5, "--k", min=1, max=50, help="Recall@k."),
    semantic_weight: float = typer.Option(
        0.7,
        "--semantic-weight",
        min=0.0,
        max=1.0,
        help="Ablations: 1 = embeddings only, 0 = FTS only.",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Recall@k of `kb search` on a gold set of queries and the messages a correct answer cites."""
    from rapport.knowledge.evaluation import default_gold_path, load_gold
    from rapport.knowledge.evaluation import evaluate as run

    items = load_gold(gold or default_gold_path())
    ensure_schema()
    with session_scope() as session:
        result = run(session, items, k=k, semantic_weight=semantic_weight)
    if json_out:
        emit_json(result)
        return
    missed = [q for q in result["per_query"] if q["hit_rank"] is None]
    stdout.print(
        f"recall@{k} = [bold]{result[f'recall_at_{k}']:.3f}[/bold] "
        f"({result['hits']}/{result['queries']}), MRR {result['mrr']:.3f}"
    )
    for q in missed:
        stdout.print(f"  [dim]missed {q['id']}: {q['query']}[/dim]")
