"""Reading a source file as physical lines and CSV/TSV records, keeping each
record's raw text and line number, in constant memory.

Lines are split on LF only, so a bare CR inside an unquoted field (a real
export's habit) stays part of the field instead of ending the record. Bytes
that are not UTF-8 survive as surrogates and make their record a `Rejected`
row; the file goes on.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

#: A private-use character standing in for bare CRs while the csv module parses.
_CR_STANDIN = "\ue000"

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


class LineReader:
    """Iterates decoded lines of a binary stream, counting lines and bytes."""

    def __init__(self, stream: BinaryIO, *, protect_bare_cr: bool = False) -> None:
        self._stream = stream
        self._protect = protect_bare_cr
        self.lineno = 0
        self.bytes_read = 0
        #: Raw text of the lines handed out since the last `take_raw()`.
        self._pending: list[str] = []
        self.protected = False

    def __iter__(self) -> LineReader:
        return self

    def __next__(self) -> str:
        data = self._stream.readline()
        if not data:
            raise StopIteration
        self.lineno += 1
        self.bytes_read += len(data)
        line = data.decode("utf-8", "surrogateescape")
        if self.lineno == 1 and line.startswith("\ufeff"):
            line = line[1:]
        self._pending.append(line)
        if self._protect and "\r" in line:
            body = line[:-1] if line.endswith("\n") else line
            end = line[len(body) :]
            if body.endswith("\r"):
                body, end = body[:-1], "\r" + end
            if "\r" in body:
                self.protected = True
                body = body.replace("\r", _CR_STANDIN)
            line = body + end
        return line

    def take_raw(self) -> str:
        raw = "".join(self._pending)
        self._pending.clear()
        return raw


def undecodable_offset(raw: str) -> int | None:
    """The byte offset of the first non-UTF-8 byte in ``raw``, if any."""
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError as exc:
        return len(raw[: exc.start].encode("utf-8", "surrogateescape"))
    return None


def printable_raw(raw: str) -> str:
    """``raw`` as storable text: undecodable bytes shown as ``\\xNN``."""
    return raw.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def raw_bytes(raw: str) -> bytes:
    return raw.encode("utf-8", "surrogateescape")


@dataclass(slots=True)
class CsvRecord:
    line: int
    raw: str
    fields: list[str] | None
    error: str | None = None


def sniff_delimiter(header_line: str) -> str:
    """Tab for TSV exports, comma otherwise."""
    return "\t" if header_line.count("\t") > header_line.count(",") else ","


def iter_csv(reader: LineReader, delimiter: str) -> Iterator[CsvRecord]:
    """CSV records with their first line number and raw text; malformed
    records come back with ``error`` set and the reader moves on."""
    rows = csv.reader(reader, delimiter=delimiter)
    while True:
        start = reader.lineno + 1
        reader.protected = False
        try:
            fields = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            yield CsvRecord(start, reader.take_raw(), None, f"malformed CSV: {exc}")
            continue
        raw = reader.take_raw()
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue  # a blank line carries nothing
        if reader.protected:
            fields = [f.replace(_CR_STANDIN, "\r") for f in fields]
        yield CsvRecord(start, raw, fields)
