"""The one interface every connector implements, and the values that cross it.

    poll(cursor)   -> Page          fetch what is new since the stored cursor
    receive(body)  -> [messages]    parse a webhook delivery
    send(reply)    -> Receipt       publish a reply (raises SendFailed/NoConnector)

Engagement's outbox calls `rapport.channels.service.do_send`; channels never
call engagement. Incoming messages enter through the conversations service.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from rapport.conversations.importers.records import ParsedMessage, Rejected


@dataclass(frozen=True)
class OutboundReply:
    """A reply leaving through a channel."""

    outbox_id: int
    channel: str
    text: str
    #: The handle the reply is for (the customer), when the platform needs it.
    to_handle: str | None = None
    #: The platform id of the message answered, for threading on the platform.
    in_reply_to_external_id: str | None = None
    #: Send privately (DM, direct visibility, email) rather than in public.
    private: bool = False
    #: The handle of our account speaking, when the channel has several.
    from_account: str | None = None


@dataclass(frozen=True)
class Receipt:
    """What the platform answered to a send."""

    external_id: str
    sent_at: datetime
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class Page:
    """One poll's result: parsed messages (raw kept), rejects, next cursor."""

    messages: list[ParsedMessage]
    rejected: list[Rejected] = field(default_factory=list)
    cursor: str | None = None
    #: Seconds the platform asked us to wait before polling again (rate limits).
    retry_after: float | None = None
    #: More is waiting right now: poll again with ``cursor`` (after storing this page).
    has_more: bool = False


class Connector(Protocol):
    """A live channel."""

    kind: str
    name: str

    def poll(self, cursor: str | None) -> Page: ...

    def receive(self, body: bytes, headers: dict[str, str]) -> Page:
        """Parse one webhook delivery. ``headers`` have lower-case names;
        ``:url`` holds the full URL the delivery was posted to. Raises
        `SignatureInvalid` for an unauthenticated delivery."""
        ...

    def send(self, reply: OutboundReply) -> Receipt: ...

    def check(self) -> str:
        """Reach the platform with the stored credentials; a one-line verdict
        (raises `ConnectorFailed` when it cannot)."""
        ...


@dataclass(frozen=True)
class StoredMessage:
    """What a connector may need of a message already stored on its channel
    (replying to it: the parent's author, platform refs, mail headers)."""

    external_id: str
    author: str | None
    text: str
    meta: dict[str, Any]
    created_at: datetime


@dataclass
class ConnectorContext:
    """What the service hands a connector besides its configuration."""

    #: The HTTP transport seam: tests replay recorded responses through
    #: `httpx.MockTransport`; None means the network.
    transport: Any = None
    #: A stored message of this channel by external id (None: not stored).
    lookup: Callable[[str], StoredMessage | None] = field(default=lambda _ext: None)
    #: The newest stored message exchanged with a handle on this channel
    #: (SMS has no reply links: a conversation is the run of messages with a number).
    latest_with: Callable[[str], str | None] = field(default=lambda _handle: None)
    #: Session state the connector keeps between runs (access tokens...);
    #: stored encrypted, saved when changed.
    state: dict[str, Any] = field(default_factory=dict)
