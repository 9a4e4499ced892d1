"""The shared machinery of delimited formats (TWCS, airline, reviews, mapped CSV):
header handling, column-count and encoding checks, one `Rejected` per bad row."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rapport.conversations.importers.records import ParsedMessage, Record, Rejected
from rapport.conversations.importers.source import (
    LineReader,
    iter_csv,
    printable_raw,
    raw_bytes,
    sniff_delimiter,
    undecodable_offset,
)

#: Header names pandas writes for its index column when a frame is dumped.
_INDEX_COLUMN_NAMES = {"", "Unnamed: 0", "index"}


class RowError(ValueError):
    """A field that cannot be read; becomes the row's quarantine reason."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


@dataclass(slots=True)
class Header:
    columns: list[str]
    delimiter: str
    #: The first column is a pandas index, not data.
    index_column: bool
    positions: dict[str, int]

    @classmethod
    def parse(cls, first_line: str) -> Header:
        delimiter = sniff_delimiter(first_line)
        names = next(csv.reader([first_line], delimiter=delimiter), [])
        columns = [n.strip().lstrip("\ufeff") for n in names]
        index_column = len(columns) > 1 and columns[0] in _INDEX_COLUMN_NAMES
        positions: dict[str, int] = {}
        for i, name in enumerate(columns):
            if index_column and i == 0:
                continue
            positions.setdefault(name, i)
        return cls(columns, delimiter, index_column, positions)

    @property
    def data_columns(self) -> list[str]:
        return self.columns[1:] if self.index_column else self.columns


class Row:
    """Field access by column name for one record."""

    __slots__ = ("_fields", "_positions", "line", "raw")

    def __init__(self, fields: list[str], positions: dict[str, int], line: int, raw: str) -> None:
        self._fields = fields
        self._positions = positions
        self.line = line
        self.raw = raw

    def get(self, name: str) -> str:
        return self._fields[self._positions[name]]

    def optional(self, name: str) -> str | None:
        pos = self._positions.get(name)
        if pos is None:
            return None
        value = self._fields[pos].strip()
        return value or None

    def required(self, name: str) -> str:
        value = self.get(name).strip()
        if not value:
            raise RowError(name, f"missing {name}")
        return value


def normalise_id(value: str, field: str) -> str:
    """An id as written, with the float form of a pandas dump (`3.0`) repaired."""
    value = value.strip()
    if value.endswith(".0") and value[:-2].isdigit():
        value = value[:-2]
    if not value:
        raise RowError(field, f"missing {field}")
    if len(value) > 255:
        raise RowError(field, f"{field} longer than 255 characters")
    return value


def parse_bool(value: str, field: str) -> bool:
    folded = value.strip().casefold()
    if folded in {"true", "1", "yes", "t"}:
        return True
    if folded in {"false", "0", "no", "f"}:
        return False
    raise RowError(field, f"bad boolean {value!r} in {field} (expected True or False)")


class TabularFormat:
    """Base of the delimited formats; subclasses say which columns they need
    and how one row becomes a message."""

    name: ClassVar[str]
    required: ClassVar[tuple[str, ...]]

    def missing_columns(self, header: Header) -> list[str]:
        return [c for c in self.required if c not in header.positions]

    def parse_row(self, row: Row) -> ParsedMessage:
        raise NotImplementedError

    def records(self, reader: LineReader, header: Header) -> Iterator[Record]:
        width = len(header.columns)
        for rec in iter_csv(reader, header.delimiter, width):
            if rec.fields is None:
                yield Rejected(rec.line, rec.error or "malformed record", printable_raw(rec.raw))
                continue
            offset = undecodable_offset(rec.raw)
            if offset is not None:
                yield Rejected(
                    rec.line,
                    f"not UTF-8: undecodable byte at offset {offset} of the record",
                    printable_raw(rec.raw),
                    raw_bytes=raw_bytes(rec.raw),
                )
                continue
            if len(rec.fields) != width:
                yield Rejected(
                    rec.line,
                    f"wrong column count: expected {width} ({', '.join(header.columns)}), "
                    f"found {len(rec.fields)}",
                    rec.raw,
                )
                continue
            try:
                yield self.parse_row(Row(rec.fields, header.positions, rec.line, rec.raw))
            except RowError as exc:
                yield Rejected(rec.line, f"{exc.field}: {exc.reason}", rec.raw, field=exc.field)


def describe_columns(columns: Sequence[str]) -> str:
    return ", ".join(columns) if columns else "(none)"
