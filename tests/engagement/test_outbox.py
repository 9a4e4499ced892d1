"""Replies through the outbox: refused before anything is queued (empty,
too long, consent), undeliverable on imported history, sent through a real
connector (Mastodon, recorded exchanges) and stored as an outbound message
of the thread that counts in the report; retryable failures back off, then fail."""

from __future__ import annotations

import json
from collections import deque
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from rapport.channels import service as channels
from rapport.channels.service import using_transport
from rapport.conversations.models import Message
from rapport.engagement import service
from rapport.engagement.models import OutboxItem
from rapport.scheduling import queries as schedule
from rapport.storage.base import utcnow
from rapport.storage.engine import session_scope
from tests.channels.conftest import Replay
from tests.engagement.conftest import make_users
from tests.engagement.test_triage import thread_of

HERE = Path(__file__).resolve().parent / "fixtures"
STATUSES = "/api/v1/statuses"


def outbox(cli) -> list[dict]:
    return cli("outbox", "list", "--json").json()["items"]


def test_refused_replies_queue_nothing(demo_db, cli, staff) -> None:
    tid = thread_of("195")
    for args, message in [
        (("--text", "   "), "the reply is empty"),
        (("--text", "x" * 281), "the reply is 281 characters; twitter takes at most 280"),
        (("--text", "hi", "--channel", "fax"), "no channel named 'fax'"),
        (
            ("--text", "Your order {{order_number}} is on its way"),
            "{{order_number}} is a placeholder",
        ),
        (("--text", "Hi {{customer.nickname}}"), "unknown variable {{customer.nickname}}"),
    ]:
        result = cli("reply", str(tid), *args, "--as", "ana")
        assert result.exit_code == 1, args
        assert message in result.stderr, (args, result.stderr)
    with session_scope() as s:
        person = s.execute(
            select(Message.author_identity_id).where(Message.external_id == "195")
        ).scalar_one()
    customer = cli("threads", "show", str(tid), "--json").json()["customer_id"]
    assert customer is not None and person is not None
    denied = cli("consent", "set", str(customer), "--channel", "twitter", "--deny")
    assert denied.exit_code == 0, denied.stderr
    refused = cli("reply", str(tid), "--text", "So sorry, we are on it", "--as", "ana")
    assert refused.exit_code == 1
    assert (
        "consent refuses this reply" in refused.stderr
        and "denied consent on twitter" in refused.stderr
    )
    analyst = cli("reply", str(tid), "--text", "hello", "--as", "ida")
    assert analyst.exit_code == 1 and "conversations.work" in analyst.stderr
    assert outbox(cli) == []


def test_a_reply_on_imported_history_is_kept_as_undeliverable(demo_db, cli, staff) -> None:
    tid = thread_of("195")
    result = cli("reply", str(tid), "--text", "Hi {{customer.name}}, sorry: which store was it?",
                 "--as", "ana", "--json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    entry = result.json()
    assert entry["status"] == "undeliverable" and "connector" in entry["reason"]
    assert entry["text"] == "Hi , sorry: which store was it?"  # no name known: empty, warned
    assert entry["warnings"] and "customer.name" in result.stderr
    listed = outbox(cli)
    assert [(i["id"], i["thread_id"], i["channel"], i["status"]) for i in listed] == [
        (entry["id"], tid, "twitter", "undeliverable")
    ]
    assert listed[0]["reason"] == entry["reason"] and listed[0]["created_by"] == "ana@example.com"
    # Nothing went out: the report's outbound count is what was imported.
    assert cli("report", "--json").json()["outbound"] == 2222


@pytest.fixture
def masto(db, cli) -> Replay:
    added = cli(
        "channels", "add", "mastodon", "masto",
        "--url", "https://mastodon.example", "--token", "tok-0123456789", "--handle", "acmehelp",
    )  # fmt: skip
    assert added.exit_code == 0, added.stderr
    replay = Replay()
    replay.on("GET", "/api/v1/notifications", "mastodon/notifications_mentions.json")
    polled = channels.do_poll_channel("masto", transport=replay.transport)
    assert polled.inserted == 2 and polled.error is None  # (one mention has a bad date)
    make_users(("ana", "agent", None))
    return replay


def _route(replay: Replay, *cassettes: str) -> None:
    queue = replay.routes.setdefault(("POST", STATUSES), deque())
    queue.clear()
    for name in cassettes:
        root = HERE if name.startswith("engagement/") else HERE.parents[1] / "channels/fixtures"
        path = root / name.removeprefix("engagement/")
        queue.append(json.loads(path.read_text(encoding="utf-8"))["response"])


def test_a_mastodon_reply_is_sent_and_becomes_an_outbound_message(masto: Replay, cli) -> None:
    tid = thread_of("112345678901234567", "masto")
    decided = cli("threads", "show", str(tid), "--json").json()["decision"]
    assert decided["decision"] in ("respond_now", "respond") and decided["sla_due_at"]
    before = cli("report", "--json").json()
    _route(masto, "mastodon/status_created.json")
    with using_transport(masto.transport):
        result = cli("reply", str(tid), "--text", "Sorry about that! Firmware 2.4.1 fixes the "
                     "nightly reboot; Settings → Update.", "--as", "ana", "--json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    entry = result.json()
    assert entry["status"] == "sent" and entry["attempts"] == 1
    assert entry["external_id"] == "112345740000000005" and entry["message_id"]
    [post] = masto.sent("POST", STATUSES)
    body = json.loads(post.content)
    assert body["in_reply_to_id"] == "112345678901234567" and body["visibility"] == "public"
    assert post.headers["idempotency-key"] == f"rapport-outbox-{entry['id']}"

    doc = cli("threads", "show", str(tid), "--json").json()
    sent = [m for m in doc["messages"] if m["external_id"] == "112345740000000005"]
    assert sent and sent[0]["direction"] == "outbound" and sent[0]["author"] == "acmehelp"
    assert sent[0]["meta"]["outbox_id"] == entry["id"]
    # Answered: nothing due from us any more, and the thread was decided again.
    assert doc["decision"]["sla_due_at"] is None and doc["decision"]["first_response_at"]
    after = cli("report", "--json").json()
    assert after["outbound"] == before["outbound"] + 1
    assert (
        after["brands"]["acmehelp"]["outbound"]
        == before["brands"].get("acmehelp", {}).get("outbound", 0) + 1
    )
    # Sending again is a no-op (idempotent), and a later poll of our own post stores nothing twice.
    assert service.do_send_outbox_item(entry["id"]).status == "sent"
    assert len(masto.sent("POST", STATUSES)) == 1


def test_retryable_failures_back_off_then_fail(masto: Replay, cli) -> None:
    tid = thread_of("112345678901234567", "masto")
    _route(masto, "engagement/mastodon/unavailable.json")
    with using_transport(masto.transport):
        queued = cli("reply", str(tid), "--text", "Looking into it now", "--as", "ana", "--json")
        entry = queued.json()
        assert entry["status"] == "pending" and entry["attempts"] == 1
        assert "attempt 1 of 5 failed" in entry["reason"] and "HTTP 503" in entry["reason"]
        waits = []
        clock = utcnow()
        while True:
            with session_scope() as s:
                item = s.get(OutboxItem, entry["id"])
                assert item is not None
                status, due = item.status, item.next_attempt_at
            if status != "pending":
                break
            assert due is not None
            waits.append(round((due - clock).total_seconds()))
            with session_scope() as s:  # the outbox job is scheduled for the retry
                assert schedule.get_job(s, service.OUTBOX_JOB).next_run_at <= due
            # Not due yet: nothing is sent.
            assert service.do_send_due(now=due - timedelta(seconds=1)) == []
            clock = due
            service.do_send_due(now=due)
    assert waits[1:] == [60, 120, 240] and 29 <= waits[0] <= 30
    final = outbox(cli)[0]
    assert final["status"] == "failed" and final["attempts"] == 5
    assert "5 attempts" in final["reason"]
    assert len(masto.sent("POST", STATUSES)) == 5 * 4  # each attempt retries in the connector too


def test_the_scheduled_outbox_job_sends_what_is_queued(masto: Replay, cli) -> None:
    tid = thread_of("112345678901234567", "masto")
    _route(masto, "mastodon/status_created.json")
    queued = cli("reply", str(tid), "--text", "On it!", "--private", "--queue-only", "--as", "ana",
                 "--json").json()  # fmt: skip
    assert queued["status"] == "pending" and queued["private"] is True
    with using_transport(masto.transport):
        ran = cli("schedule", "run", "--json").json()
    assert ran[service.OUTBOX_JOB]["ok"] is True and "1 sent" in ran[service.OUTBOX_JOB]["summary"]
    assert outbox(cli)[0]["status"] == "sent"
    assert json.loads(masto.sent("POST", STATUSES)[0].content)["visibility"] == "direct"
