"""The one interface every connector implements, and the values that cross it.

    poll(cursor)   -> Page          fetch what is new since the stored cursor
    receive(body)  -> [messages]    parse a webhook delivery
    send(reply)    -> Receipt       publish a reply (raises SendFailed/NoConnector)

Engagement's outbox calls `rapport.channels.service.do_send`; channels never
call engagement. Incoming messages enter through the conversations service.
"""

from __future__ import annotations

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


class Connector(Protocol):
    """A live channel."""

    kind: str
    name: str

    def poll(self, cursor: str | None) -> Page: ...

    def receive(self, body: bytes, headers: dict[str, str]) -> Page: ...

    def send(self, reply: OutboundReply) -> Receipt: ...
