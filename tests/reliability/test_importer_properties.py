"""Property tests over every importer and the webhook parser: whatever the
bytes, the columns or their order, an import never crashes, and every row
is either stored or quarantined — the database changes by exactly the
counts the import reports, and those add up to the rows in the file."""

from __future__ import annotations

import csv
import io
import itertools
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from rapport.conversations.errors import IngestError
from rapport.conversations.importers.jsonl import parse_object
from rapport.conversations.importers.records import ParsedMessage, Rejected
from rapport.conversations.importers.registry import open_source
from rapport.conversations.importers.tabular import RowError
from rapport.conversations.models import Message, QuarantinedRow
from rapport.conversations.service import do_ingest_files
from rapport.storage.engine import session_scope
from tests.conftest import Database

pytestmark = pytest.mark.slow

#: Examples per property; `make fuzz` raises it for a longer run.
EXAMPLES = int(os.environ.get("RAPPORT_PROPERTY_EXAMPLES", "25"))
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=os.environ.get("RAPPORT_PROPERTY_RANDOM") is None,
)

_counter = itertools.count()

# Text with what real exports hold: quotes, separators, line breaks, bare
# CRs, NUL, emoji, right-to-left marks; no surrogates (a file holds bytes).
nasty_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(list(",;\"'\t\r\n\x00@#\\ \u200f\ufeff\ue000")),
        st.characters(exclude_categories=("Cs",)),
    ),
    max_size=40,
)

TWITTER_DATE = st.sampled_from(
    ["Tue Oct 31 22:10:47 +0000 2017", "Wed Nov 01 03:00:00 +0530 2017", "bad date", ""]
)
ID = st.one_of(
    st.integers(1, 10**6).map(str), st.integers(1, 99).map(lambda i: f"{i}.0"), nasty_text
)

COLUMN_VALUES: dict[str, st.SearchStrategy[str]] = {
    "tweet_id": ID,
    "author_id": st.one_of(st.sampled_from(["ada", "AmazonHelp", "115712"]), nasty_text),
    "inbound": st.sampled_from(["True", "False", "true", "0", "maybe", ""]),
    "created_at": TWITTER_DATE,
    "text": nasty_text,
    "response_tweet_id": st.one_of(st.just(""), ID, st.lists(ID, max_size=3).map(",".join)),
    "in_response_to_tweet_id": st.one_of(st.just(""), ID),
    "airline_sentiment": st.sampled_from(["negative", "neutral", "positive", ""]),
    "airline": st.sampled_from(["United", "Delta", ""]),
    "name": st.one_of(st.sampled_from(["jnardino", "ada"]), nasty_text),
    "tweet_created": st.sampled_from(
        ["2015-02-24 11:35:52 -0800", "2015-02-24 11:35:52", "yesterday"]
    ),
    "retweet_count": st.sampled_from(["0", "3", "-1", "x"]),
    "rating": st.sampled_from(["1", "5", "0", "6", "x", ""]),
    "date": st.sampled_from(["31-Jul-18", "2018-07-31", "07/31/2018", "nope", ""]),
    "variation": nasty_text,
    "verified_reviews": nasty_text,
    "feedback": st.sampled_from(["0", "1", ""]),
    "body": nasty_text,
    "user": st.one_of(st.sampled_from(["ada", "bob"]), nasty_text),
    "ts": st.sampled_from(
        [
            "2024-05-01T10:00:00Z",
            "2024-05-01 10:00:00",
            "1714557600",
            "Mon, 01 May 2024 10:00:00 +0000",
            "x",
        ]
    ),
    "extra": nasty_text,
}

FORMATS: dict[str, tuple[list[str], list[str], str | None]] = {
    # format: (required columns, optional columns, --map)
    "twcs": (
        [
            "tweet_id",
            "author_id",
            "inbound",
            "created_at",
            "text",
            "response_tweet_id",
            "in_response_to_tweet_id",
        ],
        ["extra"],
        None,
    ),
    "airline": (
        ["tweet_id", "airline_sentiment", "airline", "name", "text", "tweet_created"],
        ["retweet_count", "extra"],
        None,
    ),
    "reviews": (["rating", "date", "variation", "verified_reviews"], ["feedback"], None),
    "csv": (["body", "user", "ts"], ["extra", "tweet_id"], "text=body,author=user,created_at=ts"),
}


@st.composite
def tabular_file(draw: st.DrawFn, fmt: str) -> tuple[bytes, list[str], int]:
    """(file bytes, missing required columns, data rows written)."""
    required, optional, _ = FORMATS[fmt]
    missing = draw(st.lists(st.sampled_from(required), unique=True, max_size=2))
    if draw(st.integers(0, 3)):  # mostly complete headers
        missing = []
    columns = [c for c in required if c not in missing]
    columns += draw(st.lists(st.sampled_from(optional), unique=True))
    columns = draw(st.permutations(columns))
    delimiter = "\t" if fmt == "reviews" and draw(st.booleans()) else ","
    rows = draw(st.lists(st.tuples(*(COLUMN_VALUES[c] for c in columns)), min_size=0, max_size=12))
    out = io.StringIO()
    writer = csv.writer(
        out, delimiter=delimiter, lineterminator=draw(st.sampled_from(["\n", "\r\n"]))
    )
    writer.writerow(columns)
    # A row of one empty field is a blank line, which carries nothing.
    kept = [r for r in rows if not (len(r) == 1 and not r[0].strip())]
    writer.writerows(rows)
    data = out.getvalue().encode("utf-8")
    if draw(st.booleans()):  # plus a tail of arbitrary bytes
        data += draw(st.binary(max_size=60))
        return data, missing, -1
    return data, missing, len(kept)


def _count(model: type) -> int:
    with session_scope() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def _check_import(path: Path, fmt: str | None, mapping: str | None, rows: int) -> None:
    """Parse (every row yields one record) and store (the database moves by
    exactly the reported counts, which add up to what was read)."""
    opened = open_source(path, fmt, mapping=mapping)
    records = list(opened.records)
    opened.close()
    assert all(isinstance(r, ParsedMessage | Rejected) for r in records)
    if rows >= 0:
        assert len(records) == rows
    messages_before, quarantine_before = _count(Message), _count(QuarantinedRow)
    summary = do_ingest_files([path], fmt=fmt, mapping=mapping)
    assert summary.read == len(records)
    assert summary.inserted + summary.duplicates + summary.quarantined == summary.read
    assert _count(Message) - messages_before == summary.inserted
    assert _count(QuarantinedRow) - quarantine_before == summary.quarantined
    again = do_ingest_files([path], fmt=fmt, mapping=mapping)
    assert again.inserted == 0
    assert _count(Message) - messages_before == summary.inserted
    assert _count(QuarantinedRow) - quarantine_before == summary.quarantined


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_tabular_importers_store_or_quarantine_every_row(
    db: Database, tmp_path: Path, fmt: str
) -> None:
    @PROPERTY
    @given(tabular_file(fmt))
    def check(example: tuple[bytes, list[str], int]) -> None:
        data, missing, rows = example
        path = tmp_path / f"{fmt}-{next(_counter)}.csv"
        path.write_bytes(data)
        mapping = FORMATS[fmt][2]
        if missing:
            with pytest.raises(IngestError) as refused:
                open_source(path, fmt, mapping=mapping)
            assert any(column in str(refused.value) for column in missing)
            return
        _check_import(path, fmt, mapping, rows)

    check()


json_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
message_object = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(ID, json_value),
        "author": st.one_of(
            st.sampled_from(["ada", "bob"]),
            st.fixed_dictionaries({"handle": json_value, "name": json_value}),
            json_value,
        ),
        "created_at": st.one_of(COLUMN_VALUES["ts"], json_value),
        # st.text() here includes lone surrogates, as JSON escapes can.
        "text": st.one_of(st.text(max_size=30), json_value),
        "in_reply_to": st.one_of(ID, json_value),
        "direction": st.one_of(st.sampled_from(["inbound", "outbound", "sideways"]), json_value),
        "channel": st.one_of(st.sampled_from(["forum", "a:b", ""]), json_value),
        "extra": json_value,
    },
)


@PROPERTY
@given(st.one_of(message_object, json_value))
def test_webhook_parser_returns_a_storable_message_or_a_reason(obj: Any) -> None:
    try:
        message = parse_object(obj, line=1, raw="{}")
    except RowError as exc:
        assert exc.field and exc.reason
        return
    assert message.external_id and len(message.external_id) <= 255
    assert (
        message.created_at.tzinfo is not None
        and message.created_at.utcoffset().total_seconds() == 0
    )  # type: ignore[union-attr]
    assert message.unstorable() is None
    assert message.direction in {"inbound", "outbound"}


@st.composite
def jsonl_file(draw: st.DrawFn) -> tuple[bytes, int]:
    import json

    lines: list[bytes] = []
    for _ in range(draw(st.integers(0, 10))):
        kind = draw(st.integers(0, 3))
        if kind <= 1:
            obj = draw(message_object)
            lines.append(json.dumps(obj).encode())
        elif kind == 2:
            lines.append(draw(nasty_text).replace("\n", " ").encode("utf-8"))
        else:
            lines.append(draw(st.binary(max_size=30)).replace(b"\n", b" "))
    data = b"\n".join(lines) + (b"\n" if draw(st.booleans()) else b"")
    # Only the file's first line can open with a byte-order mark; U+FEFF
    # anywhere else is content (a line of it is quarantined, not skipped).
    expected = sum(
        1
        for i, line in enumerate(data.split(b"\n"))
        if (line.removeprefix(b"\xef\xbb\xbf") if i == 0 else line)
        .decode("utf-8", "surrogateescape")
        .strip()
    )
    return data, expected


def test_jsonl_importer_stores_or_quarantines_every_line(db: Database, tmp_path: Path) -> None:
    @PROPERTY
    @given(jsonl_file())
    def check(example: tuple[bytes, int]) -> None:
        data, expected = example
        path = tmp_path / f"lines-{next(_counter)}.jsonl"
        path.write_bytes(data)
        _check_import(path, "jsonl", None, expected)

    check()


def test_arbitrary_bytes_never_crash_an_import(db: Database, tmp_path: Path) -> None:
    @PROPERTY
    @given(st.binary(max_size=300), st.sampled_from([*sorted(FORMATS), "jsonl", None]))
    def check(data: bytes, fmt: str | None) -> None:
        path = tmp_path / f"bytes-{next(_counter)}.{'jsonl' if fmt == 'jsonl' else 'csv'}"
        path.write_bytes(data)
        mapping = FORMATS[fmt][2] if fmt in FORMATS else None
        try:
            open_source(path, fmt, mapping=mapping).close()
        except IngestError as exc:
            assert str(path) in str(exc)  # says which file and why
            return
        _check_import(path, fmt, mapping, -1)

    check()
