"""`rapport demo load`: import the bundled demo conversations (idempotent)."""

from __future__ import annotations

import typer

from rapport.cli.output import emit_json, stdout
from rapport.cli.schema_guard import ensure_schema
from rapport.conversations import service
from rapport.demo import demo_path

app = typer.Typer(help="The bundled demo data.", no_args_is_help=True)


@app.command("load")
def load(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Import the bundled TWCS demo (5,000 real support tweets); re-running inserts nothing."""
    ensure_schema()
    summary = service.do_ingest_files([demo_path()], fmt="twcs")
    if json_out:
        emit_json(summary.contract())
    else:
        stdout.print(
            f"demo: {summary.inserted} inserted, {summary.duplicates} already there, "
            f"{summary.quarantined} quarantined"
        )
