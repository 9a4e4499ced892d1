"""The other import formats: airline, reviews, JSON lines, mapped CSV."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from sqlalchemy import func, select

from rapport.conversations.models import Channel, Identity, Message
from rapport.storage.engine import session_scope
from tests.conftest import FIXTURES, Database


def _messages() -> dict[str, Message]:
    with session_scope() as s:
        return {m.external_id: m for m in s.execute(select(Message)).scalars()}


def test_airline_tweets_import_with_labels_in_meta(db: Database, cli) -> None:
    path = FIXTURES / "airline_sample.csv"
    result = cli("ingest", str(path), "--json")
    assert result.exit_code == 0, result.stderr
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    ids = {r["tweet_id"] for r in rows}
    doc = result.json()
    assert doc["read"] == len(rows)
    assert doc["inserted"] == len(ids) and doc["duplicates"] == len(rows) - len(ids)
    msgs = _messages()
    first = rows[0]
    stored = msgs[first["tweet_id"]]
    assert stored.direction == "inbound"
    assert stored.meta["airline"] == first["airline"]
    assert stored.meta["airline_sentiment"] == first["airline_sentiment"]
    assert stored.created_at.isoformat() == "2015-02-24T19:35:52+00:00"  # 11:35:52 -0800
    with session_scope() as s:
        assert s.execute(select(Channel.name)).scalars().all() == ["twitter"]


def test_airline_duplicate_ids_in_the_full_file_count_as_duplicates(
    db: Database, cli, shared_data: Path
) -> None:
    result = cli("ingest", str(shared_data / "sentiment" / "airline_tweets.csv"), "--json").json()
    assert result["read"] == 14640
    assert result["quarantined"] == 0
    assert result["inserted"] + result["duplicates"] == 14640
    assert result["duplicates"] == 155


def test_reviews_keep_ratings_and_rating_only_reviews(db: Database, cli) -> None:
    path = FIXTURES / "amazon_alexa_sample.tsv"
    result = cli("ingest", str(path), "--format", "reviews", "--channel", "alexa-reviews", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json() == {"read": 300, "inserted": 300, "duplicates": 0, "quarantined": 0}
    with session_scope() as s:
        rating_only = s.execute(
            select(func.count()).select_from(Message).where(Message.text == "")
        ).scalar_one()
        first = s.execute(select(Message).order_by(Message.id).limit(1)).scalar_one()
        channel = s.execute(select(Channel.name)).scalar_one()
    assert rating_only == 3  # rows 86, 184 and 220 of the file have no text
    assert first.meta["rating"] == 5 and first.text == "Love my Echo!"
    assert first.author_identity_id is None
    assert channel == "alexa-reviews"
    again = cli("ingest", str(path), "--format", "reviews", "--channel", "alexa-reviews", "--json")
    assert again.json()["inserted"] == 0


def test_reviews_detected_from_header(db: Database, cli) -> None:
    result = cli("ingest", str(FIXTURES / "amazon_alexa_sample.tsv"), "--json")
    assert result.json()["inserted"] == 300
    with session_scope() as s:
        assert s.execute(select(Channel.name)).scalar_one() == "reviews"


def test_jsonl_import_keeps_extra_keys_and_channel(db: Database, cli, tmp_path: Path) -> None:
    path = tmp_path / "msgs.jsonl"
    lines = [
        {
            "id": "a1",
            "channel": "forum",
            "author": {"handle": "Ada", "name": "Ada L."},
            "created_at": "2024-05-01T10:00:00+02:00",
            "text": "Where is my order?",
            "likes": 4,
        },
        {
            "id": "a2",
            "channel": "forum",
            "author": "acme",
            "direction": "outbound",
            "created_at": "2024-05-01T09:00:00Z",
            "text": "@ada on its way",
            "in_reply_to": "a1",
        },
    ]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n\n")
    result = cli("ingest", str(path), "--json")
    assert result.json() == {"read": 2, "inserted": 2, "duplicates": 0, "quarantined": 0}
    msgs = _messages()
    assert msgs["a1"].meta == {"likes": 4}
    assert msgs["a1"].created_at.isoformat() == "2024-05-01T08:00:00+00:00"
    assert msgs["a1"].thread_id == msgs["a2"].thread_id
    with session_scope() as s:
        ada = s.execute(select(Identity).where(Identity.handle_key == "ada")).scalar_one()
    assert ada.display_name == "Ada L."


def test_jsonl_bad_lines_are_quarantined(db: Database, cli, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"id": "1", "author": "a", "created_at": "2024-01-01T00:00:00Z", "text": "ok"}\n'
        "{not json\n"
        '{"id": "2", "author": "a", "created_at": "2024-01-01 00:00:00", "text": "naive"}\n'
        '{"id": "3", "author": "a", "created_at": "2024-01-01T00:00:00Z"}\n'
        "[1, 2]\n"
    )
    result = cli("ingest", str(path), "--json")
    assert result.exit_code == 0
    assert result.json() == {"read": 5, "inserted": 1, "duplicates": 0, "quarantined": 4}
    items = {i["line"]: i["reason"] for i in cli("quarantine", "list", "--json").json()["items"]}
    assert "invalid JSON" in items[2]
    assert "no UTC offset" in items[3]
    assert "missing text" in items[4]
    assert "expected a JSON object" in items[5]
    # --assume-tz accepts the naive timestamp
    fixed = cli("ingest", str(path), "--assume-tz", "UTC", "--json").json()
    assert fixed["inserted"] == 1


def test_mapped_csv_with_column_mapping(db: Database, cli, tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "msg,user,body,ts,topic\n"
        "m1,zoe,My card was charged twice,2024-03-01T12:00:00Z,billing\n"
        "m2,zoe,Still waiting,2024-03-01T13:00:00Z,billing\n"
    )
    result = cli(
        "ingest",
        str(path),
        "--format",
        "csv",
        "--channel",
        "sms",
        "--map",
        "id=msg,text=body,author=user,created_at=ts",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    assert result.json()["inserted"] == 2
    msgs = _messages()
    assert msgs["m1"].text == "My card was charged twice"
    assert msgs["m1"].meta == {"topic": "billing"}
    missing = cli("ingest", str(path), "--format", "csv", "--map", "text=content")
    assert missing.exit_code == 1 and "content" in missing.stderr
    bad_map = cli("ingest", str(path), "--format", "csv", "--map", "colour=body")
    assert bad_map.exit_code == 1 and "unknown field 'colour'" in bad_map.stderr


def test_mapped_csv_without_ids_is_still_idempotent(db: Database, cli, tmp_path: Path) -> None:
    path = tmp_path / "noid.csv"
    path.write_text(
        "user,body,ts\nann,hello,2024-03-01T12:00:00Z\nann,hello,2024-03-01T12:00:00Z\n"
    )
    args = ("ingest", str(path), "--format", "csv", "--map", "text=body,author=user,created_at=ts")
    assert cli(*args, "--json").json()["inserted"] == 2  # two identical rows, both kept
    assert cli(*args, "--json").json()["inserted"] == 0
