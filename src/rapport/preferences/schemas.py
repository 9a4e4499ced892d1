"""Pydantic schemas of the preferences domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rapport.conversations.schemas import IdentityPublic


class CustomerRequestPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    person_id: int
    kind: str
    status: str
    details: dict[str, Any]
    requested_at: datetime
    handled_at: datetime | None
    handled_by: str | None
    note: str | None


class CustomerRequestUpdate(BaseModel):
    """Closing a request: done (carried out) or rejected (with a reason)."""

    status: Literal["done", "rejected"]
    note: str | None = Field(default=None, max_length=500)


class PreferenceLink(BaseModel):
    """A signed link a customer opens without logging in."""

    person_id: int
    path: str
    expires_at: datetime
    #: The absolute URL, when the server knows its own address.
    url: str | None = None


class ChannelConsent(BaseModel):
    """Whether we may write to the person on one channel, and why."""

    channel: str
    allowed: bool
    reason: str
    #: A change the customer asked for that is not applied yet (True/False), if any.
    pending: bool | None = None


class PreferenceView(BaseModel):
    """What the customer sees on their page."""

    person_id: int
    identities: list[IdentityPublic]
    channels: list[ChannelConsent]
    preferred_channel: str | None
    pending_preferred_channel: str | None
    requests: list[CustomerRequestPublic]
