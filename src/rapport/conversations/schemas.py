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
    """One handle on one channel, written `CHANNEL:HANDLE`."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    channel: str
    handle: str
    display_name: str | None
    is_account: bool


class MessagePreview(BaseModel):
    """A message in a list: who, when, which way, the start of its text."""

    id: int
    author: str | None
    author_identity_id: int | None
    direction: str
    created_at: datetime
    text: str


class ThreadSummary(BaseModel):
    """A thread in a list, with its first customer and its latest message."""

    id: int
    channel: str
    first_message_at: datetime
    last_message_at: datetime
    message_count: int
    customer_identity_id: int | None
    customer: str | None
    last_message: MessagePreview | None


class ChannelSummary(BaseModel):
    """A channel with its stored volume."""

    id: int
    name: str
    kind: str
    created_at: datetime
    messages: int
    threads: int
    last_message_at: datetime | None


class SearchResultPublic(BaseModel):
    """One search result: a message, or an internal note on a thread (kind
    ``note``: no ``message_id``, ``author`` is the agent who wrote it);
    ``snippet`` marks matched words with <mark>...</mark> (the rest is the
    plain text)."""

    #: ``message`` or ``note`` (an internal note, never sent).
    kind: str
    message_id: int | None
    #: The note's id (kind ``note``; null for a message).
    note_id: int | None = None
    thread_id: int
    author: str | None
    channel: str | None
    created_at: datetime
    snippet: str
    score: float
    matched: list[str]


class SearchResultsPublic(BaseModel):
    query: str
    results: list[SearchResultPublic]
    total: int

    @classmethod
    def from_page(cls, page: Any) -> SearchResultsPublic:
        """From a `rapport.conversations.search.SearchPage`."""
        return cls(
            query=page.query,
            total=page.total,
            results=[
                SearchResultPublic(
                    kind=hit.kind,
                    message_id=hit.message_id,
                    note_id=hit.note_id,
                    thread_id=hit.thread_id,
                    author=hit.author,
                    channel=hit.channel,
                    created_at=hit.created_at,
                    snippet=hit.snippet_text(),
                    score=hit.score,
                    matched=list(hit.matched),
                )
                for hit in page.results
            ],
        )
