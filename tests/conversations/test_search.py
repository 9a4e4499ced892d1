"""Full-text search over messages on SQLite (FTS5) and PostgreSQL (tsvector):
real TWCS phrases, ranking, snippets, filters, an index kept current through
ingest, thread merges and erasure, the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from rapport import pipeline
from rapport.conversations import hooks
from rapport.conversations.errors import (
    QueryNotSearchable,
    QuerySyntaxError,
    SearchFilterUnavailable,
    UnknownSearchChannel,
)
from rapport.conversations.models import Identity, Message, Thread
from rapport.conversations.querylang import matches, parse
from rapport.conversations.search import (
    MESSAGE_INDEX,
    SearchFilters,
    bm25_scores,
    match_message_ids,
    search_messages,
)
from rapport.conversations.service import do_ingest_files
from rapport.storage.engine import session_scope
from tests.conftest import Database

#: Tweet 1 of the demo (sprintcare), word for word.
SPRINT_PHRASE = '"we would need to get you into a private secured link"'


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def ingest_rows(tmp_path: Path, name: str, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        row.setdefault("channel", "twitter")
    do_ingest_files([write_jsonl(tmp_path / f"{name}.jsonl", rows)], fmt="jsonl")


def message_id(session: Session, external_id: str) -> int:
    return int(
        session.execute(select(Message.id).where(Message.external_id == external_id)).scalar_one()
    )


def fts_is_consistent(session: Session) -> None:
    """FTS5's own check that the index matches the content (raises if not)."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            text("INSERT INTO message_fts(message_fts, rank) VALUES ('integrity-check', 1)")
        )


# ---------------------------------------------------------------- real data


def test_a_phrase_finds_the_real_twcs_message_with_a_highlighted_snippet(
    demo_db: Database,
) -> None:
    with session_scope() as session:
        page = search_messages(session, SPRINT_PHRASE)
        assert page.total == 1
        hit = page.results[0]
        assert hit.message_id == message_id(session, "1")
        assert hit.author == "sprintcare" and hit.channel == "twitter"
        highlighted = " ".join(piece for piece, hit_ in hit.snippet if hit_)
        # FTS5 marks the phrase as one span, ts_headline word by word.
        assert "private" in highlighted and "secured" in highlighted
        assert "assist" not in highlighted and "<mark>" in hit.snippet_text()
        assert hit.matched == (SPRINT_PHRASE,)
        assert hit.score > 0
        # The words in another order are not the phrase.
        assert search_messages(session, '"link secured private"').total == 0


def test_every_result_satisfies_the_query_and_the_total_counts_them_all(
    demo_db: Database,
) -> None:
    query = '(refund OR "money back") AND NOT (flight OR trip)'
    with session_scope() as session:
        rows = session.execute(
            text(
                "SELECT m.id, m.text, i.handle FROM message m "
                "LEFT JOIN identity i ON i.id = m.author_identity_id"
            )
        ).all()
        expected = {mid for mid, body, handle in rows if matches(parse(query), body, handle)}
        assert len(expected) > 5  # the demo has such messages: the test can fail
        page = search_messages(session, query, limit=500)
        assert page.total == len(expected)
        assert {h.message_id for h in page.results} == expected
        assert all("refund" in h.matched or '"money back"' in h.matched for h in page.results)
        scores = [h.score for h in page.results]
        assert scores == sorted(scores, reverse=True)
        assert match_message_ids(session, query) == sorted(expected)


def test_the_author_handle_is_searchable(demo_db: Database) -> None:
    with session_scope() as session:
        by_text = search_messages(session, "sprintcare", limit=500)
        authored = [h for h in by_text.results if h.author == "sprintcare"]
        mentioning = [h for h in by_text.results if h.author != "sprintcare"]
        assert authored and mentioning
        page = search_messages(session, "sprintcare assist", limit=500)
        assert page.results and all(h.author == "sprintcare" for h in page.results[:3])


def test_paging_gives_disjoint_pages_in_score_order(demo_db: Database) -> None:
    with session_scope() as session:
        first = search_messages(session, "help", limit=10)
        second = search_messages(session, "help", limit=10, offset=10)
        assert first.total == second.total > 20
        assert not {h.message_id for h in first.results} & {h.message_id for h in second.results}
        assert first.results[-1].score >= second.results[0].score


def test_bm25_in_python_scores_exactly_as_fts5(demo_db: Database) -> None:
    """`bm25_scores` (how other indexes score like messages on SQLite) gives
    the real messages the very scores FTS5 gives them."""
    if demo_db.is_postgresql:
        pytest.skip("FTS5's bm25")
    queries = ["refund", "refund OR flight", "cancel*", "help NOT spam", "sprintcare assist",
               '"private secured link"', "help help", "delay* (train OR bus)"]  # fmt: skip
    with session_scope() as session:
        for query in queries:
            page = search_messages(session, query, limit=200)
            assert page.results, query
            ids = [h.message_id for h in page.results]
            docs = dict(
                (mid, (body, handle))
                for mid, body, handle in session.execute(
                    select(Message.id, Message.text, Identity.handle)
                    .outerjoin(Identity, Identity.id == Message.author_identity_id)
                    .where(Message.id.in_(ids))
                )
            )
            mine = bm25_scores(session, MESSAGE_INDEX, parse(query), [docs[i] for i in ids])
            assert mine == pytest.approx([h.score for h in page.results], abs=1.5e-6), query


# ---------------------------------------------------------------- ranking, filters


CORPUS = [
    {"id": "r1", "author": "alice", "text": "My refund for the flight? Still no refund!"},
    {"id": "r2", "author": "bob", "text": "refund please"},
    {"id": "r3", "author": "carol", "text": "the flight was fine"},
    {"id": "r4", "author": "dave", "text": "Café au lait, crème brûlée and an e-mail"},
    {"id": "r5", "author": "refundbot", "text": "automated message"},
    {"id": "r6", "author": "erin", "text": "thanks🤔 for nothing, @AmazonHelp"},
]


@pytest.fixture
def corpus(db: Database, tmp_path: Path) -> None:
    rows = [dict(r) for r in CORPUS]
    for i, row in enumerate(rows):
        row["created_at"] = f"2017-11-0{i + 1}T10:00:00Z"
    ingest_rows(tmp_path, "corpus", rows)


def _ids(page: Any) -> list[str]:
    with session_scope() as session:
        by_id = dict(session.execute(select(Message.id, Message.external_id)).all())
    return [by_id[h.message_id] for h in page.results]


def test_ranking_puts_the_message_matching_most_first(corpus: None) -> None:
    with session_scope() as session:
        page = search_messages(session, "refund OR flight")
        assert _ids(page)[0] == "r1"
        assert set(_ids(page)) == {"r1", "r2", "r3"}
        # A word in the text outranks the same word only in the author's handle.
        page = search_messages(session, "refund*")
        assert _ids(page)[-1] == "r5"


def test_accents_case_hyphens_and_emoji_match_as_in_python(corpus: None) -> None:
    with session_scope() as session:
        assert _ids(search_messages(session, "CAFE creme")) == ["r4"]
        assert _ids(search_messages(session, '"creme brulee"')) == ["r4"]
        assert _ids(search_messages(session, "e-mail")) == ["r4"]
        assert _ids(search_messages(session, "email")) == []
        assert _ids(search_messages(session, "thanks")) == ["r6"]
        assert _ids(search_messages(session, "@amazonhelp")) == ["r6"]


def test_filters_by_channel_and_time(corpus: None) -> None:
    with session_scope() as session:
        both = search_messages(session, "refund", SearchFilters(channel="twitter"))
        assert set(_ids(both)) == {"r1", "r2"}
        later = search_messages(
            session,
            "refund",
            SearchFilters(since=parse_utc("2017-11-02T00:00:00"), until=parse_utc("2017-11-05")),
        )
        assert _ids(later) == ["r2"]
        with pytest.raises(UnknownSearchChannel, match=r"no channel named 'nope'.*twitter"):
            search_messages(session, "refund", SearchFilters(channel="nope"))


def parse_utc(value: str) -> Any:
    from datetime import UTC, datetime

    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def test_thread_filters_come_from_the_domain_that_registers_them(corpus: None) -> None:
    hooks.remove_hook("status")  # as if engagement were not installed
    try:
        with (
            session_scope() as session,
            pytest.raises(SearchFilterUnavailable, match="--status needs the engagement domain"),
        ):
            search_messages(session, "refund", SearchFilters(threads=(("status", "open"),)))
    finally:
        pipeline.install()
    with session_scope() as session:
        r2_thread = session.execute(
            select(Message.thread_id).where(Message.external_id == "r2")
        ).scalar_one()

        def only_thread(session: Session, value: str) -> Any:
            return select(Thread.id).where(Thread.id == int(value))

        hooks.on_search_thread_filter("test.thread", only_thread)
        try:
            page = search_messages(
                session, "refund", SearchFilters(threads=(("test.thread", str(r2_thread)),))
            )
        finally:
            hooks.remove_hook("test.thread")
        assert _ids(page) == ["r2"] and page.total == 1


def test_another_domain_can_add_hits_of_its_own(corpus: None) -> None:
    from rapport.conversations.search import SearchHit

    def notes(session: Session, query: Any, filters: Any, limit: int) -> Any:
        hit = SearchHit(
            kind="note",
            message_id=None,
            thread_id=1,
            author="agent",
            created_at=parse_utc("2017-11-09T00:00:00"),
            snippet=(("internal: ", False), ("refund", True)),
            score=1e9,
        )
        return ([hit] if matches(query, "internal: refund") else []), 1

    hooks.on_search("test.notes", notes)
    try:
        with session_scope() as session:
            page = search_messages(session, "refund", limit=2)
    finally:
        hooks.remove_hook("test.notes")
    assert [h.kind for h in page.results] == ["note", "message"]
    assert page.total == 3


def test_malformed_and_unsearchable_queries_are_refused_with_the_position(
    corpus: None,
) -> None:
    with session_scope() as session:
        with pytest.raises(QuerySyntaxError) as caught:
            search_messages(session, 'refund AND "lost bag')
        assert caught.value.position == 12
        with pytest.raises(QueryNotSearchable) as refused:
            search_messages(session, "refund OR -spam")
        assert refused.value.position == 11


# ---------------------------------------------------------------- kept current


def test_the_index_follows_ingest_thread_merges_and_redaction(db: Database, tmp_path: Path) -> None:
    ingest_rows(
        tmp_path,
        "a",
        [
            {
                "id": "q1",
                "author": "zed",
                "created_at": "2017-11-01T10:00:00Z",
                "text": "where is my wombat parcel",
            },
            {
                "id": "q3",
                "author": "zed",
                "in_reply_to": "q2",
                "created_at": "2017-11-01T12:00:00Z",
                "text": "still no wombat",
            },
        ],
    )
    with session_scope() as session:
        page = search_messages(session, "wombat")
        assert page.total == 2 and len({h.thread_id for h in page.results}) == 2
    # q2 answers q1 and is q3's parent: the two threads merge.
    ingest_rows(
        tmp_path,
        "b",
        [
            {
                "id": "q2",
                "author": "ShipCo",
                "direction": "outbound",
                "in_reply_to": "q1",
                "created_at": "2017-11-01T11:00:00Z",
                "text": "Your wombat parcel is on its way",
            }
        ],
    )
    with session_scope() as session:
        page = search_messages(session, "wombat")
        assert page.total == 3
        assert len({h.thread_id for h in page.results}) == 1
        survivor = page.results[0].thread_id
        assert session.get(Thread, survivor) is not None
        assert search_messages(session, "shipco").total == 1
    with session_scope(write=True) as session:
        from rapport.conversations.service import do_redact_messages

        do_redact_messages(session, [message_id(session, "q1")])
    with session_scope() as session:
        assert search_messages(session, "parcel").total == 1
        fts_is_consistent(session)


def test_erasing_a_person_removes_their_words_and_handle_from_the_index(
    demo_db: Database, cli: Any
) -> None:
    handle = "115712"
    with session_scope() as session:
        own = search_messages(session, handle, limit=500)
        assert own.total > 0
        phrase = '"and how do you propose we do that"'  # tweet 2, by 115712
        assert search_messages(session, phrase).total == 1
    pid = int(cli("people", "find", f"twitter:{handle}", "--json").json()["id"])
    out = cli("people", "erase", str(pid), "--yes", "--json")
    assert out.exit_code == 0, out.stderr
    with session_scope() as session:
        assert search_messages(session, phrase).total == 0
        assert search_messages(session, handle).total == 0
        assert search_messages(session, "propose").total < 10
        fts_is_consistent(session)
        if session.get_bind().dialect.name == "postgresql":
            left = session.execute(
                text("SELECT count(*) FROM message WHERE search_vector @@ 'b115712'::tsquery")
            ).scalar_one()
            assert left == 0


# ---------------------------------------------------------------- CLI


def test_cli_search_prints_the_contract_json(demo_db: Database, cli: Any) -> None:
    out = cli("search", SPRINT_PHRASE, "--channel", "twitter", "--limit", "5", "--json")
    assert out.exit_code == 0, out.stderr
    doc = out.json()
    assert doc["total"] == 1
    (hit,) = doc["results"]
    assert {"message_id", "thread_id", "author", "created_at", "snippet", "score"} <= set(hit)
    assert hit["author"] == "sprintcare" and "<mark>" in hit["snippet"]
    assert hit["snippet"].replace("<mark>", "").replace("</mark>", "") == (
        "@115712 I understand. I would like to assist you. We would need to get you into "
        "a private secured link to further assist."
    )
    plain = cli("search", SPRINT_PHRASE)
    assert plain.exit_code == 0 and "1 found" in plain.stdout


def test_cli_refuses_bad_queries_and_missing_domains_with_exit_1(
    demo_db: Database, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = cli("search", "refund AND (flight OR", "--json")
    assert out.exit_code == 1 and out.stdout == ""
    assert "expected a term after OR at 22" in out.stderr
    # As if engagement were not installed (the CLI installs the hooks at start).
    monkeypatch.setattr(pipeline, "install", lambda: None)
    hooks.remove_hook("status")
    hooks.remove_hook("label")
    try:
        out = cli("search", "refund", "--status", "open", "--json")
        assert out.exit_code == 1 and "needs the engagement domain" in out.stderr
        out = cli("search", "refund", "--label", "vip", "--json")
        assert out.exit_code == 1 and "--label needs the engagement domain" in out.stderr
    finally:
        monkeypatch.undo()
        pipeline.install()
    out = cli("search", "refund", "--status", "closed", "--json")
    assert out.exit_code == 1 and out.stdout == ""
    assert "unknown status 'closed' (statuses: open, pending, snoozed, resolved)" in out.stderr
    out = cli("search", "refund", "--label", "vip", "--json")
    assert out.exit_code == 1 and "no label named 'vip'" in out.stderr
    out = cli("search", "refund", "--since", "yesterday", "--json")
    assert out.exit_code == 1 and "--since" in out.stderr
