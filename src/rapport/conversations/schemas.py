"""Pydantic schemas of the conversations domain (the API and `--json` shapes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class QuarantinedRowPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    source: str
    line: int | None
    field: str | None
    reason: str
    raw: str
    created_at: datetime


class MessagePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    channel: str
    external_id: str
    author: str | None
    author_identity_id: int | None
    direction: str
    created_at: datetime
    text: str
    parent_external_id: str | None
    thread_id: int
    meta: dict[str, Any]


class ThreadPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    channel: str
    first_message_at: datetime
    last_message_at: datetime
    message_count: int


class ChannelPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: str
    created_at: datetime


class IdentityPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    channel: str
    handle: str
    display_name: str | None
    is_account: bool
