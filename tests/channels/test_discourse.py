"""Discourse: latest posts, threading, replies and private messages,
rate limits — against recorded API exchanges."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from rapport.channels import service
from rapport.channels.base import OutboundReply
from rapport.channels.errors import SendFailed
from rapport.conversations.models import Message
from rapport.storage.engine import session_scope
from tests.channels.conftest import Replay
from tests.conftest import Database


@pytest.fixture
def forum(db: Database, cli) -> str:
    result = cli(
        "channels", "add", "discourse", "forum",
        "--url", "https://forum.acme.example/",
        "--handle", "acme_support",
        "--token", "discourse-api-key-0123",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return "forum"


def _messages() -> dict[str, Message]:
    with session_scope() as s:
        return {m.external_id: m for m in s.execute(select(Message)).scalars()}


def test_poll_threads_posts_by_topic_and_reply_number(forum: str, replay: Replay) -> None:
    replay.on("GET", "/posts.json", "discourse/posts_latest.json", "discourse/posts_newer.json")
    first = service.do_poll_channel(forum, transport=replay.transport)
    assert (first.fetched, first.inserted, first.error) == (
        4,
        4,
        None,
    )  # the small action is skipped
    rows = _messages()
    assert rows["412/1"].text.startswith("Router drops Wi-Fi every night\n\nSince firmware 2.4")
    assert rows["412/2"].parent_external_id == "412/1"
    assert rows["412/3"].parent_external_id == "412/2"
    assert rows["412/1"].thread_id == rows["412/3"].thread_id != rows["413/1"].thread_id
    assert (
        rows["412/3"].meta["url"]
        == "https://forum.acme.example/t/router-drops-wi-fi-every-night/412/3"
    )
    [call] = replay.requests
    assert call.headers["api-key"] == "discourse-api-key-0123"

    second = service.do_poll_channel(forum, transport=replay.transport)
    assert (second.fetched, second.inserted) == (2, 2)
    rows = _messages()
    assert rows["413/2"].direction == "outbound"  # written by our API user
    assert rows["413/3"].parent_external_id == "413/2"
    assert rows["413/3"].thread_id == rows["413/1"].thread_id


def test_reply_and_private_message(forum: str, replay: Replay) -> None:
    replay.on("GET", "/posts.json", "discourse/posts_latest.json")
    replay.on("POST", "/posts.json", "discourse/post_created.json")
    service.do_poll_channel(forum, transport=replay.transport)
    text = "Thanks for the report, Lukas. Firmware 2.4.1 (out today) fixes the nightly drop."
    with session_scope(write=True) as s:
        receipt = service.do_send(
            s,
            OutboundReply(11, forum, text, in_reply_to_external_id="412/1"),
            transport=replay.transport,
        )
    assert receipt.external_id == "412/5"
    post = replay.sent("POST", "/posts.json")[0]
    assert json.loads(post.content) == {"raw": text, "topic_id": 412, "reply_to_post_number": 1}
    assert post.headers["api-username"] == "acme_support"

    with session_scope(write=True) as s:
        service.do_send(
            s,
            OutboundReply(
                12,
                forum,
                "Could you send us your router's serial number?",
                in_reply_to_external_id="412/1",
                private=True,
            ),
            transport=replay.transport,
        )
    pm = json.loads(replay.sent("POST", "/posts.json")[1].content)
    assert pm["archetype"] == "private_message" and pm["target_recipients"] == "lukas"
    assert pm["title"] == "Re: Router drops Wi-Fi every night"


def test_rate_limited_reply_is_retried_after_the_wait(forum: str, replay: Replay) -> None:
    replay.on("POST", "/posts.json", "discourse/rate_limited.json", "discourse/post_created.json")
    with session_scope(write=True) as s:
        receipt = service.do_send(
            s,
            OutboundReply(13, forum, "A long enough reply text.", in_reply_to_external_id="412/1"),
            transport=replay.transport,
        )
    assert receipt.external_id == "412/5"
    assert len(replay.sent("POST", "/posts.json")) == 2


def test_refused_reply_is_not_retryable(forum: str, replay: Replay, cli) -> None:
    replay.on("POST", "/posts.json", "discourse/too_short.json")
    with session_scope(write=True) as s, pytest.raises(SendFailed) as refused:
        service.do_send(
            s,
            OutboundReply(14, forum, "ok", in_reply_to_external_id="412/1"),
            transport=replay.transport,
        )
    assert refused.value.retryable is False
    assert "Body is too short" in str(refused.value)
    health = cli("channels", "list", "--json").json()["channels"][0]["health"]
    assert health["send_failures"] == 1 and "too short" in health["last_error"]


def test_check_reads_the_latest_topics(forum: str, replay: Replay) -> None:
    replay.on("GET", "/latest.json", "discourse/latest.json")
    assert (
        service.do_check_channel(forum, transport=replay.transport)
        == "forum readable: 2 latest topics"
    )
