"""Pydantic shapes of the knowledge domain (CLI `--json` and API)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class SourcePublic(BaseModel):
    message_id: int
    channel: str
    external_id: str
    author: str | None
    role: str
    created_at: datetime


class EntryPublic(BaseModel):
    id: int
    status: str
    question: str
    answer: str
    answered_by: str
    answered_by_kind: str
    outcome: str
    confidence: float
    support: int
    reason: str
    source_message_ids: list[int]
    sources: list[SourcePublic]
    created_at: datetime
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_note: str | None


class SearchResult(BaseModel):
    """One `kb search` hit: the contract keys first, then how it scored."""

    question: str
    answer: str
    score: float
    source_message_ids: list[int]
    answered_by: str
    id: int
    status: str
    answered_by_kind: str
    semantic: float
    keyword: float
    matched_terms: list[str]
    sources: list[SourcePublic]
    reason: str


class HarvestResult(BaseModel):
    threads: int = 0
    pairs_found: int = 0
    already_harvested: int = 0
    added: int = 0
    merged: int = 0
    by_agents: int = 0
    by_peers: int = 0
