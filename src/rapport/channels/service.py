"""The channels service. Connectors are looked up by channel name; a channel
without a configured connector (imported history) cannot send."""

from __future__ import annotations

from sqlalchemy.orm import Session

from rapport.channels.base import OutboundReply, Receipt
from rapport.channels.errors import NoConnector


def do_send(session: Session, reply: OutboundReply) -> Receipt:
    """Send ``reply`` through its channel's connector.

    Raises `NoConnector` when the channel has no live connector, `SendFailed`
    when the platform refuses (``retryable`` tells the outbox what to do).
    """
    raise NoConnector(
        f"channel {reply.channel!r} has no live connector (imported history): "
        "nothing can be sent through it"
    )
