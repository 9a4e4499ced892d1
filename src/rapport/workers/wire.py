"""Parsed records as JSON-safe lists, for task messages (no pickle on the
broker). Round-trips every field of `ParsedMessage` and `Rejected`."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from rapport.conversations.importers.records import ParsedMessage, Record, Rejected


def records_to_wire(records: Iterable[Record]) -> list[list[Any]]:
    out: list[list[Any]] = []
    for r in records:
        if isinstance(r, ParsedMessage):
            out.append(
                [
                    "m",
                    r.external_id,
                    r.author,
                    r.direction,
                    r.created_at.isoformat(),
                    r.text,
                    r.raw,
                    r.line,
                    r.channel,
                    r.author_name,
                    r.parent_external_id,
                    list(r.reply_external_ids),
                    r.meta or None,
                ]
            )
        else:
            out.append(
                [
                    "r",
                    r.line,
                    r.reason,
                    r.raw,
                    r.field,
                    base64.b64encode(r.raw_bytes).decode("ascii")
                    if r.raw_bytes is not None
                    else None,
                ]
            )
    return out


def records_from_wire(wire: Iterable[list[Any]]) -> list[Record]:
    out: list[Record] = []
    for item in wire:
        if item[0] == "m":
            (
                _,
                ext,
                author,
                direction,
                created,
                text,
                raw,
                line,
                channel,
                name,
                parent,
                replies,
                meta,
            ) = item
            out.append(
                ParsedMessage(
                    external_id=ext,
                    author=author,
                    direction=direction,
                    created_at=datetime.fromisoformat(created),
                    text=text,
                    raw=raw,
                    line=line,
                    channel=channel,
                    author_name=name,
                    parent_external_id=parent,
                    reply_external_ids=tuple(replies),
                    meta=meta or {},
                )
            )
        elif item[0] == "r":
            _, line, reason, raw, field, blob = item
            out.append(
                Rejected(
                    line=line,
                    reason=reason,
                    raw=raw,
                    field=field,
                    raw_bytes=base64.b64decode(blob) if blob is not None else None,
                )
            )
        else:
            raise ValueError(f"unknown record kind {item[0]!r} in a chunk")
    return out
