"""Pydantic shapes of the analysis domain's public reads."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class TopicExample(BaseModel):
    message_id: int
    text: str
    sentiment: str


class TopicPublic(BaseModel):
    id: int
    scope: str
    label: str
    terms: list[str]
    #: Messages assigned now (discovery plus later ingest).
    size: int
    #: Messages in the cluster when it was discovered.
    discovered_size: int
    sentiment_mix: dict[str, int]
    examples: list[TopicExample]
    seed: int
    method: str
    created_at: datetime


class CustomIntentSetPublic(BaseModel):
    name: str
    labels: dict[str, int]
    examples: int
    version: str
    method: str
    source: str | None = None
    created_by: str | None = None
    created_at: datetime
    updated_at: datetime


class CustomIntentExample(BaseModel):
    text: str
    label: str
