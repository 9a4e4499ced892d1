"""What importers produce: a parsed message, or a rejected row with its reason."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

MENTION_RE = re.compile(r"(?<![\w@])@(\w{1,50})")


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
