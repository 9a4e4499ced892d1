"""Bluesky: sign-in kept between runs, poll, threaded reply, expired tokens,
rate limits — against recorded XRPC exchanges."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from rapport.channels import service
from rapport.channels.base import OutboundReply
from rapport.channels.errors import SendFailed
from rapport.channels.models import ChannelConnector
from rapport.conversations.models import Message
from rapport.storage.engine import session_scope
from tests.channels.conftest import Replay
from tests.conftest import Database

X = "/xrpc/"
DID = "did:plc:acmehelp7k2m3n4o5p6q7r8s"
MAYA_REPLY = "at://did:plc:maya4abcdefghijklmnopqrs/app.bsky.feed.post/3kq2mayareply"


@pytest.fixture
def sky(db: Database, cli) -> str:
    result = cli(
        "channels", "add", "bluesky", "sky",
        "--handle", "acmehelp.bsky.social",
        "--password", "app-pass-abcd-efgh",
        "--query", "acme router",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return "sky"


def _routes(replay: Replay) -> Replay:
    return (
        replay.on("POST", X + "com.atproto.server.createSession", "bluesky/createSession.json")
        .on("POST", X + "com.atproto.server.refreshSession", "bluesky/refreshSession.json")
        .on("GET", X + "app.bsky.feed.searchPosts", "bluesky/searchPosts.json")
        .on("POST", X + "com.atproto.repo.createRecord", "bluesky/createRecord.json")
        .on("GET", X + "app.bsky.feed.getPosts", "bluesky/getPosts.json")
    )


def test_poll_signs_in_once_and_stores_posts(sky: str, replay: Replay) -> None:
    _routes(replay).on(
        "GET", X + "app.bsky.notification.listNotifications", "bluesky/listNotifications.json"
    )
    first = service.do_poll_channel(sky, transport=replay.transport)
    # reply + mention (the like is not a message) + 2 search hits, one unusable
    assert (first.fetched, first.inserted, first.quarantined, first.error) == (4, 3, 1, None)
    [signin] = replay.sent("POST", X + "com.atproto.server.createSession")
    assert json.loads(signin.content) == {
        "identifier": "acmehelp.bsky.social",
        "password": "app-pass-abcd-efgh",
    }
    search = replay.sent("GET", X + "app.bsky.feed.searchPosts")[0]
    assert search.url.params["sort"] == "latest" and search.url.params["q"] == "acme router"
    assert search.headers["authorization"].endswith("access-1.sig")

    with session_scope() as s:
        rows = {m.external_id: m for m in s.execute(select(Message)).scalars()}
        token = s.execute(select(ChannelConnector.state)).scalar_one()
    maya = rows[MAYA_REPLY]
    assert maya.parent_external_id == f"at://{DID}/app.bsky.feed.post/3kq2rootpost1"
    assert maya.meta["root_cid"].startswith("bafyreiaroot") and maya.meta["reason"] == "reply"
    assert (
        rows["at://did:plc:zoe6abcdefghijklmnopqrstu/app.bsky.feed.post/3kq2zoesearch"].meta[
            "like_count"
        ]
        == 19
    )
    assert token and "access-1" not in token  # the session is kept, encrypted

    second = service.do_poll_channel(sky, transport=replay.transport)
    assert second.inserted == 0 and second.error is None
    assert len(replay.sent("POST", X + "com.atproto.server.createSession")) == 1  # session reused
    assert replay.sent("GET", X + "app.bsky.feed.searchPosts")[1].url.params["since"] == (
        "2024-05-01T19:05:01.000Z"
    )


def test_reply_carries_root_and_parent_refs(sky: str, replay: Replay) -> None:
    _routes(replay).on(
        "GET", X + "app.bsky.notification.listNotifications", "bluesky/listNotifications.json"
    )
    service.do_poll_channel(sky, transport=replay.transport)
    reply = OutboundReply(
        outbox_id=3,
        channel=sky,
        text="Sorry! Try 2.4.2, out today.",
        in_reply_to_external_id=MAYA_REPLY,
    )
    with session_scope(write=True) as s:
        receipt = service.do_send(s, reply, transport=replay.transport)
    assert receipt.external_id == f"at://{DID}/app.bsky.feed.post/3kq2ourreply1"
    [create] = replay.sent("POST", X + "com.atproto.repo.createRecord")
    body = json.loads(create.content)
    assert body["repo"] == DID and body["collection"] == "app.bsky.feed.post"
    record = body["record"]
    assert record["$type"] == "app.bsky.feed.post" and record["text"] == reply.text
    assert record["reply"]["parent"] == {
        "uri": MAYA_REPLY,
        "cid": "bafyreimayareply000000000000000000000000000000000000000000",
    }
    assert record["reply"]["root"]["uri"] == f"at://{DID}/app.bsky.feed.post/3kq2rootpost1"
    assert record["createdAt"].endswith("Z")

    # A post we never stored: its refs are fetched with getPosts.
    other = OutboundReply(
        4,
        sky,
        "Thanks!",
        in_reply_to_external_id="at://did:plc:zoe6abcdefghijklmnopqrstu/app.bsky.feed.post/unknown",
    )
    with session_scope(write=True) as s:
        service.do_send(s, other, transport=replay.transport)
    assert len(replay.sent("GET", X + "app.bsky.feed.getPosts")) == 1

    with session_scope(write=True) as s, pytest.raises(SendFailed) as too_long:
        service.do_send(s, OutboundReply(5, sky, "x" * 301), transport=replay.transport)
    assert too_long.value.retryable is False and "300" in str(too_long.value)


def test_expired_access_token_is_refreshed(sky: str, replay: Replay) -> None:
    _routes(replay).on(
        "GET",
        X + "app.bsky.notification.listNotifications",
        "bluesky/listNotifications.json",
        "bluesky/expiredToken.json",
        "bluesky/listNotifications.json",
    )
    service.do_poll_channel(sky, transport=replay.transport)
    result = service.do_poll_channel(sky, transport=replay.transport)
    assert result.error is None
    assert len(replay.sent("POST", X + "com.atproto.server.refreshSession")) == 1
    assert len(replay.sent("POST", X + "com.atproto.server.createSession")) == 1
    last = replay.sent("GET", X + "app.bsky.notification.listNotifications")[-1]
    assert last.headers["authorization"].endswith("access-2.sig")


def test_spent_rate_limit_budget_backs_off(sky: str, replay: Replay, cli) -> None:
    _routes(replay).on(
        "GET", X + "app.bsky.notification.listNotifications", "bluesky/rate_limited.json"
    )
    result = service.do_poll_channel(sky, transport=replay.transport)
    assert result.error and result.error.startswith("RateLimited")
    assert len(replay.sent("GET", X + "app.bsky.notification.listNotifications")) == 1
    health = cli("channels", "list", "--json").json()["channels"][0]["health"]
    assert health["status"] == "backing-off"
    assert health["backoff_until"] > "2099"  # the reset the platform announced


def test_links_and_mentions_become_facets(sky: str, replay: Replay) -> None:
    _routes(replay).on(
        "GET", X + "app.bsky.notification.listNotifications", "bluesky/listNotifications.json"
    )
    replay.on("GET", X + "com.atproto.identity.resolveHandle", "bluesky/resolveHandle.json")
    service.do_poll_channel(sky, transport=replay.transport)
    text = "@maya.bsky.social sorry! 🙏 Steps: https://acme.example/fix (thanks @raj.dev)"
    with session_scope(write=True) as s:
        service.do_send(
            s,
            OutboundReply(6, sky, text, in_reply_to_external_id=MAYA_REPLY),
            transport=replay.transport,
        )
    facets = json.loads(replay.sent("POST", X + "com.atproto.repo.createRecord")[0].content)[
        "record"
    ]["facets"]
    raw = text.encode()
    spans = {
        raw[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode(): f["features"][0]
        for f in facets
    }
    assert spans["https://acme.example/fix"] == {
        "$type": "app.bsky.richtext.facet#link",
        "uri": "https://acme.example/fix",
    }
    assert (
        spans["@maya.bsky.social"]["did"] == "did:plc:maya4abcdefghijklmnopqrs"
    )  # known: no lookup
    assert spans["@raj.dev"]["did"] == "did:plc:raj5abcdefghijklmnopqrstu"
    assert len(replay.sent("GET", X + "com.atproto.identity.resolveHandle")) == 1


def test_private_reply_goes_through_bluesky_chat(sky: str, replay: Replay) -> None:
    _routes(replay).on(
        "GET", X + "app.bsky.notification.listNotifications", "bluesky/listNotifications.json"
    )
    replay.on("GET", X + "chat.bsky.convo.getConvoForMembers", "bluesky/getConvoForMembers.json")
    replay.on("POST", X + "chat.bsky.convo.sendMessage", "bluesky/sendMessage.json")
    service.do_poll_channel(sky, transport=replay.transport)
    reply = OutboundReply(
        9, sky, "Hi Maya, could you send us your router's serial number?",
        in_reply_to_external_id=MAYA_REPLY, private=True,
    )  # fmt: skip
    with session_scope(write=True) as s:
        receipt = service.do_send(s, reply, transport=replay.transport)
    assert receipt.external_id == "chat:3kq2convo7x/3kq2msg0001"
    [convo] = replay.sent("GET", X + "chat.bsky.convo.getConvoForMembers")
    assert convo.url.params["members"] == "did:plc:maya4abcdefghijklmnopqrs"
    assert convo.headers["atproto-proxy"] == "did:web:api.bsky.chat#bsky_chat"
    [message] = replay.sent("POST", X + "chat.bsky.convo.sendMessage")
    assert json.loads(message.content) == {
        "convoId": "3kq2convo7x",
        "message": {"text": reply.text},
    }
    assert replay.sent("POST", X + "com.atproto.repo.createRecord") == []  # nothing public
