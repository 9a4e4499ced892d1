"""Which format a source is, and opening it as a stream of records."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timezone
from pathlib import Path
from typing import BinaryIO

from rapport.conversations.errors import IngestError
from rapport.conversations.importers.airline import AirlineFormat
from rapport.conversations.importers.jsonl import JsonlFormat
from rapport.conversations.importers.mapped_csv import MappedCsvFormat, parse_mapping
from rapport.conversations.importers.records import Record
from rapport.conversations.importers.reviews import ReviewsFormat
from rapport.conversations.importers.source import MAX_RECORD_LINES, LineReader
from rapport.conversations.importers.tabular import Header, TabularFormat, describe_columns
from rapport.conversations.importers.twcs import TwcsFormat

FORMAT_NAMES = ("twcs", "airline", "reviews", "jsonl", "csv")

#: Where a format's messages go when neither `--channel` nor the row names a channel.
DEFAULT_CHANNELS = {
    "twcs": "twitter",
    "airline": "twitter",
    "reviews": "reviews",
    "jsonl": "imported",
    "csv": "imported",
}

#: Formats recognised from their header, in the order they are tried.
_DETECTABLE: tuple[type[TabularFormat], ...] = (TwcsFormat, AirlineFormat, ReviewsFormat)


@dataclass
class OpenedSource:
    """A source file ready to be read record by record."""

    path: Path
    format_name: str
    channel: str
    size: int
    reader: LineReader
    records: Iterator[Record]
    stream: BinaryIO

    def close(self) -> None:
        self.stream.close()


def _open_stream(path: Path) -> BinaryIO:
    if path.suffix == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def _expected(fmt: type[TabularFormat]) -> str:
    return f"{fmt.name} ({describe_columns(fmt.required)})"


def open_source(
    path: Path,
    fmt: str | None = None,
    *,
    channel: str | None = None,
    mapping: str | None = None,
    assume_tz: timezone | None = None,
) -> OpenedSource:
    """Open ``path`` and check its header; raises `IngestError` saying what is
    wrong when the file cannot be imported at all."""
    if fmt is not None and fmt not in FORMAT_NAMES:
        raise IngestError(f"unknown format {fmt!r} (formats: {', '.join(FORMAT_NAMES)})")
    if not path.exists():
        raise IngestError(f"{path}: no such file")
    if not path.is_file():
        raise IngestError(f"{path}: not a regular file")
    if mapping and fmt not in (None, "csv"):
        raise IngestError(f"--map is for --format csv, not {fmt}")
    size = path.stat().st_size
    stream = _open_stream(path)
    try:
        names = [s for s in path.suffixes if s != ".gz"]
        if fmt == "jsonl" or (fmt is None and names and names[-1] in {".jsonl", ".ndjson"}):
            reader = LineReader(stream)
            jsonl = JsonlFormat(assume_tz=assume_tz)
            return OpenedSource(
                path,
                "jsonl",
                channel or DEFAULT_CHANNELS["jsonl"],
                size,
                reader,
                jsonl.records(reader),
                stream,
            )
        reader = LineReader(stream, protect_bare_cr=True, max_record_lines=MAX_RECORD_LINES)
        first = next(reader, None)
        reader.take_raw()
        if first is None or not first.strip():
            raise IngestError(f"{path}: empty file, no header line")
        header = Header.parse(first)
        tabular = _choose_tabular(path, header, fmt, mapping, assume_tz)
        return OpenedSource(
            path,
            tabular.name,
            channel or DEFAULT_CHANNELS[tabular.name],
            size,
            reader,
            tabular.records(reader, header),
            stream,
        )
    except BaseException:
        stream.close()
        raise


def _choose_tabular(
    path: Path, header: Header, fmt: str | None, mapping: str | None, assume_tz: timezone | None
) -> TabularFormat:
    found = describe_columns(header.data_columns)
    if fmt == "csv" or (fmt is None and mapping):
        mapped = MappedCsvFormat(parse_mapping(mapping), assume_tz=assume_tz)
        missing = mapped.missing_columns(header)
        if missing:
            raise IngestError(
                f"{path}: --format csv needs columns {describe_columns(missing)} "
                f"(from --map); the header has {found}"
            )
        return mapped
    if fmt is not None:
        chosen: TabularFormat = {
            "twcs": TwcsFormat,
            "airline": AirlineFormat,
            "reviews": ReviewsFormat,
        }[fmt]()
        missing = chosen.missing_columns(header)
        if missing:
            raise IngestError(
                f"{path}: header does not match format {fmt}: expected columns "
                f"{describe_columns(chosen.required)}; missing {describe_columns(missing)}; "
                f"the header has {found}"
            )
        return chosen
    for candidate in _DETECTABLE:
        instance = candidate()
        if not instance.missing_columns(header):
            return instance
    expected = "; ".join(_expected(f) for f in _DETECTABLE)
    raise IngestError(
        f"{path}: header matches no format. The header has {found}. Expected one of: "
        f"{expected}; or use --format csv --map text=COLUMN,author=COLUMN,created_at=COLUMN"
    )
