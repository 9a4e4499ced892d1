"""Rendering for the CLI: one JSON document on stdout with `--json`, Rich
tables otherwise; progress, warnings and errors on stderr."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any, NoReturn

import typer
from pydantic import BaseModel
from rich.console import Console

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def emit_json(document: Any) -> None:
    """Print exactly one JSON document on stdout."""
    if isinstance(document, BaseModel):
        document = document.model_dump(mode="json")
    sys.stdout.write(json.dumps(document, default=_default, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def warn(message: str) -> None:
    stderr.print(f"[yellow]warning:[/yellow] {message}", highlight=False)


def fail(message: str, code: int = 1) -> NoReturn:
    """Say what went wrong on stderr and exit (1: bad input or refused)."""
    stderr.print(f"[red]error:[/red] {message}", highlight=False, markup=True)
    raise typer.Exit(code)


def parse_when(value: str | None, option: str) -> datetime | None:
    """A CLI date or datetime; without an offset it is read as UTC."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        fail(f"{option}: {value!r} is not an ISO 8601 date or datetime (e.g. 2017-10-31T12:00Z)")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
