"""Mastodon (REST API v1/v2).

Poll: mentions through `GET /api/v1/notifications?types[]=mention`, each
`--query` through `GET /api/v2/search?type=statuses` (keywords) or
`GET /api/v1/timelines/tag/:tag` (`#hashtag`), each stream with its own
`min_id` cursor. Send: `POST /api/v1/statuses` with `in_reply_to_id`,
visibility `direct` for private replies, and an `Idempotency-Key` so a
retried send never posts twice.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rapport.channels.base import ConnectorContext, OutboundReply, Page, Receipt
from rapport.channels.errors import ConnectorFailed, SendFailed, WebhookRefused
from rapport.channels.htmltext import html_to_text
from rapport.channels.httpapi import HttpApi
from rapport.channels.registry import ConnectorType
from rapport.conversations.importers.records import ParsedMessage, Rejected
from rapport.conversations.importers.timestamps import TimestampError, parse_any
from rapport.conversations.models import INBOUND, OUTBOUND

PAGE_LIMIT = 40


class MastodonOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="The instance, e.g. https://mastodon.social")
    token: str = Field(description="Access token (read:notifications read:search write:statuses).")
    handle: str | None = Field(None, description="Our account (acct), to recognise our own posts.")
    queries: list[str] = Field(
        default_factory=list, description="Keywords or #hashtags to listen for (repeat --query)."
    )
    visibility: str = Field(
        "public", description="Visibility of public replies (public, unlisted)."
    )
    interval: float = Field(60.0, gt=0, description="Seconds between polls.")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with https:// (the instance's address)")
        return value.rstrip("/")


def _id_key(value: str) -> tuple[int, str]:
    """Mastodon ids are numeric strings (snowflakes): compare them as numbers."""
    return (int(value), value) if value.isdigit() else (0, value)


def status_message(
    status: Any, *, channel: str, our_handle: str | None, meta_extra: dict[str, Any]
) -> ParsedMessage:
    """A Mastodon status entity as a message (raises ValueError when unusable)."""
    if not isinstance(status, dict):
        raise ValueError("status is not an object")
    status_id = status.get("id")
    account = status.get("account")
    if not isinstance(status_id, str) or not status_id:
        raise ValueError("status has no id")
    if not isinstance(account, dict) or not account.get("acct"):
        raise ValueError("status has no account.acct")
    try:
        created = parse_any(str(status.get("created_at") or ""))
    except TimestampError as exc:
        raise ValueError(f"created_at: {exc}") from None
    acct = str(account["acct"])
    text = html_to_text(str(status.get("content") or ""))
    if status.get("spoiler_text"):
        text = f"[CW: {status['spoiler_text']}] {text}"
    ours = our_handle is not None and acct.casefold() == our_handle.lstrip("@").casefold()
    meta = {
        "url": status.get("url"),
        "uri": status.get("uri"),
        "visibility": status.get("visibility"),
        "language": status.get("language"),
        "replies_count": status.get("replies_count"),
        "reblogs_count": status.get("reblogs_count"),
        "favourites_count": status.get("favourites_count"),
        "author_followers": account.get("followers_count"),
        "author_id": account.get("id"),
        "mentions": [m.get("acct") for m in status.get("mentions") or [] if isinstance(m, dict)],
        "tags": [t.get("name") for t in status.get("tags") or [] if isinstance(t, dict)],
        **meta_extra,
    }
    return ParsedMessage(
        external_id=status_id,
        author=acct,
        author_name=str(account.get("display_name") or "") or None,
        direction=OUTBOUND if ours else INBOUND,
        created_at=created,
        text=text,
        raw=json.dumps(status, ensure_ascii=False),
        channel=channel,
        parent_external_id=status.get("in_reply_to_id") or None,
        meta={k: v for k, v in meta.items() if v not in (None, [], "")},
    )


class MastodonConnector:
    kind = "mastodon"

    def __init__(self, name: str, options: MastodonOptions, ctx: ConnectorContext) -> None:
        self.name = name
        self.options = options
        self.ctx = ctx

    def _api(self) -> HttpApi:
        return HttpApi(
            self.options.url,
            platform="mastodon",
            headers={"Authorization": f"Bearer {self.options.token}"},
            transport=self.ctx.transport,
        )

    def _streams(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(cursor key, path, params) of every stream polled."""
        streams: list[tuple[str, str, dict[str, Any]]] = [
            ("mentions", "/api/v1/notifications", {"types[]": "mention"})
        ]
        for query in self.options.queries:
            if query.startswith("#") and " " not in query.strip():
                tag = quote(query.strip()[1:], safe="")
                streams.append((f"tag:{query.strip()}", f"/api/v1/timelines/tag/{tag}", {}))
            else:
                streams.append(
                    (f"search:{query}", "/api/v2/search", {"q": query, "type": "statuses"})
                )
        return streams

    def poll(self, cursor: str | None) -> Page:
        state: dict[str, str] = json.loads(cursor) if cursor else {}
        page = Page(messages=[])
        with self._api() as api:
            for key, path, params in self._streams():
                query = {**params, "limit": PAGE_LIMIT}
                if state.get(key):
                    query["min_id"] = state[key]
                body = api.get_json(path, params=query)
                items = body.get("statuses", []) if isinstance(body, dict) else body
                if not isinstance(items, list):
                    raise ConnectorFailed(f"mastodon: {path} did not answer a list", retryable=True)
                previous = newest = state.get(key)
                for item in items:
                    raw = json.dumps(item, ensure_ascii=False)
                    item_id = item.get("id") if isinstance(item, dict) else None
                    if isinstance(item_id, str) and (
                        newest is None or _id_key(item_id) > _id_key(newest)
                    ):
                        newest = item_id
                    status = (
                        item.get("status") if key == "mentions" and isinstance(item, dict) else item
                    )
                    extra: dict[str, Any] = {"stream": key}
                    if key == "mentions":
                        extra["notification_id"] = item_id
                    try:
                        page.messages.append(
                            status_message(
                                status,
                                channel=self.name,
                                our_handle=self.options.handle,
                                meta_extra=extra,
                            )
                        )
                    except ValueError as exc:
                        page.rejected.append(
                            Rejected(None, f"mastodon {key}: {exc}", raw, field=key)
                        )
                if newest:
                    state[key] = newest
                if previous and len(items) >= PAGE_LIMIT:
                    page.has_more = True
        page.cursor = json.dumps(state, sort_keys=True)
        return page

    def receive(self, body: bytes, headers: dict[str, str]) -> Page:
        raise WebhookRefused(
            f"channel {self.name!r} (mastodon) is polled, not pushed to", status=404
        )

    def send(self, reply: OutboundReply) -> Receipt:
        text = reply.text
        handle = reply.to_handle
        if handle is None and reply.in_reply_to_external_id:
            parent = self.ctx.lookup(reply.in_reply_to_external_id)
            handle = parent.author if parent else None
        if handle and f"@{handle.lstrip('@').casefold()}" not in text.casefold():
            # Mastodon shows a reply to its addressee only when it mentions them.
            text = f"@{handle.lstrip('@')} {text}"
        data: dict[str, Any] = {
            "status": text,
            "visibility": "direct" if reply.private else self.options.visibility,
        }
        if reply.in_reply_to_external_id:
            data["in_reply_to_id"] = reply.in_reply_to_external_id
        try:
            with self._api() as api:
                status = api.post_json(
                    "/api/v1/statuses",
                    json=data,
                    headers={"Idempotency-Key": f"rapport-outbox-{reply.outbox_id}"},
                )
        except ConnectorFailed as exc:
            raise SendFailed(str(exc), retryable=exc.retryable) from None
        if not isinstance(status, dict) or not status.get("id"):
            raise SendFailed(
                f"mastodon answered without a status id: {status!r:.200}", retryable=False
            )
        try:
            sent_at = parse_any(str(status.get("created_at")))
        except TimestampError:
            sent_at = datetime.now(UTC)
        return Receipt(external_id=str(status["id"]), sent_at=sent_at, raw=status)

    def check(self) -> str:
        with self._api() as api:
            account = api.get_json("/api/v1/accounts/verify_credentials")
        return f"signed in as @{account.get('acct')} on {self.options.url}"


CONNECTOR_TYPE = ConnectorType(
    kind="mastodon",
    summary="Mastodon: mentions, keyword/hashtag search; replies (direct when private)",
    options=MastodonOptions,
    secret_fields=frozenset({"token"}),
    build=MastodonConnector,
    pollable=True,
    receives=False,
    sends=True,
    default_interval=60.0,
)
