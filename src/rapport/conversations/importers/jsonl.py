"""One message per line as JSON (the documented Rapport interchange format).

    {"id": "m-1", "channel": "forum", "author": "ada", "created_at":
     "2024-05-01T10:00:00Z", "text": "Where is my order?", "in_reply_to": null,
     "direction": "inbound"}

`id`, `author`, `created_at` and `text` are required; `author` may also be an
object `{"handle": ..., "name": ...}`; `channel` falls back to `--channel`;
`direction` defaults to `inbound`. Every other key is kept (raw line and meta).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timezone
from typing import Any

from rapport.conversations.importers.mapped_csv import parse_direction
from rapport.conversations.importers.records import ParsedMessage, Record, Rejected
from rapport.conversations.importers.source import (
    LineReader,
    printable_raw,
    raw_bytes,
    undecodable_offset,
)
from rapport.conversations.importers.tabular import RowError, normalise_id
from rapport.conversations.importers.timestamps import TimestampError, parse_any

KNOWN_KEYS = {"id", "channel", "author", "created_at", "text", "in_reply_to", "direction"}


def _text_field(obj: dict[str, Any], key: str, *, required: bool) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise RowError(key, f"missing {key}")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise RowError(key, f"{key} must be a string, got {type(value).__name__}")
    return str(value)


def parse_object(
    obj: Any, *, line: int | None, raw: str, assume_tz: timezone | None = None
) -> ParsedMessage:
    """One JSON object as a message (also used by webhook receivers)."""
    if not isinstance(obj, dict):
        raise RowError("(line)", f"expected a JSON object, got {type(obj).__name__}")
    external_id = normalise_id(_text_field(obj, "id", required=True) or "", "id")
    author_value = obj.get("author")
    author_name: str | None = None
    if isinstance(author_value, dict):
        handle = author_value.get("handle")
        author_name = (
            author_value.get("name") if isinstance(author_value.get("name"), str) else None
        )
        if not isinstance(handle, str | int) or isinstance(handle, bool) or not str(handle).strip():
            raise RowError("author", "author.handle missing")
        author = str(handle).strip()
    else:
        author = (_text_field(obj, "author", required=True) or "").strip()
        if not author:
            raise RowError("author", "missing author")
    text = _text_field(obj, "text", required=True)
    stamp = _text_field(obj, "created_at", required=True) or ""
    try:
        created_at = parse_any(stamp, assume_tz=assume_tz)
    except TimestampError as exc:
        raise RowError("created_at", f"bad date: {exc}") from None
    parent = _text_field(obj, "in_reply_to", required=False)
    direction_value = obj.get("direction")
    if direction_value is not None and not isinstance(direction_value, str):
        raise RowError("direction", "direction must be 'inbound' or 'outbound'")
    message = ParsedMessage(
        external_id=external_id,
        author=author,
        author_name=author_name,
        direction=parse_direction(direction_value),
        created_at=created_at,
        text=text or "",
        raw=raw,
        line=line,
        channel=_text_field(obj, "channel", required=False),
        parent_external_id=normalise_id(parent, "in_reply_to") if parent else None,
        meta={k: v for k, v in obj.items() if k not in KNOWN_KEYS},
    )
    problem = message.unstorable()
    if problem is not None:
        raise RowError(*problem)
    return message


class JsonlFormat:
    name = "jsonl"

    def __init__(self, assume_tz: timezone | None = None) -> None:
        self.assume_tz = assume_tz

    def records(self, reader: LineReader) -> Iterator[Record]:
        for line in reader:
            raw = reader.take_raw()
            lineno = reader.lineno
            if not line.strip():
                continue
            offset = undecodable_offset(raw)
            if offset is not None:
                yield Rejected(
                    lineno,
                    f"not UTF-8: undecodable byte at offset {offset} of the line",
                    printable_raw(raw),
                    raw_bytes=raw_bytes(raw),
                )
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield Rejected(lineno, f"invalid JSON at column {exc.colno}: {exc.msg}", raw)
                continue
            try:
                yield parse_object(obj, line=lineno, raw=raw, assume_tz=self.assume_tz)
            except RowError as exc:
                yield Rejected(lineno, f"{exc.field}: {exc.reason}", raw, field=exc.field)
