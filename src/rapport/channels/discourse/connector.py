"""Discourse (REST API).

Poll: `GET /posts.json` lists the forum's latest posts, newest first; pages
go back with `before=<post id>` until the stored cursor (the highest post id
seen). A post's external id is `<topic id>/<post number>`, so replies thread
by `reply_to_post_number` (or to the topic's first post). Send: `POST
/posts.json` with `topic_id` + `reply_to_post_number` as the API user, or a
private message (`archetype=private_message`) when the reply is private.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rapport.channels.base import ConnectorContext, OutboundReply, Page, Receipt
from rapport.channels.errors import ConnectorFailed, SendFailed, WebhookRefused
from rapport.channels.htmltext import html_to_text
from rapport.channels.httpapi import HttpApi
from rapport.channels.registry import ConnectorType
from rapport.conversations.importers.records import ParsedMessage, Rejected
from rapport.conversations.importers.timestamps import TimestampError, parse_any
from rapport.conversations.models import INBOUND, OUTBOUND

MAX_PAGES = 10
#: Post types: 1 regular, 2 moderator action, 3 small action ("closed this topic"), 4 whisper.
_SKIPPED_POST_TYPES = {3}


class DiscourseOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="The forum, e.g. https://forum.example.com")
    handle: str | None = Field(None, description="The API user we post as (Api-Username).")
    token: str | None = Field(
        None, description="An API key (Admin → API); reading a public forum needs none."
    )
    interval: float = Field(120.0, gt=0, description="Seconds between polls.")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with https:// (the forum's address)")
        return value.rstrip("/")


def post_external_id(topic_id: Any, post_number: Any) -> str:
    return f"{int(topic_id)}/{int(post_number)}"


def post_message(post: Any, *, channel: str, base_url: str, our_user: str | None) -> ParsedMessage:
    if not isinstance(post, dict):
        raise ValueError("post is not an object")
    for key in ("id", "topic_id", "post_number", "username", "created_at"):
        if post.get(key) in (None, ""):
            raise ValueError(f"post has no {key}")
    try:
        created = parse_any(str(post["created_at"]))
    except TimestampError as exc:
        raise ValueError(f"created_at: {exc}") from None
    topic_id, number = int(post["topic_id"]), int(post["post_number"])
    reply_to = post.get("reply_to_post_number")
    if reply_to:
        parent: str | None = post_external_id(topic_id, reply_to)
    else:
        parent = post_external_id(topic_id, 1) if number > 1 else None
    raw_text = post.get("raw")
    text = (
        str(raw_text)
        if isinstance(raw_text, str) and raw_text
        else html_to_text(str(post.get("cooked") or ""))
    )
    title = str(post.get("topic_title") or "")
    if number == 1 and title:
        text = f"{title}\n\n{text}"
    username = str(post["username"])
    ours = our_user is not None and username.casefold() == our_user.casefold()
    slug = post.get("topic_slug") or "-"
    meta = {
        "post_id": post["id"],
        "topic_id": topic_id,
        "post_number": number,
        "topic_title": title or None,
        "category_id": post.get("category_id"),
        "url": f"{base_url}/t/{slug}/{topic_id}/{number}",
        "reads": post.get("reads"),
        "reply_count": post.get("reply_count"),
        "staff": post.get("staff") or None,
        "trust_level": post.get("trust_level"),
        "post_type": post.get("post_type"),
    }
    return ParsedMessage(
        external_id=post_external_id(topic_id, number),
        author=username,
        author_name=str(post.get("name") or "") or None,
        direction=OUTBOUND if ours else INBOUND,
        created_at=created,
        text=text,
        raw=json.dumps(post, ensure_ascii=False),
        channel=channel,
        parent_external_id=parent,
        meta={k: v for k, v in meta.items() if v is not None},
    )


class DiscourseConnector:
    kind = "discourse"

    def __init__(self, name: str, options: DiscourseOptions, ctx: ConnectorContext) -> None:
        self.name = name
        self.options = options
        self.ctx = ctx

    def _api(self) -> HttpApi:
        headers = {}
        if self.options.token:
            headers["Api-Key"] = self.options.token
            headers["Api-Username"] = self.options.handle or "system"
        return HttpApi(
            self.options.url, platform="discourse", headers=headers, transport=self.ctx.transport
        )

    def poll(self, cursor: str | None) -> Page:
        last_seen = int(cursor) if cursor and cursor.isdigit() else None
        page = Page(messages=[])
        newest = last_seen
        before: int | None = None
        with self._api() as api:
            for _ in range(MAX_PAGES):
                params = {"before": before} if before else None
                body = api.get_json("/posts.json", params=params)
                posts = body.get("latest_posts") if isinstance(body, dict) else None
                if not isinstance(posts, list):
                    raise ConnectorFailed(
                        "discourse: /posts.json has no latest_posts list", retryable=True
                    )
                lowest: int | None = None
                for post in posts:
                    post_id = post.get("id") if isinstance(post, dict) else None
                    if not isinstance(post_id, int):
                        page.rejected.append(
                            Rejected(
                                None,
                                "discourse post has no numeric id",
                                json.dumps(post, ensure_ascii=False),
                            )
                        )
                        continue
                    lowest = post_id if lowest is None else min(lowest, post_id)
                    if last_seen is not None and post_id <= last_seen:
                        continue
                    newest = post_id if newest is None else max(newest, post_id)
                    if post.get("post_type") in _SKIPPED_POST_TYPES:
                        continue
                    try:
                        page.messages.append(
                            post_message(
                                post,
                                channel=self.name,
                                base_url=self.options.url,
                                our_user=self.options.handle,
                            )
                        )
                    except ValueError as exc:
                        page.rejected.append(
                            Rejected(
                                None,
                                f"discourse post {post_id}: {exc}",
                                json.dumps(post, ensure_ascii=False),
                            )
                        )
                if last_seen is None or lowest is None or lowest <= last_seen + 1:
                    break
                before = lowest
        page.messages.reverse()  # oldest first: parents before their replies
        page.cursor = str(newest) if newest is not None else cursor
        return page

    def receive(self, body: bytes, headers: dict[str, str]) -> Page:
        raise WebhookRefused(
            f"channel {self.name!r} (discourse) is polled, not pushed to", status=404
        )

    def send(self, reply: OutboundReply) -> Receipt:
        if not self.options.token:
            raise SendFailed(
                f"discourse channel {self.name!r} has no API key: add one to post replies",
                retryable=False,
            )
        data: dict[str, Any] = {"raw": reply.text}
        parent = (
            self.ctx.lookup(reply.in_reply_to_external_id)
            if reply.in_reply_to_external_id
            else None
        )
        if reply.private:
            to = reply.to_handle or (parent.author if parent else None)
            if not to:
                raise SendFailed(
                    "discourse: a private message needs the recipient's username", retryable=False
                )
            title = str(parent.meta.get("topic_title") or "") if parent else ""
            data.update(
                title=(f"Re: {title}" if title else "A message from our team")[:250],
                target_recipients=to,
                archetype="private_message",
            )
        else:
            ref = reply.in_reply_to_external_id or ""
            topic, _, number = ref.partition("/")
            if not topic.isdigit() or not number.isdigit():
                raise SendFailed(
                    f"discourse: cannot tell the topic of message {ref!r} "
                    "(expected 'topic/post_number')",
                    retryable=False,
                )
            data.update(topic_id=int(topic), reply_to_post_number=int(number))
        try:
            with self._api() as api:
                post = api.post_json("/posts.json", json=data)
        except ConnectorFailed as exc:
            raise SendFailed(str(exc), retryable=exc.retryable) from None
        if not isinstance(post, dict) or "topic_id" not in post or "post_number" not in post:
            raise SendFailed(f"discourse answered without a post: {post!r:.200}", retryable=False)
        try:
            sent_at = parse_any(str(post.get("created_at")))
        except TimestampError:
            sent_at = datetime.now(UTC)
        return Receipt(
            external_id=post_external_id(post["topic_id"], post["post_number"]),
            sent_at=sent_at,
            raw=post,
        )

    def check(self) -> str:
        with self._api() as api:
            latest = api.get_json("/latest.json")
        topics = (latest.get("topic_list") or {}).get("topics") or []
        return f"forum readable: {len(topics)} latest topics"


CONNECTOR_TYPE = ConnectorType(
    kind="discourse",
    summary="Discourse forum: latest posts; replies and private messages as the API user",
    options=DiscourseOptions,
    secret_fields=frozenset({"token"}),
    build=DiscourseConnector,
    pollable=True,
    receives=False,
    sends=True,
    default_interval=120.0,
)
