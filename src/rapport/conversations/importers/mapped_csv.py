"""Any CSV, with a column mapping: `--map text=body,author=user,created_at=ts`.

Fields: `text` (required), `author` (required), `created_at` (required),
`id` (optional: without it, a content hash plus occurrence number),
`in_reply_to`, `direction` (`inbound`/`outbound`), `author_name`, `channel`.
Unmapped columns are kept in the raw record and in `meta`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timezone

from rapport.conversations.errors import IngestError
from rapport.conversations.importers.records import ParsedMessage, Record
from rapport.conversations.importers.source import LineReader
from rapport.conversations.importers.tabular import (
    Header,
    Row,
    RowError,
    TabularFormat,
    normalise_id,
)
from rapport.conversations.importers.timestamps import TimestampError, parse_any
from rapport.conversations.models import INBOUND, OUTBOUND

FIELDS = (
    "id",
    "text",
    "author",
    "created_at",
    "in_reply_to",
    "direction",
    "author_name",
    "channel",
)
REQUIRED_FIELDS = ("text", "author", "created_at")


def parse_mapping(spec: str | None) -> dict[str, str]:
    """`text=body,author=user` → {"text": "body", "author": "user"}; identity
    mapping for fields not named."""
    mapping = {f: f for f in FIELDS}
    if not spec:
        return mapping
    for part in spec.split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise IngestError(f"--map: {part!r} is not FIELD=COLUMN (fields: {', '.join(FIELDS)})")
        field, column = (p.strip() for p in part.split("=", 1))
        if field not in FIELDS:
            raise IngestError(f"--map: unknown field {field!r} (fields: {', '.join(FIELDS)})")
        mapping[field] = column
    return mapping


def parse_direction(value: str | None) -> str:
    if value is None:
        return INBOUND
    folded = value.strip().casefold()
    if folded in {"inbound", "in", "true"}:
        return INBOUND
    if folded in {"outbound", "out", "false"}:
        return OUTBOUND
    raise RowError("direction", f"bad direction {value!r} (expected inbound or outbound)")


class MappedCsvFormat(TabularFormat):
    name = "csv"
    required = ()

    def __init__(self, mapping: dict[str, str], assume_tz: timezone | None = None) -> None:
        self.mapping = mapping
        self.assume_tz = assume_tz
        self._seen: dict[str, int] = {}

    def missing_columns(self, header: Header) -> list[str]:
        return [self.mapping[f] for f in REQUIRED_FIELDS if self.mapping[f] not in header.positions]

    def records(self, reader: LineReader, header: Header) -> Iterator[Record]:
        self._seen = {}
        self._header = header
        self._mapped = {self.mapping[f] for f in FIELDS}
        return super().records(reader, header)

    def _col(self, row: Row, field: str) -> str | None:
        return row.optional(self.mapping[field])

    def parse_row(self, row: Row) -> ParsedMessage:
        text = row.get(self.mapping["text"])
        author = self._col(row, "author")
        if author is None:
            raise RowError(self.mapping["author"], f"missing {self.mapping['author']}")
        stamp = row.get(self.mapping["created_at"])
        try:
            created_at = parse_any(stamp, assume_tz=self.assume_tz)
        except TimestampError as exc:
            raise RowError(self.mapping["created_at"], f"bad date: {exc}") from None
        given_id = self._col(row, "id")
        if given_id is not None:
            external_id = normalise_id(given_id, self.mapping["id"])
        else:
            key = hashlib.sha1(
                f"{author}\x1f{created_at.isoformat()}\x1f{text}".encode()
            ).hexdigest()
            occurrence = self._seen.get(key, 0) + 1
            self._seen[key] = occurrence
            external_id = f"csv-{key[:20]}-{occurrence}"
        parent = self._col(row, "in_reply_to")
        meta = {
            name: row.get(name)
            for name in self._header.data_columns
            if name not in self._mapped and name in self._header.positions and row.get(name)
        }
        return ParsedMessage(
            external_id=external_id,
            author=author,
            author_name=self._col(row, "author_name"),
            direction=parse_direction(self._col(row, "direction")),
            created_at=created_at,
            text=text,
            raw=row.raw,
            line=row.line,
            channel=self._col(row, "channel"),
            parent_external_id=normalise_id(parent, self.mapping["in_reply_to"])
            if parent
            else None,
            meta=meta,
        )
