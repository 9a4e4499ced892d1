"""Bluesky over the AT Protocol's XRPC HTTP API.

Sign-in: `com.atproto.server.createSession` with an app password; the
session's tokens are kept (encrypted) between runs and renewed with
`com.atproto.server.refreshSession`, so polling does not burn the strict
sign-in budget. Poll: `app.bsky.notification.listNotifications` (mentions,
replies, quotes) and `app.bsky.feed.searchPosts?sort=latest&since=...` per
`--query`. Send: `com.atproto.repo.createRecord` of an `app.bsky.feed.post`
whose `reply` holds the thread's root and parent strong refs (uri + cid).
"""

from __future__ import annotations

import contextlib
import json
import re
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rapport.channels.base import ConnectorContext, OutboundReply, Page, Receipt
from rapport.channels.errors import ConnectorFailed, SendFailed, WebhookRefused
from rapport.channels.httpapi import HttpApi
from rapport.channels.registry import ConnectorType
from rapport.conversations.importers.records import ParsedMessage, Rejected
from rapport.conversations.importers.timestamps import TimestampError, parse_any
from rapport.conversations.models import INBOUND, OUTBOUND

PAGE_LIMIT = 50
MAX_PAGES = 5
POST_GRAPHEMES = 300
_REASONS = {"mention", "reply", "quote"}
CHAT_PROXY = "did:web:api.bsky.chat#bsky_chat"
_LINK = re.compile(r"https?://[^\s]+")
_MENTION = re.compile(r"(?<![\w@])@([a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)+)")


class BlueskyOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    handle: str = Field(description="Our handle or DID, e.g. rapport.bsky.social")
    password: str = Field(description="An app password (Settings → App passwords).")
    url: str = Field("https://bsky.social", description="The PDS / entryway to sign in at.")
    queries: list[str] = Field(default_factory=list, description="Search terms (repeat --query).")
    interval: float = Field(60.0, gt=0, description="Seconds between polls.")


def post_message(
    post: Any, *, channel: str, our_did: str | None, our_handle: str, extra: dict[str, Any]
) -> ParsedMessage:
    """A post view (or a notification, which has the same fields) as a message."""
    if not isinstance(post, dict):
        raise ValueError("post is not an object")
    uri, cid = post.get("uri"), post.get("cid")
    author = post.get("author")
    record = post.get("record")
    if not isinstance(uri, str) or not uri.startswith("at://"):
        raise ValueError("post has no at:// uri")
    if not isinstance(author, dict) or not author.get("handle"):
        raise ValueError("post has no author.handle")
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise ValueError("post has no record.text")
    try:
        created = parse_any(str(record.get("createdAt") or post.get("indexedAt") or ""))
    except TimestampError as exc:
        raise ValueError(f"createdAt: {exc}") from None
    reply = record.get("reply") if isinstance(record.get("reply"), dict) else {}
    parent = (reply.get("parent") or {}) if reply else {}
    root = (reply.get("root") or {}) if reply else {}
    handle = str(author["handle"])
    ours = author.get("did") == our_did or handle.casefold() == our_handle.casefold()
    meta = {
        "cid": cid,
        "author_did": author.get("did"),
        "root_uri": root.get("uri"),
        "root_cid": root.get("cid"),
        "parent_cid": parent.get("cid"),
        "langs": record.get("langs"),
        "reply_count": post.get("replyCount"),
        "repost_count": post.get("repostCount"),
        "like_count": post.get("likeCount"),
        "quote_count": post.get("quoteCount"),
        "indexed_at": post.get("indexedAt"),
        **extra,
    }
    return ParsedMessage(
        external_id=uri,
        author=handle,
        author_name=str(author.get("displayName") or "") or None,
        direction=OUTBOUND if ours else INBOUND,
        created_at=created,
        text=record["text"],
        raw=json.dumps(post, ensure_ascii=False),
        channel=channel,
        parent_external_id=parent.get("uri") or None,
        meta={k: v for k, v in meta.items() if v not in (None, [], "")},
    )


def _graphemes(text: str) -> int:
    """Grapheme clusters, approximately: combining marks and joiners do not count."""
    import unicodedata

    return sum(
        1
        for ch in text
        if not unicodedata.combining(ch)
        and ch not in "\u200d\ufe0f"
        and not 0x1F3FB <= ord(ch) <= 0x1F3FF
    )


class BlueskyConnector:
    kind = "bluesky"

    def __init__(self, name: str, options: BlueskyOptions, ctx: ConnectorContext) -> None:
        self.name = name
        self.options = options
        self.ctx = ctx

    # ------------------------------------------------------------ session

    def _signin(self, api: HttpApi) -> None:
        state = self.ctx.state
        if state.get("accessJwt") and state.get("did"):
            return
        if state.get("refreshJwt"):
            try:
                session = api.post_json(
                    "/xrpc/com.atproto.server.refreshSession",
                    headers={"Authorization": f"Bearer {state['refreshJwt']}"},
                )
                self._keep(session)
                return
            except ConnectorFailed as exc:
                if exc.retryable:
                    raise
                state.clear()
        session = api.post_json(
            "/xrpc/com.atproto.server.createSession",
            json={"identifier": self.options.handle, "password": self.options.password},
        )
        self._keep(session)

    def _keep(self, session: Any) -> None:
        if not isinstance(session, dict) or not session.get("accessJwt"):
            raise ConnectorFailed("bluesky: the sign-in answer has no accessJwt", retryable=False)
        self.ctx.state.update(
            accessJwt=session["accessJwt"],
            refreshJwt=session.get("refreshJwt"),
            did=session.get("did"),
        )

    def _call(
        self,
        api: HttpApi,
        method: str,
        nsid: str,
        *,
        proxy: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """One authenticated XRPC call; an expired access token is renewed once.
        ``proxy`` asks the PDS to forward the call to a service (chat)."""
        self._signin(api)
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self.ctx.state['accessJwt']}"}
            if proxy:
                headers["atproto-proxy"] = proxy
            response = api.request(
                method, f"/xrpc/{nsid}", headers=headers, ok=(400, 401), **kwargs
            )
            if response.status_code < 300:
                return api.json_of(response, nsid)
            error = ""
            with contextlib.suppress(ValueError):
                error = str(response.json().get("error", ""))
            if attempt == 1 and (
                error in {"ExpiredToken", "InvalidToken"} or response.status_code == 401
            ):
                self.ctx.state.pop("accessJwt", None)
                self._signin(api)
                continue
            raise ConnectorFailed(
                f"bluesky: {nsid} refused (HTTP {response.status_code}): {response.text[:300]}",
                retryable=False,
            )
        raise AssertionError("unreachable")

    def _api(self) -> HttpApi:
        return HttpApi(
            self.options.url.rstrip("/"), platform="bluesky", transport=self.ctx.transport
        )

    # ------------------------------------------------------------ poll

    def poll(self, cursor: str | None) -> Page:
        state: dict[str, str] = json.loads(cursor) if cursor else {}
        page = Page(messages=[])
        with self._api() as api:
            self._poll_notifications(api, state, page)
            for query in self.options.queries:
                self._poll_search(api, query, state, page)
        page.cursor = json.dumps(state, sort_keys=True)
        return page

    def _add(self, page: Page, item: Any, extra: dict[str, Any]) -> None:
        try:
            page.messages.append(
                post_message(
                    item,
                    channel=self.name,
                    our_did=self.ctx.state.get("did"),
                    our_handle=self.options.handle,
                    extra=extra,
                )
            )
        except ValueError as exc:
            page.rejected.append(
                Rejected(
                    None,
                    f"bluesky {extra.get('stream')}: {exc}",
                    json.dumps(item, ensure_ascii=False),
                )
            )

    def _poll_notifications(self, api: HttpApi, state: dict[str, str], page: Page) -> None:
        seen = state.get("notifications")
        newest = seen
        next_cursor: str | None = None
        for _ in range(MAX_PAGES):
            params: dict[str, Any] = {"limit": PAGE_LIMIT}
            if next_cursor:
                params["cursor"] = next_cursor
            body = self._call(api, "GET", "app.bsky.notification.listNotifications", params=params)
            items = body.get("notifications") or []
            reached_seen = False
            for item in items:
                indexed = str(item.get("indexedAt") or "")
                if seen and indexed and indexed <= seen:
                    reached_seen = True
                    continue
                if newest is None or indexed > newest:
                    newest = indexed
                if item.get("reason") in _REASONS:
                    self._add(page, item, {"stream": "notifications", "reason": item.get("reason")})
            next_cursor = body.get("cursor")
            if reached_seen or not next_cursor or not items or seen is None:
                break
        if newest:
            state["notifications"] = newest

    def _poll_search(self, api: HttpApi, query: str, state: dict[str, str], page: Page) -> None:
        key = f"search:{query}"
        since = state.get(key)
        newest = since
        next_cursor: str | None = None
        for _ in range(MAX_PAGES):
            params: dict[str, Any] = {"q": query, "sort": "latest", "limit": PAGE_LIMIT}
            if since:
                params["since"] = since
            if next_cursor:
                params["cursor"] = next_cursor
            body = self._call(api, "GET", "app.bsky.feed.searchPosts", params=params)
            posts = body.get("posts") or []
            for post in posts:
                indexed = str(post.get("indexedAt") or "") if isinstance(post, dict) else ""
                if newest is None or indexed > newest:
                    newest = indexed
                self._add(page, post, {"stream": key})
            next_cursor = body.get("cursor")
            if not next_cursor or not posts or since is None:
                break
        if newest:
            state[key] = newest

    def receive(self, body: bytes, headers: dict[str, str]) -> Page:
        raise WebhookRefused(
            f"channel {self.name!r} (bluesky) is polled, not pushed to", status=404
        )

    # ------------------------------------------------------------ send

    def _strong_refs(self, api: HttpApi, uri: str) -> tuple[dict[str, str], dict[str, str]]:
        """(root, parent) strong refs for a reply to ``uri``."""
        stored = self.ctx.lookup(uri)
        if stored and stored.meta.get("cid"):
            parent = {"uri": uri, "cid": str(stored.meta["cid"])}
            if stored.meta.get("root_uri") and stored.meta.get("root_cid"):
                return {"uri": stored.meta["root_uri"], "cid": stored.meta["root_cid"]}, parent
            return parent, parent
        body = self._call(api, "GET", "app.bsky.feed.getPosts", params={"uris": uri})
        posts = body.get("posts") or []
        if not posts:
            raise SendFailed(f"bluesky: the post replied to is gone: {uri}", retryable=False)
        post = posts[0]
        parent = {"uri": post["uri"], "cid": post["cid"]}
        reply = (post.get("record") or {}).get("reply") or {}
        root = reply.get("root") or parent
        return {"uri": root["uri"], "cid": root["cid"]}, parent

    def _did_of(self, api: HttpApi, handle: str) -> str | None:
        """The DID behind ``handle`` (None when it does not resolve)."""
        if handle.startswith("did:"):
            return handle
        try:
            body = self._call(
                api, "GET", "com.atproto.identity.resolveHandle", params={"handle": handle}
            )
        except ConnectorFailed as exc:
            if exc.retryable:
                raise
            return None
        did = body.get("did") if isinstance(body, dict) else None
        return str(did) if did else None

    def _facets(self, api: HttpApi, text: str, known: dict[str, str]) -> list[dict[str, Any]]:
        """Rich-text facets (byte ranges of the UTF-8 text): links, and mentions
        of handles that resolve, so they render as links and notify."""
        facets: list[dict[str, Any]] = []
        for match in _LINK.finditer(text):
            url = match.group(0).rstrip(".,;:!?)")
            start = len(text[: match.start()].encode())
            facets.append(
                {
                    "index": {"byteStart": start, "byteEnd": start + len(url.encode())},
                    "features": [{"$type": "app.bsky.richtext.facet#link", "uri": url}],
                }
            )
        for match in _MENTION.finditer(text):
            handle = match.group(1).rstrip(".")
            did = known.get(handle.casefold()) or self._did_of(api, handle)
            if not did:
                continue
            start = len(text[: match.start()].encode())
            facets.append(
                {
                    "index": {"byteStart": start, "byteEnd": start + len(("@" + handle).encode())},
                    "features": [{"$type": "app.bsky.richtext.facet#mention", "did": did}],
                }
            )
        return facets

    def _send_private(self, reply: OutboundReply) -> Receipt:
        """A direct message through Bluesky chat (the app password needs DM access)."""
        parent = (
            self.ctx.lookup(reply.in_reply_to_external_id)
            if reply.in_reply_to_external_id
            else None
        )
        target = reply.to_handle or (parent.author if parent else None)
        did = str(parent.meta.get("author_did") or "") if parent and not reply.to_handle else ""
        try:
            with self._api() as api:
                did = did or (self._did_of(api, target) if target else None) or ""
                if not did:
                    raise SendFailed(
                        f"bluesky: cannot tell whom to message privately ({target!r})",
                        retryable=False,
                    )
                convo = self._call(
                    api,
                    "GET",
                    "chat.bsky.convo.getConvoForMembers",
                    proxy=CHAT_PROXY,
                    params={"members": did},
                )
                convo_id = (convo.get("convo") or {}).get("id")
                if not convo_id:
                    raise SendFailed(f"bluesky chat: no conversation with {did}", retryable=False)
                sent = self._call(
                    api,
                    "POST",
                    "chat.bsky.convo.sendMessage",
                    proxy=CHAT_PROXY,
                    json={"convoId": convo_id, "message": {"text": reply.text}},
                )
        except ConnectorFailed as exc:
            raise SendFailed(str(exc), retryable=exc.retryable) from None
        if not isinstance(sent, dict) or not sent.get("id"):
            raise SendFailed(
                f"bluesky chat answered without a message id: {sent!r:.200}", retryable=False
            )
        try:
            sent_at = parse_any(str(sent.get("sentAt")))
        except TimestampError:
            sent_at = datetime.now(UTC)
        return Receipt(external_id=f"chat:{convo_id}/{sent['id']}", sent_at=sent_at, raw=sent)

    def send(self, reply: OutboundReply) -> Receipt:
        if reply.private:
            return self._send_private(reply)
        if _graphemes(reply.text) > POST_GRAPHEMES:
            raise SendFailed(
                f"bluesky: posts are limited to {POST_GRAPHEMES} characters "
                f"(this reply has {_graphemes(reply.text)})",
                retryable=False,
            )
        now = datetime.now(UTC)
        record: dict[str, Any] = {
            "$type": "app.bsky.feed.post",
            "text": reply.text,
            "createdAt": now.isoformat().replace("+00:00", "Z"),
        }
        try:
            with self._api() as api:
                self._signin(api)
                known: dict[str, str] = {}
                if reply.in_reply_to_external_id:
                    root, parent = self._strong_refs(api, reply.in_reply_to_external_id)
                    record["reply"] = {"root": root, "parent": parent}
                    stored = self.ctx.lookup(reply.in_reply_to_external_id)
                    if stored and stored.author and stored.meta.get("author_did"):
                        known[stored.author.casefold()] = str(stored.meta["author_did"])
                facets = self._facets(api, reply.text, known)
                if facets:
                    record["facets"] = facets
                created = self._call(
                    api,
                    "POST",
                    "com.atproto.repo.createRecord",
                    json={
                        "repo": self.ctx.state.get("did") or self.options.handle,
                        "collection": "app.bsky.feed.post",
                        "record": record,
                    },
                )
        except ConnectorFailed as exc:
            raise SendFailed(str(exc), retryable=exc.retryable) from None
        if not isinstance(created, dict) or not created.get("uri"):
            raise SendFailed(
                f"bluesky: createRecord answered without a uri: {created!r:.200}", retryable=False
            )
        return Receipt(
            external_id=str(created["uri"]), sent_at=now, raw={**created, "record": record}
        )

    def check(self) -> str:
        with self._api() as api:
            self._signin(api)
        return f"signed in as {self.options.handle} ({self.ctx.state.get('did')})"


CONNECTOR_TYPE = ConnectorType(
    kind="bluesky",
    summary="Bluesky (AT Protocol): notifications, post search; threaded replies",
    options=BlueskyOptions,
    secret_fields=frozenset({"password"}),
    build=BlueskyConnector,
    pollable=True,
    receives=False,
    sends=True,
    default_interval=60.0,
)
