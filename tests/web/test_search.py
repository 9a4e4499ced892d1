"""Search on the web: `GET /api/v1/search` and the /search page (messages
and people) on real TWCS conversations."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from rapport.conversations.service import do_ingest_files
from tests.web.conftest import Account

PHRASE = '"private secured link"'


def test_the_api_finds_a_real_message_by_a_phrase(
    conversations: Path, client: TestClient, accounts: dict[str, Account]
) -> None:
    response = client.get(
        "/api/v1/search", params={"q": PHRASE, "limit": 50}, headers=accounts["analyst"].headers
    )
    assert response.status_code == 200, response.text
    doc = response.json()
    assert doc["total"] >= 1 and doc["query"] == PHRASE
    first = doc["results"][0]
    assert set(first) >= {"message_id", "thread_id", "author", "created_at", "snippet", "score"}
    assert first["author"] == "sprintcare" and "<mark>" in first["snippet"]
    thread = client.get(
        f"/api/v1/threads/{first['thread_id']}", headers=accounts["analyst"].headers
    ).json()
    assert first["message_id"] in [m["id"] for m in thread["messages"]]


def test_the_api_refuses_bad_queries_with_the_position(
    conversations: Path, client: TestClient, accounts: dict[str, Account]
) -> None:
    headers = accounts["agent"].headers
    bad = client.get("/api/v1/search", params={"q": "refund AND (flight"}, headers=headers)
    assert bad.status_code == 422
    assert bad.json() == {"detail": "invalid query: unclosed '(' at 12", "position": 12}
    status = client.get("/api/v1/search", params={"q": "refund", "status": "gone"}, headers=headers)
    assert status.status_code == 422
    assert status.json()["detail"] == (
        "unknown status 'gone' (statuses: open, pending, snoozed, resolved)"
    )
    label = client.get("/api/v1/search", params={"q": "refund", "label": "ghost"}, headers=headers)
    assert label.status_code == 404 and "no label named 'ghost'" in label.json()["detail"]
    nowhere = client.get("/api/v1/search", params={"q": "refund", "channel": "x"}, headers=headers)
    assert nowhere.status_code == 404
    assert client.get("/api/v1/search", params={"q": "refund"}).status_code == 401


def test_the_search_page_shows_highlighted_messages_and_people(
    conversations: Path, client: TestClient, accounts: dict[str, Account]
) -> None:
    headers = accounts["agent"].headers
    page = client.get("/search", params={"q": "115712"}, headers=headers)
    assert page.status_code == 200
    assert "<mark>115712</mark>" in page.text
    assert 'href="/people/' in page.text  # relationships' people search, same box
    assert 'class="topsearch"' in page.text
    phrase = client.get("/search", params={"q": PHRASE}, headers=headers)
    assert "private" in phrase.text and "/threads/" in phrase.text
    bad = client.get("/search", params={"q": 'refund "lost'}, headers=headers)
    assert bad.status_code == 200 and "unclosed quote at 8" in bad.text
    # Text from messages is escaped: markup in a tweet stays text.
    hostile = conversations.parent / "hostile.jsonl"
    hostile.write_text(
        '{"id": "x1", "channel": "twitter", "author": "mallory", '
        '"created_at": "2017-11-01T10:00:00Z", "text": "<img src=x onerror=alert(1)> zzhtml"}\n'
    )
    do_ingest_files([hostile], fmt="jsonl")
    shown = client.get("/search", params={"q": "zzhtml"}, headers=headers).text
    assert "<img src=x" not in shown and "&lt;img src=x onerror=alert(1)&gt;" in shown


def test_notes_come_back_from_the_api_and_the_page_marked_as_internal(
    conversations: Path, client: TestClient, accounts: dict[str, Account]
) -> None:
    headers = accounts["agent"].headers
    first = client.get("/api/v1/search", params={"q": PHRASE}, headers=headers).json()
    thread = first["results"][0]["thread_id"]
    note = client.post(
        f"/api/v1/threads/{thread}/notes",
        json={"text": "private secured link sent by DM; the echidna case is now with billing"},
        headers=headers,
    )
    assert note.status_code == 201, note.text
    doc = client.get(
        "/api/v1/search", params={"q": PHRASE, "status": "open"}, headers=headers
    ).json()
    assert doc["total"] == first["total"] + 1
    kinds = {r["kind"] for r in doc["results"]}
    assert kinds == {"message", "note"}
    (hit,) = [r for r in doc["results"] if r["kind"] == "note"]
    assert set(hit) == {
        "kind", "message_id", "note_id", "thread_id", "author", "channel", "created_at",
        "snippet", "score", "matched",
    }  # fmt: skip
    assert hit["message_id"] is None and hit["note_id"] == note.json()["id"]
    assert hit["thread_id"] == thread and hit["author"] == accounts["agent"].email
    assert "<mark>" in hit["snippet"] and hit["matched"] == [PHRASE]
    messages = [r for r in doc["results"] if r["kind"] == "message"]
    assert all(r["message_id"] and r["note_id"] is None for r in messages)
    resolved = client.get(
        "/api/v1/search", params={"q": "echidna", "status": "resolved"}, headers=headers
    ).json()
    assert resolved == {"query": "echidna", "results": [], "total": 0}

    page = client.get("/search", params={"q": "echidna"}, headers=headers)
    assert page.status_code == 200
    assert 'class="chip internal">internal note' in page.text
    assert f'href="/threads/{thread}#n{hit["note_id"]}"' in page.text
    assert "<mark>echidna</mark>" in page.text
    wrong = client.get("/search", params={"q": "echidna", "status": "gone"}, headers=headers)
    assert wrong.status_code == 200 and "unknown status &#39;gone&#39;" in wrong.text
