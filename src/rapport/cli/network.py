"""`rapport network ...`: the customers' conversation graph, its export, and
the analysis of any external edge list."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from rapport.cli.output import emit_json, stderr, stdout, warn
from rapport.cli.schema_guard import ensure_schema
from rapport.network import service
from rapport.network.export import FORMATS, export_graph
from rapport.network.external import analyze_edge_file
from rapport.network.queries import network_report
from rapport.storage.engine import session_scope

app = typer.Typer(
    help="The customers' network: ties, communities, influencers, helpers, knowledge flows.",
    invoke_without_command=True,
)


def _report(top: int) -> dict[str, Any]:
    ensure_schema()
    with session_scope() as session:
        stale = service.needs_rebuild(session)
    if stale:
        stderr.print("[dim]messages stored before the network existed: building the graph...[/dim]")
        with session_scope(write=True) as session:
            service.do_rebuild_graph(session)
    with session_scope() as session:
        return network_report(session, top=top)


def _cut(text: str, width: int = 90) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@app.callback()
def network(
    ctx: typer.Context,
    top: int = typer.Option(20, "--top", min=1, help="How many entries each ranked list keeps."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The conversation graph of stored messages: nodes, weighted ties (strong or
    weak, with the rule), communities, influencers, brokers, advocates and
    detractors, peer helpers and knowledge flows, each with its reason."""
    if ctx.invoked_subcommand is not None:
        return
    doc = _report(top)
    if json_out:
        emit_json(doc)
        return
    s = doc["summary"]
    stdout.print(
        f"[bold]{s['people']}[/bold] people and [bold]{s['accounts']}[/bold] of our accounts, "
        f"[bold]{s['edges']}[/bold] ties ({s['strong_ties']} strong, {s['weak_ties']} weak), "
        f"[bold]{s['communities']}[/bold] communities, modularity {doc['modularity']:.3f} "
        f"(as of {doc['as_of'][:10]})"
    )
    stdout.print(f"[dim]ties: {doc['rules']['tie']}[/dim]")
    sections: list[tuple[str, list[dict[str, Any]], str]] = [
        ("top influencers", doc["top_influencers"], "label"),
        ("brokers", doc["brokers"], "label"),
        ("advocates", doc["advocates"], "label"),
        ("detractors", doc["detractors"], "label"),
        ("peer helpers", doc["peer_helpers"], "label"),
    ]
    for title, rows, key in sections:
        table = Table("who", "score", "why", title=title)
        for row in rows[:10]:
            table.add_row(_cut(str(row[key]), 30), f"{row['score']:.3f}", _cut(row["reason"], 120))
        if not rows and title in ("advocates", "detractors"):
            table.add_row("-", "-", _cut(doc["analysis"]["note"], 120))
        stdout.print(table)
    table = Table("from → to", "answers", "why", title="knowledge flows")
    for flow in doc["knowledge_flows"][:10]:
        table.add_row(
            f"{flow['from_community']} → {flow['to_community']}",
            str(flow["answers"]),
            _cut(flow["reason"], 120),
        )
    stdout.print(table)


@app.command("export")
def export(
    fmt: str = typer.Option("graphml", "--format", help=f"One of {', '.join(FORMATS)}."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write here (default: standard output)."
    ),
) -> None:
    """Export the analysed conversation graph for Gephi (GraphML or GEXF)."""
    if fmt not in FORMATS:
        raise typer.BadParameter(
            f"{fmt!r} is not one of {', '.join(FORMATS)}", param_hint="--format"
        )
    data = export_graph(_report(top=20), fmt)
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        output.write_bytes(data)
        stderr.print(f"[dim]{fmt} written to {output} ({len(data):,} bytes)[/dim]")


@app.command("rebuild")
def rebuild(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Recompute every interaction and tie from the stored messages."""
    ensure_schema()
    with session_scope(write=True) as session:
        result = service.do_rebuild_graph(session)
    doc = {"messages": result.messages, "interactions": result.interactions, "ties": result.ties}
    if json_out:
        emit_json(doc)
    else:
        stdout.print(
            f"{result.messages:,} messages → {result.interactions:,} interactions, "
            f"{result.ties:,} ties"
        )


def _report_malformed(doc: dict[str, Any]) -> None:
    shown = doc["malformed"]
    for bad in shown[:20]:
        warn(f"{doc['source']}: line {bad['line']}: {bad['reason']}: {bad['text']!r} (skipped)")
    if doc["malformed_lines"] > 20:
        warn(f"{doc['source']}: {doc['malformed_lines'] - 20} more malformed line(s) skipped")


@app.command("analyze")
def analyze(
    edgefile: Path = typer.Argument(..., help="Edge list: `u v [weight]` per line, # comments."),
    directed: bool = typer.Option(False, "--directed", help="Read edges as directed (u → v)."),
    top: int = typer.Option(10, "--top", min=1, help="How many influencers to list."),
    seed: int = typer.Option(42, "--seed", help="Seed of the community search."),
    members: Path | None = typer.Option(
        None, "--members", help="Write each node's community to this CSV (node,community)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Communities, modularity and influencers of any graph given as an edge list."""
    doc = analyze_edge_file(edgefile, directed=directed, top=top, seed=seed)
    membership = doc.pop("membership")
    _report_malformed(doc)
    if members is not None:
        with members.open("w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh)
            out.writerow(["node", "community"])
            out.writerows(membership.items())
        stderr.print(f"[dim]communities of {len(membership)} nodes written to {members}[/dim]")
    if json_out:
        emit_json(doc)
        return
    stdout.print(
        f"[bold]{doc['nodes']:,}[/bold] nodes, [bold]{doc['edges']:,}[/bold] edges; "
        f"[bold]{doc['communities']}[/bold] communities, modularity "
        f"[bold]{doc['modularity']:.3f}[/bold] ({doc['algorithm']}); "
        f"{doc['seconds']['total']:.2f} s"
    )
    table = Table("node", "score", "pagerank", "reach", "community", title="top influencers")
    for row in doc["top_influencers"]:
        table.add_row(
            row["node"],
            f"{row['score']:.3f}",
            f"{row['pagerank']:.5f}",
            str(row["reach"]),
            str(row["community"]),
        )
    stdout.print(table)
