"""Mastodon: poll, reply and rate limits against recorded API exchanges."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from rapport.channels import service
from rapport.channels.base import OutboundReply
from rapport.channels.errors import SendFailed
from rapport.conversations.models import Message
from rapport.storage.base import utcnow
from rapport.storage.engine import session_scope
from tests.channels.conftest import Replay
from tests.conftest import Database

NOTIFICATIONS = "/api/v1/notifications"


@pytest.fixture
def masto(db: Database, cli) -> str:
    result = cli(
        "channels", "add", "mastodon", "masto",
        "--url", "https://mastodon.example",
        "--token", "tok-0123456789",
        "--handle", "acmehelp",
        "--query", "acme router",
        "--query", "#AcmeRouter",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return "masto"


def _routes(replay: Replay) -> Replay:
    return (
        replay.on("GET", "/api/v2/search", "mastodon/search_statuses.json")
        .on("GET", "/api/v1/timelines/tag/AcmeRouter", "mastodon/tag_timeline.json")
        .on("POST", "/api/v1/statuses", "mastodon/status_created.json")
    )


def test_poll_stores_mentions_and_searches_once(masto: str, replay: Replay) -> None:
    _routes(replay).on(
        "GET",
        NOTIFICATIONS,
        "mastodon/notifications_mentions.json",
        "mastodon/notifications_empty.json",
    )
    first = service.do_poll_channel(masto, transport=replay.transport)
    assert (first.fetched, first.inserted, first.quarantined, first.error) == (5, 4, 1, None)

    [call] = replay.sent("GET", NOTIFICATIONS)
    assert call.url.params["types[]"] == "mention" and "min_id" not in call.url.params
    assert call.headers["authorization"] == "Bearer tok-0123456789"
    assert replay.sent("GET", "/api/v2/search")[0].url.params["q"] == "acme router"

    with session_scope() as s:
        rows = {m.external_id: m for m in s.execute(select(Message)).scalars()}
    ana = rows["112345678901234567"]
    assert ana.text == (
        "@acmehelp my router reboots every night at 3am since firmware 2.4 & support chat "
        "is down. Any fix?"
    )
    assert ana.meta["author_followers"] == 312 and ana.meta["notification_id"] == "34975861"
    assert json.loads(ana.raw)["id"] == "112345678901234567"
    assert rows["112345700000000001"].parent_external_id == "112345690000000000"
    assert rows["112345700000000001"].text == "@acmehelp thanks, the rollback worked!\nBack online."
    assert rows["112345720000000003"].meta["stream"] == "search:acme router"

    second = service.do_poll_channel(masto, transport=replay.transport)
    assert second.inserted == 0 and second.error is None
    assert replay.sent("GET", NOTIFICATIONS)[1].url.params["min_id"] == "34975901"
    kept = service_quarantine()
    assert len(kept) == 1 and "created_at" in kept[0].reason


def service_quarantine() -> list:
    from rapport.conversations.queries import list_quarantine

    with session_scope() as s:
        return list_quarantine(s, source="channel:masto")[0]


def test_reply_threads_on_mastodon_and_is_idempotent(masto: str, replay: Replay) -> None:
    _routes(replay).on("GET", NOTIFICATIONS, "mastodon/notifications_mentions.json")
    service.do_poll_channel(masto, transport=replay.transport)
    reply = OutboundReply(
        outbox_id=7,
        channel=masto,
        text="Sorry about that! Firmware 2.4.1 fixes the nightly reboot; Settings → Update.",
        in_reply_to_external_id="112345678901234567",
    )
    with session_scope(write=True) as s:
        receipt = service.do_send(s, reply, transport=replay.transport)
    assert receipt.external_id == "112345740000000005"
    [post] = replay.sent("POST", "/api/v1/statuses")
    body = json.loads(post.content)
    assert body["in_reply_to_id"] == "112345678901234567"
    assert body["status"].startswith("@ana@fosstodon.example Sorry about that!")
    assert body["visibility"] == "public"
    assert post.headers["idempotency-key"] == "rapport-outbox-7"

    private = OutboundReply(
        outbox_id=8,
        channel=masto,
        text="Can you DM your order number?",
        to_handle="ana@fosstodon.example",
        in_reply_to_external_id="112345678901234567",
        private=True,
    )
    with session_scope(write=True) as s:
        service.do_send(s, private, transport=replay.transport)
    assert json.loads(replay.sent("POST", "/api/v1/statuses")[1].content)["visibility"] == "direct"
    with session_scope() as s:
        from rapport.channels.queries import get_channel

        assert get_channel(s, masto).health.sent == 2  # type: ignore[union-attr]


def test_short_rate_limit_is_waited_out(masto: str, replay: Replay) -> None:
    _routes(replay).on(
        "GET", NOTIFICATIONS, "mastodon/rate_limited.json", "mastodon/notifications_mentions.json"
    )
    result = service.do_poll_channel(masto, transport=replay.transport)
    assert result.error is None and result.inserted == 4
    assert len(replay.sent("GET", NOTIFICATIONS)) == 2  # the 429, then the retry after 1 s


def test_long_rate_limit_backs_the_channel_off(masto: str, replay: Replay, cli) -> None:
    _routes(replay).on("GET", NOTIFICATIONS, "mastodon/rate_limited_long.json")
    before = utcnow()
    result = service.do_poll_channel(masto, transport=replay.transport)
    assert result.error and result.error.startswith("RateLimited")
    assert len(replay.sent("GET", NOTIFICATIONS)) == 1  # not hammered
    assert result.backoff_until is not None
    assert before + timedelta(seconds=280) < result.backoff_until < before + timedelta(seconds=300)
    health = cli("channels", "list", "--json").json()["channels"][0]["health"]
    assert health["status"] == "backing-off" and "429" in health["last_error"]
    # The next scheduled poll is skipped until the platform's time is up.
    again = service.do_poll_channel(masto, transport=replay.transport)
    assert again.skipped and len(replay.sent("GET", NOTIFICATIONS)) == 1


def test_revoked_token_fails_without_retrying(masto: str, replay: Replay) -> None:
    _routes(replay).on("GET", NOTIFICATIONS, "mastodon/unauthorized.json")
    result = service.do_poll_channel(masto, transport=replay.transport)
    assert result.error and "HTTP 401" in result.error and "access token is invalid" in result.error
    assert len(replay.sent("GET", NOTIFICATIONS)) == 1
    replay.routes.clear()
    replay.on("POST", "/api/v1/statuses", "mastodon/unauthorized.json")
    with session_scope(write=True) as s, pytest.raises(SendFailed) as failed:
        service.do_send(s, OutboundReply(1, masto, "hi"), transport=replay.transport)
    assert failed.value.retryable is False


def test_check_verifies_credentials(masto: str, replay: Replay) -> None:
    replay.on("GET", "/api/v1/accounts/verify_credentials", "mastodon/verify_credentials.json")
    assert service.do_check_channel(masto, transport=replay.transport) == (
        "signed in as @acmehelp on https://mastodon.example"
    )
