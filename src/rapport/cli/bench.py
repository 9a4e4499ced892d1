"""`rapport bench`: run the benchmark suite and print its figures."""

from __future__ import annotations

import typer
from rich.table import Table

from rapport.bench import BenchOptions, available
from rapport.cli.output import emit_json, fail, stderr, stdout


def bench(
    size: int = typer.Option(200_000, "--size", min=100, help="Messages to generate."),
    only: list[str] = typer.Option([], "--only", help="Run only these benchmarks (repeatable)."),
    pg_url: str | None = typer.Option(
        None,
        "--pg-url",
        help="PostgreSQL admin URL (default postgresql://postgres@127.0.0.1:5432/postgres).",
    ),
    scale: bool = typer.Option(False, "--scale", help="The million-message scale suite."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Run the benchmarks: figures as rates and as ratios to a baseline measured in the same run."""
    benches = available()
    unknown = [name for name in only if name not in benches]
    if unknown:
        fail(f"unknown benchmark(s) {', '.join(unknown)} (known: {', '.join(benches)})")
    options = BenchOptions(size=size, pg_url=pg_url, scale=scale)
    results = []
    for name, run in benches.items():
        if only and name not in only:
            continue
        stderr.print(f"[dim]bench {name}...[/dim]")
        results.extend(run(options))
    if json_out:
        emit_json({"benchmarks": {r.name: {**r.figures, "notes": r.notes} for r in results}})
        return
    for r in results:
        table = Table("figure", "value", title=f"{r.name} — {r.notes}" if r.notes else r.name)
        for key, value in r.figures.items():
            table.add_row(key, str(value))
        stdout.print(table)
