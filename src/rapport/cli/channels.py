"""`rapport channels ...`: live connectors — add, list, test, poll, remove."""

from __future__ import annotations

import sys
from typing import Any

import typer
from rich.table import Table

from rapport.audit.service import cli_actor
from rapport.channels import queries, service
from rapport.channels.errors import ChannelConfigError, ConnectorFailed
from rapport.channels.registry import all_types, get_type, kinds
from rapport.channels.schemas import ChannelCreate
from rapport.cli.output import emit_json, stderr, stdout
from rapport.cli.schema_guard import ensure_schema
from rapport.storage.engine import session_scope

app = typer.Typer(
    help="Live channels: connectors that poll, receive webhooks and send replies.",
    no_args_is_help=True,
)


def _parse_sets(pairs: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ChannelConfigError(f"--set {pair!r}: expected KEY=VALUE")
        values[key.strip().replace("-", "_")] = value
    return values


@app.command("add")
def add(
    kind: str = typer.Argument(..., help=f"Connector type: {', '.join(kinds())}."),
    name: str = typer.Argument(..., help="Channel name (messages are stored under it)."),
    url: str | None = typer.Option(None, "--url", help="Feed, instance, forum or API URL."),
    handle: str | None = typer.Option(
        None, "--handle", help="Our account: handle, address, phone number or API user."
    ),
    token: str | None = typer.Option(None, "--token", help="API token / key (encrypted at rest)."),
    password: str | None = typer.Option(None, "--password", help="Password (encrypted at rest)."),
    secret: str | None = typer.Option(None, "--secret", help="Webhook signing secret (encrypted)."),
    query: list[str] = typer.Option([], "--query", help="Keyword or #hashtag to listen for."),
    interval: float | None = typer.Option(None, "--interval", min=1, help="Seconds between polls."),
    sets: list[str] = typer.Option([], "--set", help="Other options as KEY=VALUE (see `kinds`)."),
    secret_stdin: str | None = typer.Option(
        None,
        "--secret-stdin",
        help="Read this option's value (e.g. token, password) from standard input.",
    ),
    disabled: bool = typer.Option(False, "--disabled", help="Add it switched off."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Configure a live channel. Secrets are encrypted (Fernet) before they are stored."""
    ctype = get_type(kind)
    options: dict[str, Any] = {
        k: v
        for k, v in {
            "url": url,
            "handle": handle,
            "token": token,
            "password": password,
            "secret": secret,
            "interval": interval,
        }.items()
        if v is not None
    }
    if query:
        options["queries"] = query
    options.update(_parse_sets(sets))
    if secret_stdin:
        value = sys.stdin.readline().rstrip("\r\n")
        if not value:
            raise ChannelConfigError(f"--secret-stdin {secret_stdin}: nothing on standard input")
        options[secret_stdin.replace("-", "_")] = value
    ensure_schema()
    with session_scope(write=True) as session:
        channel = service.do_add_channel(
            session,
            ChannelCreate(kind=ctype.kind, name=name, options=options, enabled=not disabled),
            actor=cli_actor(),
        )
    if json_out:
        emit_json(channel)
        return
    stdout.print(f"added {channel.kind} channel {channel.name!r}")
    if channel.webhook_path:
        stdout.print(f"deliveries: POST {channel.webhook_path}")


def _age(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


@app.command("list")
def list_(
    live: bool = typer.Option(False, "--live", help="Only channels with a connector."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Every channel with its connector's health: last poll, last error, counts."""
    ensure_schema()
    with session_scope() as session:
        channels = queries.list_channels(session, live_only=live)
    if json_out:
        emit_json({"channels": [c.model_dump(mode="json") for c in channels]})
        return
    table = Table(
        "name",
        "kind",
        "status",
        "last poll",
        "fetched",
        "inserted",
        "quarantined",
        "messages",
        "last error",
        title="channels",
    )
    for c in channels:
        h = c.health
        table.add_row(
            c.name,
            c.kind,
            h.status if h else "history",
            _age(h.last_poll_at) if h else "",
            str(h.fetched) if h else "",
            str(h.inserted) if h else "",
            str(h.quarantined) if h else "",
            str(c.messages),
            (h.last_error or "")[:80] if h else "",
        )
    stdout.print(table)


@app.command("remove")
def remove(
    name: str = typer.Argument(...),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Remove a channel's connector (credentials, cursor, schedule); its messages stay."""
    ensure_schema()
    with session_scope(write=True) as session:
        service.do_remove_channel(session, name, actor=cli_actor())
    if json_out:
        emit_json({"removed": name})
    else:
        stdout.print(f"removed the connector of {name!r}; its messages are kept")


@app.command("enable")
def enable(name: str = typer.Argument(...)) -> None:
    """Switch a channel's connector on."""
    ensure_schema()
    with session_scope(write=True) as session:
        service.do_set_enabled(session, name, True, actor=cli_actor())
    stdout.print(f"enabled {name!r}")


@app.command("disable")
def disable(name: str = typer.Argument(...)) -> None:
    """Switch a channel's connector off (no polls, webhooks answered 503, no sends)."""
    ensure_schema()
    with session_scope(write=True) as session:
        service.do_set_enabled(session, name, False, actor=cli_actor())
    stdout.print(f"disabled {name!r}")


@app.command("test")
def test(
    name: str = typer.Argument(...),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Reach the channel's platform with its stored credentials (nothing is stored)."""
    ensure_schema()
    try:
        detail = service.do_check_channel(name)
        ok = True
    except ConnectorFailed as exc:
        detail, ok = str(exc), False
    if json_out:
        emit_json({"channel": name, "ok": ok, "detail": detail})
    elif ok:
        stdout.print(f"[green]ok[/green] {name}: {detail}", highlight=False)
    else:
        stderr.print(f"[red]failed[/red] {name}: {detail}", highlight=False)
    if not ok:
        raise typer.Exit(1)


@app.command("poll")
def poll(
    name: str | None = typer.Argument(None, help="One channel; default: every enabled one."),
    force: bool = typer.Option(False, "--force", help="Poll even while backing off."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Fetch what is new: {"NAME": {"fetched", "inserted", ...}}. Exit 1 if a channel failed."""
    ensure_schema()
    results = service.do_poll(name, force=force)
    if json_out:
        emit_json({n: r.contract() for n, r in results.items()})
    else:
        table = Table(
            "channel", "fetched", "inserted", "duplicates", "quarantined", "note", title="poll"
        )
        for n, r in results.items():
            note = r.error or r.skipped or ""
            table.add_row(
                n, str(r.fetched), str(r.inserted), str(r.duplicates), str(r.quarantined), note
            )
        stdout.print(table)
    if any(r.quarantined for r in results.values()):
        stderr.print(
            "[yellow]warning:[/yellow] see `rapport quarantine list --source channel:NAME`"
        )
    if any(r.error for r in results.values()):
        raise typer.Exit(1)


@app.command("kinds")
def kinds_(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The connector types and their options."""
    described = [t.describe() for t in all_types()]
    if json_out:
        emit_json({"kinds": described})
        return
    for d in described:
        table = Table(
            "option",
            "required",
            "secret",
            "default",
            "meaning",
            title=f"{d['kind']}: {d['summary']}",
        )
        for option, info in d["options"].items():
            table.add_row(
                option,
                "yes" if info["required"] else "",
                "yes" if info["secret"] else "",
                "" if info["default"] in (None, [], "") else str(info["default"]),
                info["help"],
            )
        stdout.print(table)


@app.command("rotate-key")
def rotate_key(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Re-encrypt stored credentials with the first key of RAPPORT_CREDENTIALS_KEY."""
    ensure_schema()
    with session_scope(write=True) as session:
        count = service.do_rotate_credentials(session, actor=cli_actor())
    if json_out:
        emit_json({"channels": count})
    else:
        stdout.print(f"re-encrypted the credentials of {count} channel(s)")
