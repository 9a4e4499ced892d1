"""Errors of the channels domain."""

from rapport.errors import RapportError


class ChannelError(RapportError):
    """A channel operation failed or was refused."""


class NoConnector(ChannelError):
    """The channel has no live connector (e.g. imported history): nothing can
    be sent through it. The outbox records the reply as undeliverable."""


class SendFailed(ChannelError):
    """The platform refused or failed the send; ``retryable`` says whether
    trying again later may succeed (timeouts, 429, 5xx)."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable
