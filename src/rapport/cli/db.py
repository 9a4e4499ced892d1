"""`rapport db ...`: create, migrate and inspect the database."""

from __future__ import annotations

import typer
from sqlalchemy.engine import make_url

from rapport.cli.output import emit_json, stdout
from rapport.settings import get_settings
from rapport.storage import migrate

app = typer.Typer(help="Create, migrate and inspect the database.", no_args_is_help=True)


def _where() -> str:
    return make_url(get_settings().sqlalchemy_url).render_as_string(hide_password=True)


@app.command("upgrade")
def upgrade(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Create or migrate the database to the newest schema (idempotent)."""
    revisions = migrate.upgrade()
    if json_out:
        emit_json({"database": _where(), "revisions": revisions})
    else:
        stdout.print(f"database {_where()} is at {', '.join(revisions)}")


@app.command("current")
def current(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Show the schema revision of the database and whether it is current."""
    doc = {
        "database": _where(),
        "revisions": migrate.current_revisions(),
        "heads": migrate.head_revisions(),
        "current": migrate.is_current(),
    }
    if json_out:
        emit_json(doc)
    else:
        stdout.print(doc)


@app.command("vacuum")
def vacuum(
    full: bool = typer.Option(
        True, "--full/--quick", help="Rewrite tables so no deleted data stays in the files."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Wipe deleted rows from the database files and reclaim space (SQLite: WAL
    checkpoint + VACUUM; PostgreSQL: VACUUM FULL + ANALYZE + CHECKPOINT)."""
    from rapport.cli.schema_guard import ensure_schema
    from rapport.storage.vacuum import do_vacuum

    ensure_schema()
    steps = do_vacuum(full=full)
    if json_out:
        emit_json({"database": _where(), "steps": steps})
    else:
        stdout.print(f"database {_where()}: {'; '.join(steps)}")
