"""Listening queries on the airline slice: tagged when added and as messages
arrive, refused with the error's position when invalid; share of voice."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from sqlalchemy import select

from rapport.conversations.models import Message
from rapport.conversations.service import do_ingest_files
from rapport.reports.models import ListeningMatch, ListeningQuery
from rapport.storage.engine import session_scope
from tests.reports.conftest import AIRLINE, AIRLINE_QUERIES
from tests.reports.test_trends import bucket_rows


def _texts() -> dict[str, str]:
    out: dict[str, str] = {}
    with AIRLINE.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            out.setdefault(row["tweet_id"], row["text"])
    return out


def _matched(name: str) -> set[str]:
    with session_scope() as session:
        return set(
            session.execute(
                select(Message.external_id)
                .join(ListeningMatch, ListeningMatch.message_id == Message.id)
                .join(ListeningQuery, ListeningQuery.id == ListeningMatch.query_id)
                .where(ListeningQuery.name == name)
            ).scalars()
        )


def test_an_added_query_tags_every_stored_message_it_matches(airline, cli) -> None:
    result = cli("listen", "add", "refunds", '"refund" AND (flight OR trip) NOT spam', "--json")
    assert result.exit_code == 0, result.stderr
    word = {
        w: re.compile(rf"(?<![a-z0-9]){w}(?![a-z0-9])", re.IGNORECASE)
        for w in ("refund", "flight", "trip", "spam")
    }
    expected = {
        tid
        for tid, text in _texts().items()
        if word["refund"].search(text)
        and (word["flight"].search(text) or word["trip"].search(text))
        and not word["spam"].search(text)
    }
    assert result.json()["matches"] == len(expected) > 5
    assert _matched("refunds") == expected
    listed = cli("listen", "list", "--json").json()["queries"]
    assert {q["name"] for q in listed} == {n for n, *_ in AIRLINE_QUERIES} | {"refunds"}


def test_messages_arriving_later_are_tagged_and_counted(airline, cli, tmp_path: Path) -> None:
    late = tmp_path / "late.csv"
    with AIRLINE.open(encoding="utf-8", newline="") as fh:
        header = fh.readline()
    late.write_text(
        header + "999000000000000001,negative,1.0,Late Flight,1.0,United,,someone,,0,"
        '"@united my refund for the cancelled flight never came",,2015-02-25 08:00:00 -0800,,\n',
        encoding="utf-8",
    )
    before = cli("listen", "run", "united", "--json").json()["matches"]
    do_ingest_files([late], fmt="airline")
    run = cli("listen", "run", "united", "--json", "--limit", "3").json()
    assert run["matches"] == before + 1
    newest = run["examples"][0]
    assert newest["text"].startswith("@united my refund")
    assert newest["terms"] == ["@united", "united"]  # both terms of the query are in it
    assert "999000000000000001" in _matched("united")
    with session_scope() as session:
        kept = bucket_rows(session)
    from rapport.reports.service import do_rebuild_buckets

    with session_scope(write=True) as session:
        do_rebuild_buckets(session)
    with session_scope() as session:
        assert bucket_rows(session) == kept


def test_an_invalid_query_is_refused_with_the_position(airline, cli) -> None:
    result = cli("listen", "add", "broken", "refund AND (flight OR")
    assert result.exit_code == 1
    assert "invalid query: expected a term after OR at 22" in result.stderr
    result = cli("listen", "add", "quote", '"lost bag')
    assert result.exit_code == 1 and "unclosed quote at 1" in result.stderr
    assert cli("listen", "add", "bad name!", "refund").exit_code == 1
    assert cli("listen", "add", "united", "united").exit_code == 1  # exists
    assert cli("listen", "run", "missing").exit_code == 1


def test_share_of_voice_splits_each_bucket_between_the_airlines(airline, cli) -> None:
    doc = cli("insights", "share-of-voice", "--json").json()
    assert {s["query"] for s in doc["series"]} == {n for n, *_ in AIRLINE_QUERIES}
    for i in range(len(doc["buckets"])):
        shares = [s["share"][i] for s in doc["series"] if s["share"][i] is not None]
        if shares:
            assert abs(sum(shares) - 1) < 1e-3
    total = sum(s["total"] for s in doc["series"])
    assert abs(sum(s["total_share"] for s in doc["series"]) - 1) < 1e-3
    united = next(s for s in doc["series"] if s["query"] == "united")
    assert united["kind"] == "brand" and united["total"] == len(_matched("united"))
    assert total >= len(_matched("american"))
    empty = cli("insights", "share-of-voice", "--since", "2030-01-01", "--json").json()
    assert empty["series"] == [] or all(s["total"] == 0 for s in empty["series"])


def test_removing_a_query_removes_its_tags_and_buckets(airline, cli) -> None:
    assert cli("listen", "remove", "virgin").exit_code == 0
    assert _matched("virgin") == set()
    assert cli("insights", "trends", "--query", "virgin").exit_code == 1
    # @virginamerica is no longer a brand handle: its messages count under no brand.
    doc = cli("insights", "trends", "--brand", "virginamerica", "--json").json()
    assert doc["total_messages"] == 0


def test_csv_export_writes_every_table(airline, cli, tmp_path: Path) -> None:
    out = tmp_path / "run.csv"
    assert cli("listen", "run", "jetblue", "--csv", str(out)).exit_code == 0
    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert rows[0][:3] == ["message_id", "created_at", "channel"] and len(rows) > 10
    trend = tmp_path / "run-buckets.csv"
    assert trend.exists() and sum(int(r[1]) for r in list(csv.reader(trend.open()))[1:]) == len(
        _matched("jetblue")
    )
