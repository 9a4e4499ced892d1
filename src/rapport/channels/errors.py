"""Errors of the channels domain."""

from rapport.errors import NotFoundError, RapportError


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


class ChannelNotFound(NotFoundError):
    """No channel has this name, or it has no connector configured."""


class ChannelConfigError(ChannelError):
    """A connector's options are missing or wrong (what, and how to fix it)."""


class CredentialsError(ChannelError):
    """Stored credentials cannot be decrypted (the key changed or was lost)."""


class ConnectorFailed(ChannelError):
    """A poll or a platform call failed; ``retryable`` says whether trying
    later may succeed (timeouts, 5xx, rate limits) or needs a person
    (bad credentials, 4xx)."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class RateLimited(ConnectorFailed):
    """The platform asked us to wait ``retry_after`` seconds (HTTP 429,
    `Retry-After`, or a rate-limit budget at zero)."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message, retryable=True)
        self.retry_after = retry_after


class WebhookRefused(ChannelError):
    """A webhook delivery was refused; ``status`` is the HTTP answer."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class SignatureInvalid(WebhookRefused):
    """Missing or wrong signature: the delivery is not stored."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=401)


class PayloadTooLarge(WebhookRefused):
    def __init__(self, message: str) -> None:
        super().__init__(message, status=413)
