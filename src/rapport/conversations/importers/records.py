"""What importers produce: a parsed message, or a rejected row with its reason."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

MENTION_RE = re.compile(r"(?<![\w@])@(\w{1,50})")


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(slots=True)
class ParsedMessage:
    """One message read from a source, not stored yet."""

    external_id: str
    author: str | None
    direction: str
    created_at: datetime
    text: str
    raw: str
    line: int | None = None
    channel: str | None = None
    author_name: str | None = None
    parent_external_id: str | None = None
    #: Messages known to reply to this one (TWCS `response_tweet_id`).
    reply_external_ids: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)

    def unstorable(self) -> tuple[str, str] | None:
        """(field, reason) when a value cannot be stored as text by every
        database: a NUL character (PostgreSQL refuses it) or a lone UTF-16
        surrogate (a JSON escape such as \\ud800, not a character)."""
        blob = "".join(
            (
                self.external_id,
                self.author or "",
                self.author_name or "",
                self.text,
                self.raw,
                self.channel or "",
                self.parent_external_id or "",
                *self.reply_external_ids,
            )
        )
        if "\x00" not in blob and (blob.isascii() or _encodable(blob)) and not self.meta:
            return None  # the common case, checked in one pass
        values: list[tuple[str, str | None]] = [
            ("id", self.external_id),
            ("author", self.author),
            ("author_name", self.author_name),
            ("text", self.text),
            ("raw", self.raw),
            ("channel", self.channel),
            ("in_reply_to", self.parent_external_id),
            *(("response_ids", r) for r in self.reply_external_ids),
        ]
        if self.meta:
            values.append(("meta", json.dumps(self.meta, ensure_ascii=False, default=str)))
        for name, value in values:
            if value is None:
                continue
            if "\x00" in value:
                return name, f"{name} contains a NUL character (\\x00), which cannot be stored"
            if not _encodable(value):
                position = next(i for i, c in enumerate(value) if not _encodable(c))
                return name, (
                    f"{name} contains a lone surrogate {value[position]!r} at character "
                    f"{position} (not a Unicode character)"
                )
        return None

    def mentions(self) -> set[str]:
        """The `@handles` in the text, case-folded."""
        if "@" not in self.text:
            return set()
        return {m.casefold() for m in MENTION_RE.findall(self.text)}


@dataclass(slots=True)
class Rejected:
    """A row that cannot be stored: kept raw, with where and why."""

    line: int | None
    reason: str
    raw: str
    field: str | None = None
    raw_bytes: bytes | None = None


Record = ParsedMessage | Rejected
