"""Satisfaction surveys: resolving a thread on a private channel (a signed
webhook chat with a reply URL) sends a one-question survey through the
outbox, at most one a day; the answer comes back as a digit or as a
`{"csat": N}` body and is stored on the thread, which stays resolved."""

from __future__ import annotations

import json

import httpx

from rapport.channels.service import do_receive_webhook, using_transport
from rapport.channels.webhook.connector import sign
from rapport.engagement.workspace import CSAT_QUESTION, csat_answer
from tests.engagement.conftest import make_users
from tests.engagement.test_triage import thread_of

SECRET = "whsec-3f9a0c1b7e2d4a68"


def _deliver(doc: dict[str, object]) -> None:
    body = json.dumps(doc).encode()
    result = do_receive_webhook("chat", body, {"X-Rapport-Signature": sign(SECRET, body)})
    assert result.inserted == 1, result


def test_answers_are_read_from_digits_and_webhook_bodies() -> None:
    assert csat_answer("5", {}) == (5, "reply")
    assert csat_answer("@acme 4/5 thanks a lot", {}) == (4, "reply")
    assert csat_answer("", {"csat": 2}) == (2, "webhook")
    assert csat_answer("", {"csat": "3"}) == (3, "webhook")
    assert csat_answer("12 boxes arrived broken", {}) is None
    assert csat_answer("6", {"csat": 9}) is None
    assert csat_answer("my order 5 never came and nobody answers", {}) is None


def test_resolving_a_private_thread_sends_one_survey_and_stores_the_answer(db, cli) -> None:
    added = cli("channels", "add", "webhook", "chat", "--secret", SECRET,
                "--set", "reply_url=https://chat.example/replies")  # fmt: skip
    assert added.exit_code == 0, added.stderr
    make_users(("ana", "agent", None))
    posted: list[dict[str, object]] = []

    def platform(request: httpx.Request) -> httpx.Response:
        doc = json.loads(request.content)
        posted.append(doc)
        return httpx.Response(200, json={"id": f"chat-{len(posted)}"})

    _deliver({"id": "c1", "author": "jo@example.org", "text": "My parcel never came",
              "created_at": "2024-05-01T09:00:00Z"})  # fmt: skip
    _deliver({"id": "d1", "author": "kim@example.org", "text": "Can I change my address?",
              "created_at": "2024-05-01T09:05:00Z"})  # fmt: skip
    jo, kim = thread_of("c1", "chat"), thread_of("d1", "chat")
    with using_transport(httpx.MockTransport(platform)):
        done = cli("threads", "status", str(jo), "resolved", "--as", "ana", "--json").json()
        assert done["survey_outbox_id"] and done["survey_skipped"] is None
        entry = cli("outbox", "list", "--json").json()["items"][0]
        assert (entry["kind"], entry["status"], entry["private"]) == ("csat", "sent", True)
        assert posted[0]["text"] == CSAT_QUESTION and posted[0]["to"] == "jo@example.org"
        # Reopened by hand and resolved again the same day: no second survey.
        cli("threads", "status", str(jo), "open", "--as", "ana")
        again = cli("threads", "status", str(jo), "resolved", "--as", "ana", "--json").json()
        assert again["survey_outbox_id"] is None and "24 hours" in again["survey_skipped"]
        cli("threads", "status", str(kim), "resolved", "--as", "ana")
    assert len(posted) == 2

    # The answers: a {"csat": N} webhook body, and a digit reply.
    _deliver({"id": "c2", "author": "jo@example.org", "text": "", "in_reply_to": "chat-1",
              "created_at": "2024-05-01T10:00:00Z", "csat": 4})  # fmt: skip
    _deliver({"id": "d2", "author": "kim@example.org", "text": "5", "in_reply_to": "chat-2",
              "created_at": "2024-05-01T10:05:00Z"})  # fmt: skip
    shown = cli("threads", "show", str(jo), "--json").json()
    assert shown["status"] == "resolved"  # an answer does not reopen the thread
    assert shown["csat"]["score"] == 4 and shown["csat"]["surveys"][0]["via"] == "webhook"
    assert cli("threads", "show", str(kim), "--json").json()["csat"]["score"] == 5
    report = cli("metrics", "csat", "--by", "channel", "--json").json()["groups"]["chat"]
    assert report == {
        "surveys": 2, "sent": 2, "answered": 2, "response_rate": 1.0, "mean_score": 4.5,
        "scores": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 1},
    }  # fmt: skip
    # A later real message reopens it.
    _deliver({"id": "c3", "author": "jo@example.org", "text": "Actually it is broken",
              "in_reply_to": "c2", "created_at": "2024-05-01T11:00:00Z"})  # fmt: skip
    assert cli("threads", "show", str(jo), "--json").json()["status"] == "open"
