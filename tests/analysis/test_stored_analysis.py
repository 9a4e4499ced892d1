"""Stored messages carry their analysis: written on ingest in the same
transaction, read through `analyses_for`, re-run by `rapport reanalyze`."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import func, select, update

from rapport.analysis.models import MessageAnalysis as Row
from rapport.analysis.queries import MessageAnalysis, analyses_for
from rapport.analysis.service import current_version
from rapport.conversations.models import Message
from rapport.demo import demo_path
from rapport.storage.engine import session_scope
from tests.conftest import Database


def _slice(tmp_path: Path, n: int = 400) -> Path:
    """The first ``n`` demo rows (real TWCS tweets, with their reply links)."""
    out = tmp_path / "twcs_slice.csv"
    with (
        demo_path().open(newline="", encoding="utf-8") as src,
        out.open("w", newline="", encoding="utf-8") as dst,
    ):
        reader = csv.reader(src)
        writer = csv.writer(dst)
        writer.writerow(next(reader))
        for i, row in enumerate(reader):
            if i >= n:
                break
            writer.writerow(row)
    return out


def _count(model: type) -> int:
    with session_scope() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def test_every_ingested_message_is_analysed_once(db: Database, cli, tmp_path: Path) -> None:
    path = _slice(tmp_path)
    first = cli("ingest", str(path), "--json")
    assert first.exit_code == 0, first.stderr
    assert _count(Message) == 400
    assert _count(Row) == 400
    again = cli("ingest", str(path), "--json")
    assert again.json()["inserted"] == 0
    assert _count(Row) == 400  # re-import analyses nothing twice
    with session_scope() as s:
        ids = list(s.execute(select(Message.id).order_by(Message.id)).scalars())
        rows = list(s.execute(select(Row)).scalars())
        got = analyses_for(s, ids)
    assert set(got) == set(ids)
    assert all(r.model_version == current_version("fast") for r in rows)
    assert {r.tier for r in rows} == {"fast"}
    one = got[ids[0]]
    assert isinstance(one, MessageAnalysis)
    assert one.sentiment in ("negative", "neutral", "positive")
    assert -1 <= one.sentiment_score <= 1 and 0 <= one.urgency <= 1
    assert one.intent in ("question", "request", "complaint", "praise", "feedback", "chatter")
    assert one.language and one.evidence["sentiment"]


def test_analysis_uses_the_stored_context(db: Database, cli, tmp_path: Path) -> None:
    src = tmp_path / "thread.jsonl"
    lines = [
        '{"id": "1", "channel": "twitter", "author": "cust", "created_at": "2024-01-01T10:00:00Z",'
        ' "text": "@ShopHelp my order never arrived"}',
        '{"id": "2", "channel": "twitter", "author": "cust", "created_at": "2024-01-01T14:00:00Z",'
        ' "text": "@ShopHelp still nothing, where is my order?", "in_reply_to": "1"}',
        '{"id": "3", "channel": "twitter", "author": "cust", "created_at": "2024-01-01T20:00:00Z",'
        ' "text": "@ShopHelp third time asking, refund me now", "in_reply_to": "2",'
        ' "retweet_count": 120}',
    ]
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = cli("ingest", str(src), "--format", "jsonl", "--json")
    assert result.exit_code == 0, result.stderr
    with session_scope() as s:
        by_ext = {ext: mid for ext, mid in s.execute(select(Message.external_id, Message.id))}
        got = analyses_for(s, list(by_ext.values()))
    third = got[by_ext["3"]]
    first = got[by_ext["1"]]
    reasons = " ".join(third.evidence["urgency"])
    assert "repeated: 2 earlier message(s)" in reasons
    assert "waiting 10.0 h" in reasons
    assert "120 retweets" in reasons
    assert third.urgency > first.urgency


def test_reanalyze_runs_only_outdated_rows_unless_all(db: Database, cli, tmp_path: Path) -> None:
    cli("ingest", str(_slice(tmp_path, 120)))
    with session_scope(write=True) as s:
        ids = list(s.execute(select(Message.id).order_by(Message.id).limit(7)).scalars())
        s.execute(
            update(Row)
            .where(Row.message_id.in_(ids))
            .values(model_version="fast:old", sentiment="x")
        )
        s.execute(Row.__table__.delete().where(Row.message_id == ids[-1]))
    result = cli("reanalyze", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json() == {
        "examined": 120,
        "reanalyzed": 7,
        "up_to_date": 113,
        "tier": "fast",
        "model_version": current_version("fast"),
    }
    with session_scope() as s:
        rows = {r.message_id: r for r in s.execute(select(Row)).scalars()}
    assert len(rows) == 120
    assert all(rows[i].model_version == current_version("fast") for i in ids)
    assert all(rows[i].sentiment != "x" for i in ids)
    again = cli("reanalyze", "--json")
    assert again.json()["reanalyzed"] == 0
    everything = cli("reanalyze", "--all", "--batch-size", "50", "--json")
    assert everything.json()["reanalyzed"] == 120


def test_deleting_a_message_deletes_its_analysis(db: Database, cli, tmp_path: Path) -> None:
    cli("ingest", str(_slice(tmp_path, 20)))
    with session_scope(write=True) as s:
        mid = s.execute(select(Message.id).limit(1)).scalar_one()
        s.execute(Message.__table__.delete().where(Message.id == mid))
    with session_scope() as s:
        assert analyses_for(s, [mid]) == {}
    assert _count(Row) == 19


def _stored_analysis(url: str | None = None) -> dict[str, tuple[object, ...]]:
    with session_scope(url=url) as s:
        return {
            ext: (r.sentiment, r.intent, r.urgency, r.topics, r.evidence, r.model_version)
            for ext, r in s.execute(
                select(Message.external_id, Row).join(Row, Row.message_id == Message.id)
            )
        }


def test_stored_analysis_does_not_depend_on_arrival_order_or_batches(
    db: Database, _template: str, cli, tmp_path: Path
) -> None:
    from rapport.bench.datagen import write_twcs_like
    from tests.workers.harness import rapport, twin_database

    ordered = tmp_path / "ordered.csv"
    write_twcs_like(ordered, 1500, seed=9, brands=4)
    lines = ordered.read_text(encoding="utf-8").splitlines(keepends=True)
    backwards = tmp_path / "backwards.csv"
    backwards.write_text(lines[0] + "".join(reversed(lines[1:])), encoding="utf-8")
    # Replies before their parents, a customer's later messages before the
    # earlier ones, batches cutting threads: each message's repetition,
    # waiting time and topic scope only become known when the rest arrives.
    assert cli("ingest", str(backwards), "--batch-size", "97").exit_code == 0
    got = _stored_analysis()
    with twin_database(tmp_path, _template) as twin:
        clean = rapport("ingest", str(ordered), RAPPORT_DATABASE_URL=twin)
        assert clean.returncode == 0, clean.stderr
        expected = _stored_analysis(twin)
    assert len(expected) == 1500
    assert any("repeated" in " ".join(e[4]["urgency"]) for e in expected.values())
    assert {k for k in expected if got[k] != expected[k]} == set()
