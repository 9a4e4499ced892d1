"""Pydantic shapes of the channels domain (API and `--json`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class ChannelCreate(BaseModel):
    kind: str
    name: str = Field(min_length=1, max_length=100)
    #: The connector's options (secrets included; they are encrypted before storage).
    options: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True


class ChannelHealth(BaseModel):
    #: `ok`, `failing` (the last poll failed), `backing-off`, `disabled`, `new` (never polled).
    status: str
    last_poll_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    consecutive_failures: int = 0
    backoff_until: datetime | None = None
    polls: int = 0
    fetched: int = 0
    inserted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    webhooks_accepted: int = 0
    webhooks_refused: int = 0
    sent: int = 0
    send_failures: int = 0


class ChannelPublic(BaseModel):
    name: str
    kind: str
    #: A live connector is configured (False: imported history only).
    live: bool
    enabled: bool = False
    config: dict[str, Any] = Field(default_factory=dict)
    #: Names of the secret options stored (encrypted); never their values.
    secrets: list[str] = Field(default_factory=list)
    poll_interval_seconds: float | None = None
    next_poll_at: datetime | None = None
    cursor: str | None = None
    webhook_path: str | None = None
    messages: int = 0
    created_at: datetime | None = None
    health: ChannelHealth | None = None


class PollResult(BaseModel):
    """One channel's poll: the contract's `fetched` and `inserted`, and the rest."""

    fetched: int = 0
    inserted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    pages: int = 0
    error: str | None = None
    skipped: str | None = None
    backoff_until: datetime | None = None

    def contract(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class WebhookResult(BaseModel):
    channel: str
    received: int = 0
    inserted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    reasons: list[str] = Field(default_factory=list)
