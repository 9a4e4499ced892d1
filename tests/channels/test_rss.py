"""RSS/Atom feeds polled from a real local HTTP server through the CLI."""

from __future__ import annotations

from sqlalchemy import func, select

from rapport.conversations.models import Message, QuarantinedRow
from rapport.storage.engine import session_scope
from tests.channels.conftest import CASSETTES, FeedServer
from tests.conftest import Database

ATOM = (CASSETTES / "feeds" / "product-blog.atom").read_bytes()
RSS = (CASSETTES / "feeds" / "app-reviews.rss").read_bytes()


def _count(model: type) -> int:
    with session_scope() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def test_atom_feed_polled_twice_inserts_its_entries_once(
    db: Database, cli, feed_server: FeedServer
) -> None:
    url = feed_server.serve("/comments/feed.atom", ATOM)
    added = cli("channels", "add", "rss", "blog", "--url", url, "--json")
    assert added.exit_code == 0, added.stderr
    assert added.json()["kind"] == "rss" and added.json()["live"] is True

    first = cli("channels", "poll", "blog", "--json")
    assert first.exit_code == 0, first.stderr
    assert first.json()["blog"]["fetched"] == 3
    assert first.json()["blog"]["inserted"] == 3

    second = cli("channels", "poll", "blog", "--json")
    assert second.json()["blog"]["inserted"] == 0
    assert _count(Message) == 3
    # The second poll was a conditional GET the server answered 304.
    assert [status for _, status in feed_server.hits] == [200, 304]

    # The feed changes (a new ETag): entries already stored are not stored again.
    feed_server.serve("/comments/feed.atom", ATOM.replace(b"</feed>", b"<!-- v2 --></feed>"))
    third = cli("channels", "poll", "blog", "--json").json()["blog"]
    assert third == {**third, "fetched": 3, "inserted": 0, "duplicates": 3}
    assert _count(Message) == 3

    with session_scope() as s:
        rows = {m.external_id: m for m in s.execute(select(Message)).scalars()}
    first_comment = rows["tag:blog.acme.example,2024:comment-101"]
    assert first_comment.text.startswith("Firmware 2.4 broke my mesh setup\n\nSince the update")
    assert "<b>" not in first_comment.text  # HTML turned into text
    assert first_comment.meta["link"].endswith("#comment-101")
    assert '"id": "tag:blog.acme.example,2024:comment-101"' in first_comment.raw  # raw kept
    # 10:02+02:00 is 08:02 UTC.
    assert rows["tag:blog.acme.example,2024:comment-102"].created_at.isoformat() == (
        "2024-05-01T08:02:00+00:00"
    )

    listed = cli("channels", "list", "--json").json()["channels"]
    blog = next(c for c in listed if c["name"] == "blog")
    assert blog["health"]["status"] == "ok"
    assert blog["health"]["polls"] == 3 and blog["health"]["inserted"] == 3
    assert blog["messages"] == 3 and blog["health"]["last_poll_at"]


def test_review_feed_keeps_ratings_and_quarantines_an_unidentifiable_entry(
    db: Database, cli, feed_server: FeedServer
) -> None:
    url = feed_server.serve("/reviews.rss", RSS, "application/rss+xml")
    cli("channels", "add", "rss", "app-reviews", "--url", url)
    result = cli("channels", "poll", "app-reviews", "--json").json()["app-reviews"]
    assert result["inserted"] == 2 and result["quarantined"] == 1
    with session_scope() as s:
        ratings = {
            m.external_id: m.meta.get("rating") for m in s.execute(select(Message)).scalars()
        }
        kept = s.execute(select(QuarantinedRow)).scalar_one()
    assert ratings == {"review-5501": 1.0, "review-5502": 4.0}
    assert kept.source == "channel:app-reviews"
    assert "no id, link or title" in kept.reason


def test_malformed_feed_is_quarantined_and_the_poll_goes_on(
    db: Database, cli, feed_server: FeedServer
) -> None:
    broken = feed_server.serve(
        "/broken.xml", (CASSETTES / "feeds" / "not-a-feed.html").read_bytes(), "text/html"
    )
    good = feed_server.serve("/comments/feed.atom", ATOM)
    cli("channels", "add", "rss", "broken", "--url", broken)
    cli("channels", "add", "rss", "blog", "--url", good)

    result = cli("channels", "poll", "--json")
    assert result.exit_code == 0, result.stderr
    polled = result.json()
    assert polled["broken"]["quarantined"] == 1 and polled["broken"]["inserted"] == 0
    assert polled["blog"]["inserted"] == 3

    kept = cli("quarantine", "list", "--json").json()["items"]
    assert len(kept) == 1
    assert kept[0]["source"] == "channel:broken"
    assert kept[0]["reason"].startswith("malformed feed")
    assert "502 Bad Gateway" in kept[0]["raw"]

    listed = {c["name"]: c for c in cli("channels", "list", "--json").json()["channels"]}
    assert listed["broken"]["health"]["last_error"].startswith("quarantined: malformed feed")
    assert listed["broken"]["health"]["quarantined"] == 1

    # Polled again: the same broken document is not kept twice.
    cli("channels", "poll", "broken", "--json")
    assert len(cli("quarantine", "list", "--json").json()["items"]) == 1


def test_unreachable_feed_backs_off_and_shows_its_error(db: Database, cli) -> None:
    # Nothing listens on this loopback port: every attempt is refused.
    cli(
        "channels", "add", "rss", "gone", "--url", "http://127.0.0.1:9/feed.xml", "--interval", "60"
    )
    failed = cli("channels", "poll", "gone", "--json")
    assert failed.exit_code == 1
    outcome = failed.json()["gone"]
    assert outcome["inserted"] == 0 and "cannot reach" in outcome["error"]

    listed = {c["name"]: c for c in cli("channels", "list", "--json").json()["channels"]}
    health = listed["gone"]["health"]
    assert health["status"] == "backing-off"
    assert health["consecutive_failures"] == 1
    assert "cannot reach" in health["last_error"]
    assert health["backoff_until"] > health["last_poll_at"]

    # While backing off, a poll is skipped (not attempted) unless forced.
    skipped = cli("channels", "poll", "gone", "--json")
    assert skipped.exit_code == 0 and skipped.json()["gone"]["skipped"].startswith("backing off")
    forced = cli("channels", "poll", "gone", "--force", "--json")
    assert forced.exit_code == 1
    listed = {c["name"]: c for c in cli("channels", "list", "--json").json()["channels"]}
    assert listed["gone"]["health"]["consecutive_failures"] == 2
