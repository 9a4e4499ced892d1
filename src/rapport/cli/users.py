"""`rapport users ...` and `rapport audit`."""

from __future__ import annotations

import sys

import typer
from rich.table import Table

from rapport.audit.service import cli_actor, list_events
from rapport.cli.output import emit_json, fail, stdout
from rapport.cli.schema_guard import ensure_schema
from rapport.storage.engine import session_scope
from rapport.users import service
from rapport.users.models import ROLES
from rapport.users.schemas import UserCreate

app = typer.Typer(help="People on the company's side and their roles.", no_args_is_help=True)


@app.command("create")
def create(
    email: str = typer.Argument(..., help="The user's email (also the login)."),
    role: str = typer.Option(..., "--role", help=f"One of {', '.join(ROLES)}."),
    name: str | None = typer.Option(None, "--name"),
    team: str | None = typer.Option(None, "--team"),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input."
    ),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Create a user with a role."""
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            fail("--password-stdin: no password on standard input")
    ensure_schema()
    with session_scope(write=True) as session:
        user = service.do_create_user(
            session,
            UserCreate(email=email, role=role, password=password, name=name, team=team),
            actor=cli_actor(),
        )
    if json_out:
        emit_json(user)
    else:
        stdout.print(f"created {user.email} ({user.role}), id {user.id}")


@app.command("list")
def list_(json_out: bool = typer.Option(False, "--json")) -> None:
    """Every user with role and state."""
    ensure_schema()
    with session_scope() as session:
        users = service.list_users(session)
    if json_out:
        emit_json({"users": [u.model_dump(mode="json") for u in users]})
        return
    table = Table("id", "email", "username", "role", "team", "active", title="users")
    for u in users:
        table.add_row(
            str(u.id), u.email, u.username, u.role, u.team or "", "yes" if u.active else "no"
        )
    stdout.print(table)


@app.command("disable")
def disable(
    user: str = typer.Argument(..., help="Id, email or username."),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Disable a user: they can no longer log in or be assigned work."""
    ensure_schema()
    with session_scope(write=True) as session:
        result = service.do_disable_user(session, user, actor=cli_actor())
    if json_out:
        emit_json(result)
    else:
        stdout.print(f"disabled {result.email}")


@app.command("ensure-demo-admin")
def ensure_demo_admin(json_out: bool = typer.Option(False, "--json")) -> None:
    """Create the demo admin (idempotent) and print its login; refused in prod."""
    from rapport.demo.admin import do_ensure_demo_admin

    ensure_schema()
    with session_scope(write=True) as session:
        login = do_ensure_demo_admin(session, actor=cli_actor())
    if json_out:
        emit_json({"email": login.email, "password": login.password, "state": login.state})
    else:
        stdout.print(
            f"demo admin login ({login.state}): [bold]{login.email}[/bold] / "
            f"[bold]{login.password}[/bold]",
            highlight=False,
        )


def audit(
    action: str | None = typer.Option(None, "--action", help="e.g. people.merge or people.*"),
    subject_type: str | None = typer.Option(None, "--subject-type"),
    subject_id: str | None = typer.Option(None, "--subject-id"),
    limit: int = typer.Option(100, "--limit", min=1),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """The audit trail, newest first: who did what, when."""
    ensure_schema()
    with session_scope() as session:
        events, total = list_events(
            session, action=action, subject_type=subject_type, subject_id=subject_id, limit=limit
        )
    if json_out:
        emit_json({"events": [e.model_dump(mode="json") for e in events], "total": total})
        return
    table = Table("at", "actor", "action", "subject", "details", title=f"audit ({total})")
    for e in events:
        subject = f"{e.subject_type}:{e.subject_id}" if e.subject_type else ""
        table.add_row(
            e.at.isoformat(timespec="seconds"), e.actor, e.action, subject, str(e.details)
        )
    stdout.print(table)
