"""`rapport analyze`, `reanalyze`, `topics`, `intents` and `eval`."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path
from typing import Any, BinaryIO

import typer
from rich.table import Table

from rapport.analysis.errors import AnalysisError
from rapport.cli.output import emit_json, fail, stderr, stdout, warn
from rapport.cli.schema_guard import ensure_schema

TIER_HELP = "fast (linear model, thousands of messages a second) or accurate (MiniLM)."


def _tier(value: str) -> str:
    if value not in ("fast", "accurate"):
        raise typer.BadParameter("must be fast or accurate")
    return value


def analyze(
    source: str = typer.Argument("-", help="A JSONL file, or - (default) for stdin."),
    tier: str = typer.Option("fast", "--tier", callback=_tier, help=TIER_HELP),
    intents: str | None = typer.Option(
        None,
        "--intents",
        help="Also score a custom intent set trained with `rapport intents train`.",
    ),
) -> None:
    """JSONL in ({"id", "text"} per line), JSONL out: sentiment, intent, urgency,
    language, topics and evidence per line. Bad lines give an error line; the
    run goes on and exits 1 at the end."""
    from rapport.analysis import custom_intents
    from rapport.analysis.jsonl import analyze_lines

    custom = None
    if intents is not None:
        from sqlalchemy.exc import SQLAlchemyError

        from rapport.analysis.queries import get_custom_intents
        from rapport.storage.engine import session_scope

        try:
            with session_scope() as session:
                _, blob = get_custom_intents(session, intents)
        except SQLAlchemyError as exc:
            fail(
                f"--intents {intents}: cannot read custom intents from the database "
                f"({type(exc).__name__}); run `rapport db upgrade` and `rapport intents train`"
            )
        custom = custom_intents.CustomIntentModel.from_bytes(blob)
    fh: BinaryIO
    if source == "-":
        fh = sys.stdin.buffer
    else:
        path = Path(source)
        if not path.is_file():
            fail(f"{source}: no such file")
        fh = path.open("rb")
    try:
        stats = analyze_lines(_lines(fh), sys.stdout, tier=tier, custom=custom)
    finally:
        if fh is not sys.stdin.buffer:
            fh.close()
    if stats.replaced_bytes:
        warn(f"{stats.replaced_bytes} line(s) had invalid UTF-8 (replaced, noted in evidence)")
    if stats.errors:
        stderr.print(
            f"[red]error:[/red] {stats.errors} of {stats.lines} line(s) could not be analysed "
            "(see their error lines)",
            highlight=False,
        )
        raise typer.Exit(1)


def _lines(fh: BinaryIO) -> Any:
    """Lines split on \\n only (a bare \\r inside a text is not a line break)."""
    yield from fh


def reanalyze(
    tier: str = typer.Option("fast", "--tier", callback=_tier, help=TIER_HELP),
    everything: bool = typer.Option(
        False, "--all", help="Re-run every message, not only those of an older model version."
    ),
    batch_size: int = typer.Option(5000, "--batch-size", min=1, max=100_000),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Re-run the analysis of stored messages analysed by another model version."""
    from rapport.analysis.service import do_reanalyze

    ensure_schema()

    def progress(done: int, total: int) -> None:
        if stderr.is_terminal:
            stderr.print(f"[dim]{done:,}/{total:,} messages examined[/dim]")

    summary = do_reanalyze(
        tier=tier, everything=everything, batch_size=batch_size, progress=progress
    )
    doc = {
        "examined": summary.examined,
        "reanalyzed": summary.reanalyzed,
        "up_to_date": summary.up_to_date,
        "tier": summary.tier,
        "model_version": summary.model_version,
    }
    if json_out:
        emit_json(doc)
        return
    table = Table(*doc.keys(), title="reanalyze")
    table.add_row(*(str(v) for v in doc.values()))
    stdout.print(table)


# ----------------------------------------------------------------- topics

topics_app = typer.Typer(
    help="Customers' jobs to be done, discovered per brand or channel.",
    invoke_without_command=True,
)


def _discover(brand: str | None, seed: int, k: int | None) -> list[dict[str, Any]]:
    from rapport.analysis import service
    from rapport.storage.engine import session_scope

    with session_scope() as session:
        scopes = service.scopes_with_messages(session, brand)
    done = []
    for scope, ids in sorted(scopes.items()):
        with session_scope(write=True) as session:
            s = service.do_discover_topics(session, scope, ids, seed=seed, k=k)
        if s.topics:
            stderr.print(f"[dim]{scope}: {s.topics} topics from {s.messages} messages[/dim]")
        done.append(
            {
                "scope": s.scope,
                "run_id": s.run_id,
                "messages": s.messages,
                "topics": s.topics,
                "assigned": s.assigned,
            }
        )
    return done


@topics_app.callback()
def topics(
    ctx: typer.Context,
    brand: str | None = typer.Option(None, "--brand", help="One brand account (handle)."),
    examples: int = typer.Option(3, "--examples", min=0, max=20),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List topics with size, sentiment mix and example messages (discovering
    them first when a scope has none yet)."""
    if ctx.invoked_subcommand is not None:
        return
    from rapport.analysis import queries, service
    from rapport.storage.engine import session_scope

    ensure_schema()
    scope = service.scope_of_brand(brand) if brand else None
    with session_scope() as session:
        found = queries.list_topics(session, scope=scope, examples=examples)
    if not found:
        stderr.print("[dim]no topics yet: discovering them (seed 0)...[/dim]")
        _discover(brand, 0, None)
        with session_scope() as session:
            found = queries.list_topics(session, scope=scope, examples=examples)
    if json_out:
        emit_json({"topics": [t.model_dump(mode="json") for t in found]})
        return
    table = Table("id", "scope", "topic", "size", "neg/neu/pos", "example", title="topics")
    for t in found:
        mix = t.sentiment_mix
        ex = t.examples[0].text[:70] if t.examples else ""
        table.add_row(
            str(t.id),
            t.scope,
            t.label,
            str(t.size),
            f"{mix['negative']}/{mix['neutral']}/{mix['positive']}",
            ex,
        )
    stdout.print(table)


@topics_app.command("discover")
def topics_discover(
    brand: str | None = typer.Option(None, "--brand", help="One brand account (handle)."),
    seed: int = typer.Option(0, "--seed", help="Same messages + same seed = same topics."),
    k: int | None = typer.Option(None, "--k", min=2, max=100, help="Number of clusters."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """(Re)discover topics per brand/channel and reassign their messages."""
    ensure_schema()
    done = _discover(brand, seed, k)
    if json_out:
        emit_json({"scopes": done})
        return
    table = Table("scope", "messages", "topics", "assigned", title="topics discovered")
    for d in done:
        table.add_row(d["scope"], str(d["messages"]), str(d["topics"]), str(d["assigned"]))
    stdout.print(table)


# ----------------------------------------------------------------- custom intents

intents_app = typer.Typer(
    help="Custom intents: your own labels from ~10 examples each.", no_args_is_help=True
)


def read_examples(path: Path) -> list[tuple[str, str]]:
    """(text, label) rows of a CSV with columns text,label; bad rows refuse
    the file with their line numbers."""
    if not path.is_file():
        raise AnalysisError(f"{path}: no such file")
    try:
        content = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AnalysisError(f"{path}: not UTF-8 (byte {exc.start})") from None
    reader = csv.DictReader(io.StringIO(content))
    fields = [f.strip().lower() for f in reader.fieldnames or []]
    if "text" not in fields or "label" not in fields:
        raise AnalysisError(f"{path}: the header must have columns text,label (found {fields})")
    reader.fieldnames = fields
    rows: list[tuple[str, str]] = []
    bad: list[str] = []
    for line, row in enumerate(reader, start=2):
        text = (row.get("text") or "").strip()
        label = (row.get("label") or "").strip()
        if not text or not label:
            bad.append(f"line {line}: empty {'text' if not text else 'label'}")
            continue
        rows.append((text, label))
    if bad:
        raise AnalysisError(f"{path}: " + "; ".join(bad[:10]))
    if not rows:
        raise AnalysisError(f"{path}: no examples")
    return rows


@intents_app.command("train")
def intents_train(
    file: Path = typer.Argument(..., help="CSV with columns text,label."),
    name: str = typer.Option(..., "--name", help="Name of the set (used by analyze --intents)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Learn custom intents from examples; stored in the database for every worker."""
    from rapport.analysis import service
    from rapport.analysis.queries import list_custom_intents
    from rapport.audit.service import cli_actor, do_record
    from rapport.storage.engine import session_scope

    examples = read_examples(file)
    ensure_schema()
    with session_scope(write=True) as session:
        row = service.do_train_custom_intents(
            session, name, examples, source=str(file), actor=cli_actor()
        )
        do_record(
            session,
            cli_actor(),
            "analysis.intents_train",
            subject_type="custom_intent_set",
            subject_id=row.name,
            details={"labels": row.labels, "version": row.version, "source": str(file)},
        )
    with session_scope() as session:
        public = next(s for s in list_custom_intents(session) if s.name == name)
    if json_out:
        emit_json(public)
        return
    stdout.print(
        f"trained [bold]{public.name}[/bold]: {len(public.labels)} labels, "
        f"{public.examples} examples (version {public.version})"
    )


@intents_app.command("list")
def intents_list(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Custom intent sets in the database."""
    from rapport.analysis.queries import list_custom_intents
    from rapport.storage.engine import session_scope

    ensure_schema()
    with session_scope() as session:
        sets = list_custom_intents(session)
    if json_out:
        emit_json({"intents": [s.model_dump(mode="json") for s in sets]})
        return
    table = Table("name", "labels", "examples", "version", "updated", title="custom intents")
    for s in sets:
        table.add_row(s.name, ", ".join(s.labels), str(s.examples), s.version, str(s.updated_at))
    stdout.print(table)


@intents_app.command("delete")
def intents_delete(
    name: str = typer.Argument(...),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Delete a custom intent set."""
    from rapport.analysis import service
    from rapport.audit.service import cli_actor, do_record
    from rapport.storage.engine import session_scope

    ensure_schema()
    with session_scope(write=True) as session:
        service.do_delete_custom_intents(session, name)
        do_record(
            session,
            cli_actor(),
            "analysis.intents_delete",
            subject_type="custom_intent_set",
            subject_id=name,
        )
    if json_out:
        emit_json({"deleted": name})
    else:
        stdout.print(f"deleted {name}")


# ----------------------------------------------------------------- eval


def evaluate(
    data: Path | None = typer.Option(None, "--data", help="The shared data directory."),
    out: Path | None = typer.Option(
        None, "--out", help="Markdown report (default docs/EVALUATION.md in the checkout)."
    ),
    skip_accurate: bool = typer.Option(False, "--skip-accurate", help="No MiniLM runs."),
    json_out: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """Measure every model on held-out real data; print the table and update the analysis
    section of docs/EVALUATION.md."""
    from rapport.analysis import corpora, evaluation

    report = evaluation.run(corpora.shared_data_dir(data), skip_accurate=skip_accurate)
    path = out or corpora.repo_root() / "docs" / "EVALUATION.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = path.read_text(encoding="utf-8") if path.exists() else None
    path.write_text(evaluation.merge_into(existing, evaluation.markdown(report)), encoding="utf-8")
    stderr.print(f"[dim]written {path}[/dim]")
    if json_out:
        emit_json(report)
        return
    stdout.print(evaluation.table(report))
