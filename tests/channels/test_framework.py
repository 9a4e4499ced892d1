"""The connector framework: configuration, credentials at rest, sending
rules, the schedule, and the CLI's refusals."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from rapport.audit.service import list_events
from rapport.channels import service
from rapport.channels.base import OutboundReply
from rapport.channels.errors import NoConnector
from rapport.channels.models import ChannelConnector
from rapport.conversations.models import Message
from rapport.scheduling import queries as schedule
from rapport.scheduling.runner import run_due
from rapport.settings import reset_settings_cache
from rapport.storage.base import utcnow
from rapport.storage.engine import session_scope
from tests.channels.conftest import CASSETTES, FeedServer
from tests.conftest import FIXTURES, Database

TOKEN = "masto-token-SUPER-SECRET-42"


def _add_masto(cli, name: str = "masto") -> None:
    result = cli(
        "channels", "add", "mastodon", name, "--url", "https://mastodon.example", "--token", TOKEN
    )
    assert result.exit_code == 0, result.stderr


def test_credentials_are_encrypted_at_rest_and_never_listed(db: Database, cli) -> None:
    _add_masto(cli)
    with session_scope() as s:
        row = s.execute(select(ChannelConnector)).scalar_one()
    assert TOKEN not in (row.secrets or "") and TOKEN not in str(row.config)
    assert row.config == {
        "url": "https://mastodon.example",
        "queries": [],
        "visibility": "public",
        "interval": 60.0,
    }
    listed = cli("channels", "list", "--json")
    assert TOKEN not in listed.stdout
    assert listed.json()["channels"][0]["secrets"] == ["token"]
    with session_scope() as s:
        events, _ = list_events(s, action="channels.add")
    assert events[0].details["secrets"] == ["token"] and TOKEN not in str(events[0].details)


def test_a_changed_key_is_a_clear_error_and_rotation_works(db: Database, cli) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    os.environ["RAPPORT_CREDENTIALS_KEY"] = old
    reset_settings_cache()
    try:
        _add_masto(cli)
        os.environ["RAPPORT_CREDENTIALS_KEY"] = new
        reset_settings_cache()
        failed = cli("channels", "poll", "masto", "--json")
        assert failed.exit_code == 1
        assert "cannot decrypt the credentials of channel 'masto'" in failed.stderr
        os.environ["RAPPORT_CREDENTIALS_KEY"] = f"{new},{old}"
        reset_settings_cache()
        assert cli("channels", "rotate-key", "--json").json() == {"channels": 1}
        os.environ["RAPPORT_CREDENTIALS_KEY"] = new
        reset_settings_cache()
        with session_scope() as s:
            loaded = service._load(s, "masto")
        assert loaded.options.token == TOKEN
    finally:
        os.environ.pop("RAPPORT_CREDENTIALS_KEY", None)
        reset_settings_cache()


def test_history_feeds_and_unknown_channels_cannot_send(
    db: Database, cli, feed_server: FeedServer
) -> None:
    cli("ingest", str(FIXTURES / "amazon_alexa_sample.tsv"))
    cli("channels", "add", "rss", "blog", "--url", feed_server.url("/feed"))
    cli("channels", "add", "webhook", "hook", "--secret", "0123456789abcdef")
    with session_scope(write=True) as s:
        for channel, words in (
            ("reviews", "imported history"),
            ("blog", "read-only rss channel"),
            ("nowhere", "no channel named"),
            ("hook", "listen-only webhook"),
        ):
            with pytest.raises(NoConnector, match=words):
                service.do_send(s, OutboundReply(1, channel, "hello"))


def test_webhook_replies_are_signed_posts(db: Database, cli, replay) -> None:
    from rapport.channels.webhook.connector import sign

    cli(
        "channels", "add", "webhook", "shop", "--secret", "0123456789abcdef",
        "--set", "reply_url=https://shop.example/rapport/replies",
    )  # fmt: skip
    replay.on("POST", "/rapport/replies", "mastodon/verify_credentials.json")
    with session_scope(write=True) as s:
        receipt = service.do_send(
            s,
            OutboundReply(5, "shop", "On its way!", in_reply_to_external_id="m-1"),
            transport=replay.transport,
        )
    [post] = replay.requests
    assert post.headers["x-rapport-signature"] == sign("0123456789abcdef", post.content)
    assert receipt.external_id  # the receiver's id for the reply, or ours


def test_adding_a_channel_schedules_its_polls(db: Database, cli, feed_server: FeedServer) -> None:
    url = feed_server.serve("/feed.atom", (CASSETTES / "feeds" / "product-blog.atom").read_bytes())
    cli("channels", "add", "rss", "blog", "--url", url, "--interval", "900")
    cli("channels", "add", "webhook", "hook", "--secret", "0123456789abcdef")
    jobs = cli("schedule", "list", "--json").json()["jobs"]
    assert [(j["name"], j["kind"], j["interval_seconds"]) for j in jobs] == [
        ("channels.poll:blog", "channels.poll", 900.0)
    ]
    reports = run_due()
    assert [(r.name, r.ok) for r in reports] == [("channels.poll:blog", True)]
    with session_scope() as s:
        assert len(s.execute(select(Message)).all()) == 3
        job = schedule.get_job(s, "channels.poll:blog")
    assert job.runs == 1 and job.last_status == "ok"
    assert job.next_run_at > utcnow() + timedelta(seconds=850)
    assert run_due() == []  # nothing due until the interval has passed

    cli("channels", "disable", "blog")
    assert cli("channels", "poll", "--json").json() == {}
    cli("channels", "enable", "blog")
    removed = cli("channels", "remove", "blog", "--json")
    assert removed.json() == {"removed": "blog"}
    assert cli("schedule", "list", "--json").json()["jobs"] == []
    listed = {c["name"]: c for c in cli("channels", "list", "--json").json()["channels"]}
    assert listed["blog"]["live"] is False and listed["blog"]["messages"] == 3  # history kept


def test_a_failing_channel_job_waits_for_its_backoff(db: Database, cli) -> None:
    cli("channels", "add", "rss", "gone", "--url", "http://127.0.0.1:9/feed", "--interval", "60")
    [report] = run_due()
    assert not report.ok and "cannot reach" in (report.error or "")
    with session_scope() as s:
        job = schedule.get_job(s, "channels.poll:gone")
        row = s.execute(select(ChannelConnector)).scalar_one()
    assert job.last_status == "error" and job.failures == 1
    assert row.backoff_until is not None and job.next_run_at == row.backoff_until


def test_refusals_say_what_is_wrong(db: Database, cli) -> None:
    unknown = cli("channels", "add", "myspace", "x")
    assert unknown.exit_code == 1 and "unknown channel type 'myspace'" in unknown.stderr
    missing = cli("channels", "add", "mastodon", "m")
    assert (
        missing.exit_code == 1
        and "url: Field required" in missing.stderr
        and "token" in missing.stderr
    )
    bad_url = cli("channels", "add", "mastodon", "m", "--url", "mastodon.example", "--token", "t")
    assert bad_url.exit_code == 1 and "must start with https://" in bad_url.stderr
    extra = cli("channels", "add", "rss", "f", "--url", "http://x", "--set", "colour=blue")
    assert extra.exit_code == 1 and "colour: unknown option for rss" in extra.stderr
    short = cli("channels", "add", "webhook", "w", "--secret", "short")
    assert short.exit_code == 1 and "secret" in short.stderr
    assert cli("channels", "add", "rss", "f", "--url", "http://x").exit_code == 0
    again = cli("channels", "add", "rss", "f", "--url", "http://y")
    assert again.exit_code == 1 and "already has a rss connector" in again.stderr
    assert cli("channels", "remove", "nope").exit_code == 1
    assert cli("channels", "poll", "nope").exit_code == 1
    kinds = cli("channels", "kinds", "--json").json()["kinds"]
    assert [k["kind"] for k in kinds] == [
        "bluesky",
        "discourse",
        "email",
        "mastodon",
        "rss",
        "sms",
        "webhook",
    ]


def test_secret_can_come_from_stdin(db: Database, cli) -> None:
    result = cli(
        "channels", "add", "mastodon", "m", "--url", "https://mastodon.example",
        "--secret-stdin", "token", "--json", input=TOKEN + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    with session_scope() as s:
        assert service._load(s, "m").options.token == TOKEN


def test_full_amazon_reviews_export_loses_nothing(db: Database, cli, shared_data) -> None:
    path = shared_data / "reviews" / "amazon_alexa.tsv"
    result = cli("ingest", str(path), "--format", "reviews", "--channel", "alexa", "--json").json()
    assert result["read"] == 3150 and result["quarantined"] == 0
    assert result["inserted"] + result["duplicates"] == 3150
    with session_scope() as s:
        rating_only = s.execute(select(Message).where(Message.text == "")).scalars().all()
    assert len(rating_only) == 79 and all(m.meta["rating_only"] for m in rating_only)
    assert all(1 <= m.meta["rating"] <= 5 for m in rating_only)
