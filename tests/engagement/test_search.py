"""What engagement adds to `rapport search`, on the real TWCS demo: the
--status and --label thread filters, internal notes among the results (found
by the query language, marked as notes, scored like messages, filtered like
them), and a person's erasure reaching the notes' index."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from rapport.conversations.models import Identity, Message
from rapport.conversations.querylang import matches, parse
from rapport.engagement.models import ThreadState
from rapport.storage.engine import session_scope
from tests.engagement.test_triage import thread_of, write_jsonl

QUERY = "refund"


def matching(session: Session, query: str) -> dict[int, int]:
    """Every demo message matching ``query`` (evaluated in Python): id → thread."""
    parsed = parse(query)
    rows = session.execute(
        select(Message.id, Message.thread_id, Message.text, Identity.handle).outerjoin(
            Identity, Identity.id == Message.author_identity_id
        )
    ).all()
    return {mid: tid for mid, tid, body, handle in rows if matches(parsed, body, handle)}


def statuses() -> dict[int, str]:
    with session_scope() as session:
        return dict(session.execute(select(ThreadState.thread_id, ThreadState.status)).all())


def search(cli: Any, *args: str) -> dict[str, Any]:
    out = cli("search", *args, "--limit", "500", "--json")
    assert out.exit_code == 0, out.stderr
    return dict(out.json())


def message_ids(doc: dict[str, Any]) -> set[int]:
    assert all(r["kind"] == "message" for r in doc["results"])
    return {r["message_id"] for r in doc["results"]}


def add_note(cli: Any, thread_id: int, note: str, who: str = "ana") -> dict[str, Any]:
    out = cli("notes", "add", str(thread_id), "--text", note, "--as", who, "--json")
    assert out.exit_code == 0, out.stderr
    return dict(out.json())


def note_hits(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in doc["results"] if r["kind"] == "note"]


# ---------------------------------------------------------------- the thread filters


def test_status_keeps_the_messages_of_threads_in_that_status(demo_db, cli, staff) -> None:
    with session_scope() as session:
        expected = matching(session, QUERY)
    threads = sorted(set(expected.values()))
    assert len(threads) > 10  # real data: the test can fail
    resolved, pending = threads[:3], threads[3:5]
    for tid in resolved:
        assert cli("threads", "status", str(tid), "resolved", "--as", "ana").exit_code == 0
    for tid in pending:
        assert cli("threads", "status", str(tid), "pending", "--as", "ana").exit_code == 0
    state = statuses()
    everything = search(cli, QUERY)
    assert everything["total"] == len(expected)
    totals = 0
    for status in ("open", "pending", "snoozed", "resolved"):
        doc = search(cli, QUERY, "--status", status)
        wanted = {m for m, t in expected.items() if state[t] == status}
        assert message_ids(doc) == wanted and doc["total"] == len(wanted), status
        totals += doc["total"]
    assert totals == everything["total"]  # every thread has exactly one status
    assert {r["thread_id"] for r in search(cli, QUERY, "--status", "resolved")["results"]} == set(
        resolved
    )

    bad = cli("search", QUERY, "--status", "closed", "--json")
    assert bad.exit_code == 1 and bad.stdout == ""
    assert "unknown status 'closed' (statuses: open, pending, snoozed, resolved)" in bad.stderr
    # Exactly as the inbox answers the same mistake.
    inbox = cli("inbox", "--status", "closed", "--json")
    assert inbox.exit_code == 1 and "unknown status 'closed'" in inbox.stderr


def test_label_keeps_the_messages_of_labelled_threads(demo_db, cli, staff) -> None:
    with session_scope() as session:
        expected = matching(session, QUERY)
    threads = sorted(set(expected.values()))
    billing, other = threads[:2], threads[2]
    for tid in billing:
        assert cli("labels", "add", str(tid), "Billing").exit_code == 0
    assert cli("labels", "add", str(other), "vip").exit_code == 0
    doc = search(cli, QUERY, "--label", "billing")
    wanted = {m for m, t in expected.items() if t in billing}
    assert wanted and message_ids(doc) == wanted and doc["total"] == len(wanted)
    # Label names are matched as the inbox matches them (case and spaces folded).
    assert message_ids(search(cli, QUERY, "--label", " BILLING ")) == wanted
    # With a status too: both must hold.
    cli("threads", "status", str(billing[0]), "resolved", "--as", "ana")
    both = search(cli, QUERY, "--label", "billing", "--status", "resolved")
    assert message_ids(both) == {m for m, t in expected.items() if t == billing[0]}
    # A label nobody uses is refused by name, as `inbox --label` refuses it.
    ghost = cli("search", QUERY, "--label", "ghost", "--json")
    assert ghost.exit_code == 1 and ghost.stdout == ""
    assert "no label named 'ghost'" in ghost.stderr
    assert cli("inbox", "--label", "ghost").exit_code == 1


# ---------------------------------------------------------------- notes


NOTE = "Called her back: the wombat voucher never arrived, a refund is promised by billing"


def test_a_note_is_found_by_a_phrase_and_marked_as_an_internal_note(demo_db, cli, staff) -> None:
    tid = thread_of("195")
    before = cli("report", "--json").json()
    note = add_note(cli, tid, NOTE)
    doc = search(cli, '"wombat voucher never arrived"')
    assert doc["total"] == 1
    (hit,) = doc["results"]
    assert hit["kind"] == "note" and hit["message_id"] is None
    assert hit["note_id"] == note["id"] and hit["thread_id"] == tid
    assert hit["author"] == "ana@example.com" and hit["channel"] == "twitter"
    assert hit["matched"] == ['"wombat voucher never arrived"'] and hit["score"] > 0
    assert hit["snippet"].replace("<mark>", "").replace("</mark>", "") == NOTE
    marked = " ".join(re.findall(r"<mark>(.*?)</mark>", hit["snippet"]))
    # FTS5 marks the phrase as one span, ts_headline word by word.
    assert "wombat" in marked and "arrived" in marked and "refund" not in marked
    # The words in another order are not the phrase; prefixes and the author are words.
    assert search(cli, '"arrived never voucher wombat"')["total"] == 0
    assert [r["kind"] for r in search(cli, "wombat* ana")["results"]] == ["note"]
    assert search(cli, "wombat NOT ana")["total"] == 0
    plain = cli("search", '"wombat voucher"')
    assert plain.exit_code == 0 and "internal note" in plain.stdout
    # A note is never a message: the report does not move.
    assert cli("report", "--json").json() == before


def test_a_note_scores_as_a_message_with_the_same_words(
    demo_db, cli, staff, tmp_path: Path
) -> None:
    """The merge compares like with like: on SQLite a note is scored with the
    messages' word statistics (bm25), on PostgreSQL by the same ts_rank_cd."""
    tid = thread_of("195")
    words = "refund refund please, the koala charger refund"
    rows = [{"id": "twin-1", "author": "ana.example.com", "text": words,
             "created_at": "2017-11-20T10:00:00Z"}]  # fmt: skip
    ingest = cli("ingest", str(write_jsonl(tmp_path / "t.jsonl", rows)), "--format", "jsonl",
                 "--channel", "twitter")  # fmt: skip
    assert ingest.exit_code == 0, ingest.stderr
    add_note(cli, tid, words)
    for query in ("refund", "koala charger", "refund OR charger", "refu* -spam"):
        doc = search(cli, query)
        (note,) = note_hits(doc)
        (twin,) = [r for r in doc["results"] if r["author"] == "ana.example.com"]
        assert twin["score"] > 0, query
        assert note["score"] == pytest.approx(twin["score"], abs=1.5e-6), query
        scores = [r["score"] for r in doc["results"]]
        assert scores == sorted(scores, reverse=True)
    # Three times "refund" in a short text: among the best of the 40-odd refund messages.
    doc = search(cli, QUERY)
    with session_scope() as session:
        assert doc["total"] == len(matching(session, QUERY)) + 1  # the messages and the note
    assert [r["kind"] for r in doc["results"]].index("note") < 5
    first = cli("search", QUERY, "--limit", "5", "--json").json()["results"]
    assert "note" in [r["kind"] for r in first]
    # Pages of the merged list are disjoint and in score order.
    pages = [
        cli("search", QUERY, "--limit", "7", "--offset", str(o), "--json").json()["results"]
        for o in (0, 7, 14)
    ]
    keys = [(r["kind"], r["message_id"], r["note_id"]) for page in pages for r in page]
    assert len(keys) == len(set(keys)) == 21
    merged = [r["score"] for page in pages for r in page]
    assert merged == sorted(merged, reverse=True)


def test_note_results_honour_every_filter(demo_db, cli, staff, tmp_path: Path) -> None:
    rows = [{"id": "e1", "author": "dora", "text": "my order 7781 never came",
             "created_at": "2024-03-04T09:00:00Z"}]  # fmt: skip
    cli("ingest", str(write_jsonl(tmp_path / "e.jsonl", rows)), "--format", "jsonl",
        "--channel", "email")  # fmt: skip
    on_email = thread_of("e1", "email")
    resolved, labelled = thread_of("195"), thread_of("180")
    ids = {
        tid: add_note(cli, tid, f"platypus escalation for thread {tid}")["id"]
        for tid in (on_email, resolved, labelled)
    }
    cli("threads", "status", str(resolved), "resolved", "--as", "ana")
    cli("labels", "add", str(labelled), "vip")

    def notes(*args: str) -> set[int]:
        doc = search(cli, "platypus", *args)
        assert doc["total"] == len(doc["results"])
        return {r["note_id"] for r in note_hits(doc)}

    assert notes() == set(ids.values())
    assert notes("--status", "resolved") == {ids[resolved]}
    assert notes("--status", "open") == {ids[on_email], ids[labelled]}
    assert notes("--status", "snoozed") == set()
    assert notes("--label", "vip") == {ids[labelled]}
    assert notes("--label", "vip", "--status", "resolved") == set()
    assert notes("--channel", "email") == {ids[on_email]}
    assert notes("--channel", "twitter") == {ids[resolved], ids[labelled]}
    # since/until read when the note was written (now), not its thread's messages (2017).
    assert notes("--since", "2020-01-01") == set(ids.values())
    assert notes("--until", "2020-01-01") == set()
    assert notes("--since", "2999-01-01") == set()


def test_erasing_a_person_takes_their_words_out_of_the_notes_index(demo_db, cli, staff) -> None:
    tid = thread_of("195")
    shown = cli("threads", "show", str(tid), "--json").json()
    quote = shown["messages"][0]
    handle, words = quote["author"], quote["text"]
    phrase = '"' + " ".join(words.split()[1:6]) + '"'
    add_note(cli, tid, f"@ben can you check? {handle} wrote: {words}")
    found = note_hits(search(cli, handle))
    assert len(found) == 1 and found[0]["thread_id"] == tid
    assert len(note_hits(search(cli, phrase))) == 1
    with session_scope() as session:
        assert _indexed(session, handle)  # the index holds the handle: the test can fail

    assert cli("people", "erase", str(shown["customer_id"]), "--yes").exit_code == 0
    assert search(cli, handle)["total"] == 0
    assert note_hits(search(cli, phrase)) == []
    (kept,) = note_hits(search(cli, '"can you check"'))  # the agent's own words stay
    assert (
        kept["snippet"]
        .replace("<mark>", "")
        .replace("</mark>", "")
        .startswith("@ben can you check? [erased] wrote: [erased]")
    )
    with session_scope() as session:
        assert not _indexed(session, handle)
        if session.get_bind().dialect.name == "sqlite":
            session.execute(  # FTS5's own check that the index matches the notes
                text(
                    "INSERT INTO thread_note_fts(thread_note_fts, rank) "
                    "VALUES ('integrity-check', 1)"
                )
            )


def _indexed(session: Session, word: str) -> bool:
    """Does the notes' index itself (not a search) still hold ``word``?"""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            text(
                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.note_words "
                "USING fts5vocab(main, thread_note_fts, row)"
            )
        )
        hits = session.execute(
            text("SELECT count(*) FROM temp.note_words WHERE term = :w"), {"w": word.lower()}
        ).scalar_one()
        session.execute(text("DROP TABLE temp.note_words"))
        return bool(hits)
    hits = session.execute(
        text("SELECT count(*) FROM thread_note WHERE search_vector::text LIKE :w"),
        {"w": f"%'{word.lower()}'%"},
    ).scalar_one()
    return bool(hits)
