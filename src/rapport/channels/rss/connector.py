"""RSS/Atom: poll a feed with conditional GET (ETag / Last-Modified); every
entry becomes a message, idempotent by its id (guid, or link).

A feed that cannot be read at all (not XML, not a feed) is quarantined raw
with feedparser's reason; a single entry without id, link or title is
quarantined on its own while the others are stored. Star ratings of review
feeds (`rating`, `review:rating`, `im:rating`...) are kept in the meta.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import time
from datetime import UTC, datetime
from typing import Any

import feedparser
import httpx
from pydantic import BaseModel, ConfigDict, Field

from rapport.channels.base import ConnectorContext, OutboundReply, Page, Receipt
from rapport.channels.errors import NoConnector, WebhookRefused
from rapport.channels.htmltext import html_to_text
from rapport.channels.httpapi import HttpApi
from rapport.channels.registry import ConnectorType
from rapport.conversations.importers.records import ParsedMessage, Rejected
from rapport.conversations.models import INBOUND

#: Raw feed bytes kept in quarantine at most (a broken feed is not a dump).
MAX_QUARANTINED_BYTES = 1_000_000
_RATING_KEYS = ("rating", "review_rating", "im_rating", "g_rating", "reviewrating")


class RssOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="The feed's URL (RSS 0.9x-2.0, RDF or Atom).")
    interval: float = Field(300.0, gt=0, description="Seconds between polls.")


def _stamp(parsed: Any) -> datetime | None:
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _jsonable(value: Any) -> Any:
    if isinstance(value, time.struct_time):
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _rating(entry: dict[str, Any]) -> float | None:
    for key in _RATING_KEYS:
        value = entry.get(key)
        if isinstance(value, dict):
            value = value.get("value") or value.get("rating")
        if value in (None, ""):
            continue
        try:
            return float(str(value).strip())
        except ValueError:
            continue
    return None


def _body(entry: dict[str, Any]) -> str:
    contents = entry.get("content") or []
    for part in contents:
        if isinstance(part, dict) and part.get("value"):
            return html_to_text(str(part["value"]))
    summary = entry.get("summary") or entry.get("description") or ""
    return html_to_text(str(summary))


def parse_feed(
    content: bytes, *, channel: str, fetched_at: datetime, headers: dict[str, str] | None = None
) -> Page:
    """A fetched feed document as a page of messages and rejects."""
    parsed = feedparser.parse(content, response_headers=headers or {})
    entries = parsed.get("entries") or []
    if not entries and (parsed.get("bozo") or not parsed.get("version")):
        reason = parsed.get("bozo_exception") or "no feed version recognised"
        head = content[:MAX_QUARANTINED_BYTES]
        try:
            raw, raw_bytes = head.decode("utf-8"), None
        except UnicodeDecodeError:
            raw, raw_bytes = head.decode("utf-8", "replace"), head
        return Page(
            messages=[],
            rejected=[
                Rejected(
                    None,
                    f"malformed feed: {reason} ({len(content)} bytes; nothing could be read)",
                    raw,
                    field="feed",
                    raw_bytes=raw_bytes,
                )
            ],
        )
    feed = parsed.get("feed") or {}
    feed_title = str(feed.get("title") or "")
    messages: list[ParsedMessage] = []
    rejected: list[Rejected] = []
    for index, entry in enumerate(entries, 1):
        raw = json.dumps(_jsonable(dict(entry)), ensure_ascii=False, sort_keys=True)
        external_id = str(entry.get("id") or entry.get("guid") or entry.get("link") or "").strip()
        title = html_to_text(str(entry.get("title") or ""))
        if not external_id:
            if not title:
                rejected.append(
                    Rejected(
                        index,
                        "feed entry has no id, link or title: cannot be told apart",
                        raw,
                        field="id",
                    )
                )
                continue
            external_id = (
                "sha1:"
                + hashlib.sha1(f"{title}\x1f{entry.get('published', '')}".encode()).hexdigest()
            )
        created = _stamp(entry.get("published_parsed")) or _stamp(entry.get("updated_parsed"))
        meta: dict[str, Any] = {
            "title": title,
            "link": entry.get("link"),
            "feed_title": feed_title,
        }
        if created is None:
            created = fetched_at
            meta["date_missing"] = True
        tags = [
            t.get("term") for t in entry.get("tags") or [] if isinstance(t, dict) and t.get("term")
        ]
        if tags:
            meta["tags"] = tags
        rating = _rating(entry)
        if rating is not None:
            meta["rating"] = rating
        body = _body(entry)
        text = (
            f"{title}\n\n{body}".strip() if title and not body.startswith(title) else body or title
        )
        author = str(entry.get("author") or "").strip() or None
        messages.append(
            ParsedMessage(
                external_id=external_id[:255],
                author=author[:255] if author else None,
                author_name=author,
                direction=INBOUND,
                created_at=created,
                text=text,
                raw=raw,
                line=index,
                channel=channel,
                meta=meta,
            )
        )
    return Page(messages=messages, rejected=rejected)


class RssConnector:
    kind = "rss"

    def __init__(self, name: str, options: RssOptions, ctx: ConnectorContext) -> None:
        self.name = name
        self.options = options
        self.ctx = ctx

    def _fetch(self, cursor: dict[str, Any]) -> httpx.Response:
        headers = {
            "Accept": "application/atom+xml, application/rss+xml, application/xml;q=0.9, */*;q=0.5"
        }
        if cursor.get("etag"):
            headers["If-None-Match"] = cursor["etag"]
        if cursor.get("modified"):
            headers["If-Modified-Since"] = cursor["modified"]
        with HttpApi("", platform=f"feed {self.options.url}", transport=self.ctx.transport) as api:
            return api.request("GET", self.options.url, headers=headers, ok=(304,))

    def poll(self, cursor: str | None) -> Page:
        state = json.loads(cursor) if cursor else {}
        response = self._fetch(state)
        if response.status_code == 304:
            return Page(messages=[], cursor=cursor)
        fetched_at = datetime.now(UTC)
        page = parse_feed(
            response.content,
            channel=self.name,
            fetched_at=fetched_at,
            headers={k.lower(): v for k, v in response.headers.items()},
        )
        new_state = {
            k: v
            for k, v in {
                "etag": response.headers.get("etag"),
                "modified": response.headers.get("last-modified"),
            }.items()
            if v
        }
        page.cursor = json.dumps(new_state, sort_keys=True) if new_state else None
        return page

    def receive(self, body: bytes, headers: dict[str, str]) -> Page:
        raise WebhookRefused(
            f"channel {self.name!r} is a feed: it is polled, not pushed to", status=404
        )

    def send(self, reply: OutboundReply) -> Receipt:
        raise NoConnector(
            f"channel {self.name!r} is a feed: feeds are read-only, nothing can be sent"
        )

    def check(self) -> str:
        response = self._fetch({})
        page = parse_feed(response.content, channel=self.name, fetched_at=datetime.now(UTC))
        if page.rejected and not page.messages:
            return f"reachable, but {page.rejected[0].reason}"
        return f"feed readable: {len(page.messages)} entries"


CONNECTOR_TYPE = ConnectorType(
    kind="rss",
    summary="RSS/Atom feed (forums, blogs, review and news feeds); read-only",
    options=RssOptions,
    secret_fields=frozenset(),
    build=RssConnector,
    pollable=True,
    receives=False,
    sends=False,
    default_interval=300.0,
)
