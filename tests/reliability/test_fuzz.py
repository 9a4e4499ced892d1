"""A bounded fuzz run over the parsers (hypothesis-driven; `make fuzz` runs
it longer): no input makes them raise anything but their own documented
errors, and the records they yield survive the trip through a task message."""

from __future__ import annotations

import contextlib
import io
import json
import os
from datetime import timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rapport.conversations.importers.jsonl import JsonlFormat
from rapport.conversations.importers.records import ParsedMessage, Rejected
from rapport.conversations.importers.source import LineReader
from rapport.conversations.importers.tabular import Header
from rapport.conversations.importers.timestamps import (
    TimestampError,
    parse_any,
    parse_twitter,
    parse_zone,
)
from rapport.conversations.importers.twcs import TwcsFormat
from rapport.workers.wire import records_from_wire, records_to_wire

FUZZ = settings(
    max_examples=int(os.environ.get("RAPPORT_FUZZ_EXAMPLES", "300")),
    deadline=None,
    derandomize=os.environ.get("RAPPORT_PROPERTY_RANDOM") is None,
)
TWCS_HEADER = (
    b"tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
)


@FUZZ
@given(st.text(max_size=60))
def test_timestamp_parsers_raise_only_timestamp_errors(value: str) -> None:
    for parse in (parse_any, parse_twitter):
        try:
            parsed = parse(value)
        except TimestampError:
            continue
        assert parsed.utcoffset() is not None and parsed.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    with contextlib.suppress(TimestampError):
        assert isinstance(parse_zone(value), timezone)


def _records(data: bytes, jsonl: bool) -> list[ParsedMessage | Rejected]:
    reader = LineReader(io.BytesIO(data), protect_bare_cr=not jsonl)
    if jsonl:
        return list(JsonlFormat().records(reader))
    first = next(reader, None)
    reader.take_raw()
    if first is None:
        return []
    return list(TwcsFormat().records(reader, Header.parse(first)))


@FUZZ
@given(st.binary(max_size=400), st.booleans())
def test_record_readers_survive_any_bytes_and_records_survive_the_wire(
    body: bytes, jsonl: bool
) -> None:
    records = _records(body if jsonl else TWCS_HEADER + body, jsonl)
    for r in records:
        assert isinstance(r, ParsedMessage | Rejected)
        if isinstance(r, Rejected):
            assert r.reason
    wire = json.loads(json.dumps(records_to_wire(records)))  # what the broker carries
    assert records_from_wire(wire) == records


@FUZZ
@given(st.text(st.characters(exclude_characters="\r\n"), max_size=200))
def test_header_parsing_never_raises(line: str) -> None:
    # What LineReader hands over: one line, bare CRs already protected.
    header = Header.parse(line + "\n")
    assert header.delimiter in {",", "\t"}
    assert all(isinstance(p, int) for p in header.positions.values())


@pytest.mark.parametrize("name", ["demo"])
def test_demo_file_records_survive_the_wire(name: str) -> None:
    from rapport.demo import demo_path

    records = _records(demo_path().read_bytes(), jsonl=False)
    assert len(records) == 5000
    assert records_from_wire(json.loads(json.dumps(records_to_wire(records)))) == records
