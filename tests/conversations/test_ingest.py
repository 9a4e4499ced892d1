"""Importing history: idempotent, out-of-order safe, nothing lost."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest
from sqlalchemy import func, select

from rapport.conversations.models import (
    Account,
    Channel,
    Identity,
    Message,
    PendingReference,
    QuarantinedRow,
    Thread,
)
from rapport.demo import demo_path
from rapport.relationships.models import PersonIdentity
from rapport.storage.engine import session_scope
from tests.conftest import FIXTURES, Database


def _count(model: type) -> int:
    with session_scope() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def _thread_partition() -> set[frozenset[str]]:
    """Threads as sets of external ids: comparable across databases."""
    groups: dict[int, set[str]] = {}
    with session_scope() as s:
        for ext, thread_id in s.execute(select(Message.external_id, Message.thread_id)):
            groups.setdefault(thread_id, set()).add(ext)
    return {frozenset(g) for g in groups.values()}


def _demo_rows() -> tuple[list[str], list[list[str]]]:
    with demo_path().open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        return header, list(reader)


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_twcs_demo_imports_every_row(db: Database, cli) -> None:
    result = cli("ingest", str(demo_path()), "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json() == {"read": 5000, "inserted": 5000, "duplicates": 0, "quarantined": 0}
    assert _count(Message) == 5000
    with session_scope() as s:
        assert s.execute(select(Channel.name)).scalars().all() == ["twitter"]


def test_reimport_inserts_nothing(db: Database, cli) -> None:
    cli("ingest", str(demo_path()), "--json")
    before = (_count(Message), _count(Thread), _count(Identity), _thread_partition())
    again = cli("ingest", str(demo_path()), "--json")
    assert again.exit_code == 0
    assert again.json() == {"read": 5000, "inserted": 0, "duplicates": 5000, "quarantined": 0}
    assert (_count(Message), _count(Thread), _count(Identity), _thread_partition()) == before


def test_messy_pandas_dump_reads_all_5000_tweets(db: Database, cli) -> None:
    result = cli("ingest", str(FIXTURES / "twcs_head_5k_raw_pandas_dump.csv"), "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["inserted"] == 5000
    assert result.json()["quarantined"] == 0
    with session_scope() as s:
        text = s.execute(select(Message.text).where(Message.external_id == "3399")).scalar_one()
        parent = s.execute(
            select(Message.parent_external_id).where(Message.external_id == "2")
        ).scalar_one()
    assert text.startswith("@AskPayPal \r\rI just love the start of email")
    assert parent == "1"  # the float id `1.0` repaired


def test_messy_dump_equals_clean_file(db: Database, cli) -> None:
    cli("ingest", str(FIXTURES / "twcs_head_5k_raw_pandas_dump.csv"))
    messy = _thread_partition()
    with session_scope() as s:
        messy_texts = dict(s.execute(select(Message.external_id, Message.text)).all())
    again = cli("ingest", str(demo_path()), "--json")
    assert again.json()["inserted"] == 0  # the clean file holds exactly the same tweets
    assert _thread_partition() == messy
    _, rows = _demo_rows()
    assert messy_texts == {r[0]: r[4] for r in rows}


def test_overlapping_files_store_each_message_once(db: Database, cli, tmp_path: Path) -> None:
    header, rows = _demo_rows()
    first = _write_csv(tmp_path / "a.csv", header, rows[:3000])
    second = _write_csv(tmp_path / "b.csv", header, rows[2000:])
    one = cli("ingest", str(first), "--json").json()
    two = cli("ingest", str(second), "--json").json()
    assert one["inserted"] == 3000
    assert two == {"read": 3000, "inserted": 2000, "duplicates": 1000, "quarantined": 0}
    assert _count(Message) == 5000


def test_shuffled_split_import_threads_like_one_import(db: Database, cli, tmp_path: Path) -> None:
    header, rows = _demo_rows()
    cli("ingest", str(demo_path()))
    expected = _thread_partition()
    expected_threads = _count(Thread)
    with session_scope(write=True) as s:  # start again from an empty store
        for model in (PendingReference, Message, Thread, PersonIdentity):
            s.execute(model.__table__.delete())
    shuffled = rows[:]
    random.Random(3).shuffle(shuffled)
    parts = [shuffled[i::3] for i in range(3)]
    for i, part in enumerate(parts):
        path = _write_csv(tmp_path / f"part{i}.csv", header, part)
        assert cli("ingest", str(path), "--batch-size", "700", "--json").exit_code == 0
    assert _thread_partition() == expected
    assert _count(Thread) == expected_threads
    with session_scope() as s:
        counts = dict(
            s.execute(select(Message.thread_id, func.count()).group_by(Message.thread_id)).all()
        )
        stored = dict(s.execute(select(Thread.id, Thread.message_count)).all())
    assert counts == stored


def test_reply_before_parent_merges_threads(db: Database, cli, tmp_path: Path) -> None:
    def line(i: str, parent: str | None, minute: int) -> str:
        return json.dumps(
            {
                "id": i,
                "author": "ada" if int(i) % 2 else "AcmeHelp",
                "direction": "inbound" if int(i) % 2 else "outbound",
                "created_at": f"2024-05-01T10:{minute:02d}:00Z",
                "text": f"message {i}",
                "in_reply_to": parent,
                "channel": "forum",
            }
        )

    late = tmp_path / "late.jsonl"
    late.write_text(line("3", "2", 3) + "\n" + line("5", "4", 5) + "\n")
    early = tmp_path / "early.jsonl"
    early.write_text(
        line("1", None, 1) + "\n" + line("2", "1", 2) + "\n" + line("4", "3", 4) + "\n"
    )
    assert cli("ingest", str(late), "--json").json()["inserted"] == 2
    assert _count(Thread) == 2  # 3 and 5 wait for parents nobody has seen yet
    assert cli("ingest", str(early), "--json").json()["inserted"] == 3
    assert _thread_partition() == {frozenset({"1", "2", "3", "4", "5"})}
    assert _count(Thread) == 1
    assert _count(PendingReference) == 0
    with session_scope() as s:
        assert s.execute(select(Thread.message_count)).scalar_one() == 5


def test_bad_rows_are_quarantined_with_line_and_reason(db: Database, cli, tmp_path: Path) -> None:
    header = (
        "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
    )
    good = "10,ann,True,Tue Oct 31 22:10:47 +0000 2017,@AcmeHelp hello,,\n"
    lines = [
        header.encode(),
        good.encode(),
        b",bob,True,Tue Oct 31 22:10:47 +0000 2017,no id,,\n",  # line 3
        b"12,cy,True,Tue Oct 99 22:10:47 +0000 2017,bad date,,\n",  # line 4
        b"13,dee,maybe,Tue Oct 31 22:10:47 +0000 2017,bad bool,,\n",  # line 5
        b"14,eve,True,Tue Oct 31 22:10:47 +0000 2017,too,many,columns,\n",  # line 6
        b"15,fay,True,Tue Oct 31 22:10:47 +0000 2017,caf\xe9 latin-1,,\n",  # line 7
        b"16,gus,False,Tue Oct 31 22:11:47 +0000 2017,@ann hi,,10\n",
    ]
    path = tmp_path / "bad.csv"
    path.write_bytes(b"".join(lines))
    result = cli("ingest", str(path), "--json")
    assert result.exit_code == 0
    assert result.json() == {"read": 7, "inserted": 2, "duplicates": 0, "quarantined": 5}
    assert "5 row(s) quarantined" in result.stderr
    listing = cli("quarantine", "list", "--json").json()
    assert listing["total"] == 5
    by_line = {item["line"]: item for item in listing["items"]}
    assert set(by_line) == {3, 4, 5, 6, 7}
    assert "missing tweet_id" in by_line[3]["reason"]
    assert "created_at" in by_line[4]["reason"] and "bad date" in by_line[4]["reason"]
    assert "bad boolean 'maybe'" in by_line[5]["reason"]
    assert "expected 7" in by_line[6]["reason"] and "found 8" in by_line[6]["reason"]
    assert "not UTF-8" in by_line[7]["reason"]
    assert by_line[7]["raw"].startswith("15,fay") and "\\xe9" in by_line[7]["raw"]
    assert all(item["source"] == str(path) for item in listing["items"])
    with session_scope() as s:
        kept = s.execute(select(QuarantinedRow.raw_bytes).where(QuarantinedRow.line == 7))
        assert kept.scalar_one() == lines[6]
    # Importing again stores nothing new and keeps each bad row once.
    again = cli("ingest", str(path), "--json").json()
    assert again == {"read": 7, "inserted": 0, "duplicates": 2, "quarantined": 5}
    assert cli("quarantine", "list", "--json").json()["total"] == 5


def test_missing_file_is_refused_with_exit_1(db: Database, cli, tmp_path: Path) -> None:
    result = cli("ingest", str(tmp_path / "nope.csv"), "--json")
    assert result.exit_code == 1
    assert "nope.csv: no such file" in result.stderr
    assert result.stdout == ""


def test_unknown_header_names_expected_columns(db: Database, cli, tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("when,who,what\n2020-01-01,ann,hi\n")
    result = cli("ingest", str(path))
    assert result.exit_code == 1
    assert "matches no format" in result.stderr
    assert "tweet_id" in result.stderr and "when, who, what" in result.stderr
    forced = cli("ingest", str(path), "--format", "twcs")
    assert forced.exit_code == 1
    assert "missing" in forced.stderr and "in_response_to_tweet_id" in forced.stderr


def test_empty_file_and_unknown_format_refused(db: Database, cli, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert cli("ingest", str(empty)).exit_code == 1
    assert cli("ingest", str(empty), "--format", "xml").exit_code == 1


def test_one_bad_path_refuses_before_anything_is_written(db: Database, cli, tmp_path: Path) -> None:
    result = cli("ingest", str(demo_path()), str(tmp_path / "missing.csv"))
    assert result.exit_code == 1
    assert _count(Message) == 0


def test_raw_payload_is_kept_verbatim(db: Database, cli) -> None:
    cli("ingest", str(demo_path()))
    with demo_path().open("rb") as fh:
        fh.readline()
        first_record = fh.readline().decode()
    with session_scope() as s:
        raw = s.execute(select(Message.raw).where(Message.external_id == "1")).scalar_one()
    assert raw == first_record


def test_created_at_is_utc_aware(db: Database, cli) -> None:
    cli("ingest", str(demo_path()))
    with session_scope() as s:
        created = s.execute(
            select(Message.created_at).where(Message.external_id == "1")
        ).scalar_one()
    assert created.tzinfo is not None and created.utcoffset().total_seconds() == 0
    assert created.isoformat() == "2017-10-31T22:10:47+00:00"


def test_outbound_authors_become_accounts_not_people(db: Database, cli) -> None:
    cli("ingest", str(demo_path()))
    with session_scope() as s:
        accounts = set(
            s.execute(
                select(Identity.handle).join(Account, Account.identity_id == Identity.id)
            ).scalars()
        )
        people_handles = set(
            s.execute(
                select(Identity.handle).join(
                    PersonIdentity, PersonIdentity.identity_id == Identity.id
                )
            ).scalars()
        )
    _, rows = _demo_rows()
    assert accounts == {r[1] for r in rows if r[2] == "False"}
    assert len(accounts) == 76
    assert people_handles == {r[1] for r in rows if r[2] == "True"}
    assert not accounts & people_handles


def test_a_long_import_refreshes_postgresql_planner_statistics_as_it_grows(
    db: Database, cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not db.is_postgresql:
        pytest.skip("SQLite plans without collected statistics")
    import time

    from sqlalchemy import text

    from rapport.bench.datagen import write_twcs_like
    from rapport.conversations import service
    from rapport.settings import reset_settings_cache

    monkeypatch.setenv("RAPPORT_INGEST_ANALYZE_MIN_ROWS", "1000")
    reset_settings_cache()
    monkeypatch.setattr(service, "_statistics", service._PlannerStatistics())
    path = tmp_path / "grow.csv"
    write_twcs_like(path, 7000, seed=3, brands=4)
    try:
        assert cli("ingest", str(path), "--batch-size", "1000").exit_code == 0
    finally:
        monkeypatch.delenv("RAPPORT_INGEST_ANALYZE_MIN_ROWS")
        reset_settings_cache()

    def analyses() -> int:
        with session_scope() as s:
            return int(
                s.execute(
                    text("SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'message'")
                ).scalar_one()
            )

    # ANALYZE after 1,000, 2,000 and 4,000 stored rows, then the final
    # VACUUM (ANALYZE): 4 (the statistics view may lag a moment).
    deadline = time.monotonic() + 10
    while analyses() < 4 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert analyses() == 4


def _quarantined() -> list[tuple[int | None, str]]:
    from rapport.conversations.models import QuarantinedRow

    with session_scope() as s:
        return [
            (line, reason)
            for line, reason in s.execute(
                select(QuarantinedRow.line, QuarantinedRow.reason).order_by(QuarantinedRow.line)
            )
        ]


def test_a_stray_quote_costs_its_own_line_not_the_rows_after_it(
    db: Database, cli, tmp_path: Path
) -> None:
    lines = demo_path().read_bytes().split(b"\n")
    # Row 3 (line 4) gets a stray quote before its unquoted text: the csv
    # module reads on to the next quote, swallowing lines 5 and 6.
    assert b',"' not in lines[3]
    lines[3] = lines[3].replace(b",@", b',"@', 1)
    path = tmp_path / "stray.csv"
    path.write_bytes(b"\n".join(lines))
    summary = cli("ingest", str(path), "--json").json()
    assert summary == {"read": 5000, "inserted": 4999, "duplicates": 0, "quarantined": 1}
    ((line, reason),) = _quarantined()
    assert line == 4 and "unbalanced quote" in reason
    with session_scope() as s:
        stored = set(s.execute(select(Message.external_id)).scalars())
    with demo_path().open(newline="", encoding="utf-8") as fh:
        ids = [r["tweet_id"] for r in csv.DictReader(fh)]
    assert stored == set(ids) - {ids[2]}


def test_an_unclosed_quote_does_not_swallow_the_rest_of_the_file(
    db: Database, cli, tmp_path: Path
) -> None:
    from rapport.conversations.importers.source import MAX_RECORD_LINES

    header = "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id"
    when = "Tue Oct 31 22:10:47 +0000 2017"
    rows = [f'1,ada,True,{when},"never closed,,']
    rows += [f"{i},bob,True,{when},plain text {i},," for i in range(2, MAX_RECORD_LINES + 502)]
    path = tmp_path / "unclosed.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    summary = cli("ingest", str(path), "--json").json()
    assert summary == {
        "read": MAX_RECORD_LINES + 501,
        "inserted": MAX_RECORD_LINES + 500,
        "duplicates": 0,
        "quarantined": 1,
    }
    ((line, reason),) = _quarantined()
    assert line == 2 and f"past {MAX_RECORD_LINES} lines" in reason
