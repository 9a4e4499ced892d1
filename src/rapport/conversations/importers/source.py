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


#: Physical lines one CSV record may span before it is taken for a stray
#: quote (an unclosed `"` would otherwise swallow the rest of the file).
MAX_RECORD_LINES = 1_000


class RecordTooLong(Exception):
    """A record ran past `MAX_RECORD_LINES` physical lines."""


class LineReader:
    """Iterates decoded lines of a binary stream, counting lines and bytes.

    Lines handed out since the last `take_raw()` can be handed back
    (`push_back`) to be read again, which is how a CSV reader resumes after a
    stray quote made it swallow good rows."""

    def __init__(
        self,
        stream: BinaryIO,
        *,
        protect_bare_cr: bool = False,
        max_record_lines: int | None = None,
    ) -> None:
        self._stream = stream
        self._protect = protect_bare_cr
        self._max_lines = max_record_lines
        self.lineno = 0
        self.bytes_read = 0
        #: (raw text, text as handed out) of the lines handed out since the
        #: last `take_raw()`.
        self._pending: list[tuple[str, str]] = []
        self._again: list[tuple[str, str]] = []
        self.protected = False

    def __iter__(self) -> LineReader:
        return self

    def __next__(self) -> str:
        if self._again:
            raw, line = self._again.pop()
            self.lineno += 1
        else:
            data = self._stream.readline()
            if not data:
                raise StopIteration
            self.lineno += 1
            self.bytes_read += len(data)
            raw = line = data.decode("utf-8", "surrogateescape")
            if self.lineno == 1 and line.startswith("\ufeff"):
                raw = line = line[1:]
            if self._protect and "\r" in line:
                body = line[:-1] if line.endswith("\n") else line
                end = line[len(body) :]
                if body.endswith("\r"):
                    body, end = body[:-1], "\r" + end
                if "\r" in body:
                    body = body.replace("\r", _CR_STANDIN)
                line = body + end
        if _CR_STANDIN in line:
            self.protected = True
        self._pending.append((raw, line))
        if self._max_lines is not None and len(self._pending) > self._max_lines:
            raise RecordTooLong
        return line

    def take_raw(self) -> str:
        """The raw text of the lines handed out since the last call."""
        return "".join(raw for raw, _ in self.take_lines())

    def take_lines(self) -> list[tuple[str, str]]:
        lines = list(self._pending)
        self._pending.clear()
        return lines

    def push_back(self, lines: list[tuple[str, str]]) -> None:
        """Hand ``lines`` (from `take_lines`) out again, in order."""
        self._again.extend(reversed(lines))
        self.lineno -= len(lines)


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


def iter_csv(reader: LineReader, delimiter: str, width: int | None = None) -> Iterator[CsvRecord]:
    """CSV records with their first line number and raw text; malformed
    records come back with ``error`` set and the reader moves on.

    With ``width`` (the header's column count), a record spanning several
    lines whose column count is wrong, while some of the lines it swallowed
    are complete rows on their own, is taken for a stray quote in its first
    line: that line comes back alone (wrong column count) and the following
    lines are read again as records. A record running past the reader's
    line limit is treated the same way, so one unclosed quote never eats
    the rest of the file."""
    rows = csv.reader(reader, delimiter=delimiter)
    while True:
        start = reader.lineno + 1
        reader.protected = False
        try:
            fields = next(rows)
        except StopIteration:
            return
        except RecordTooLong:
            yield _resync(reader, start, f"a quoted field runs past {MAX_RECORD_LINES} lines")
            continue
        except csv.Error as exc:
            yield CsvRecord(start, reader.take_raw(), None, f"malformed CSV: {exc}")
            continue
        lines = reader.take_lines()
        if width is not None and len(fields) != width and len(lines) > 1:
            rest = [line for _, line in lines[1:]]
            if any(len(r) == width for r in csv.reader(rest, delimiter=delimiter)):
                yield _resync(reader, start, f"{len(fields)} fields over {len(lines)} lines", lines)
                continue
        raw = "".join(r for r, _ in lines)
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue  # a blank line carries nothing
        if reader.protected:
            fields = [f.replace(_CR_STANDIN, "\r") for f in fields]
        yield CsvRecord(start, raw, fields)


def _resync(
    reader: LineReader, start: int, why: str, lines: list[tuple[str, str]] | None = None
) -> CsvRecord:
    """Keep the record's first physical line aside and hand the others back."""
    if lines is None:
        lines = reader.take_lines()
    reader.push_back(lines[1:])
    return CsvRecord(
        start,
        lines[0][0] if lines else "",
        None,
        f"unbalanced quote ({why}): this line is kept aside and the lines after it "
        "are read again as rows",
    )
