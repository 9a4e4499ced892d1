"""Pydantic shapes of the relationships domain (the API and `--json` output)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class IdentityPublic(BaseModel):
    id: int
    channel: str
    handle: str
    #: How commands name it: `CHANNEL:HANDLE`.
    ref: str
    display_name: str | None = None
    emails: list[str] = Field(default_factory=list)
    phones: list[str] = Field(default_factory=list)
    linked_at: datetime | None = None
    #: `auto` (first seen), `merge` (joined by a merge), `split` (unmerged).
    source: str = "auto"


class RolePublic(BaseModel):
    role: str
    #: `manual` or `suggested`.
    source: str
    reason: str
    actor: str
    updated_at: datetime


class HealthFactor(BaseModel):
    name: str
    #: 0..1, 1 is best.
    value: float
    weight: float
    #: Points of the 0..100 score this factor gives (value × weight / total weight × 100).
    points: float
    explanation: str
    evidence: list[str] = Field(default_factory=list)


class HealthPublic(BaseModel):
    person_id: int
    score: float
    #: Points gained (+) or lost (-) over `trend_days`; None for a new relationship.
    trend: float | None
    previous_score: float | None
    trend_days: int
    level: str
    explanation: str
    factors: list[HealthFactor]
    as_of: datetime
    at_risk: bool = False
    at_risk_reason: str | None = None


class PersonSummary(BaseModel):
    id: int
    display_name: str
    status: str
    identities: list[str]
    roles: list[str]
    message_count: int
    first_seen_at: datetime | None
    last_seen_at: datetime | None
    health: float | None = None
    trend: float | None = None


class PersonList(BaseModel):
    people: list[PersonSummary]
    total: int


class ConsentEntry(BaseModel):
    channel: str
    allowed: bool
    source: str
    actor: str
    updated_at: datetime


class Preferences(BaseModel):
    preferred_channel: str | None = None
    quiet_hours: str | None = None
    timezone: str | None = None
    language: str | None = None


class ConsentDecisionPublic(BaseModel):
    channel: str
    private: bool
    allowed: bool
    reason: str


class ConsentPublic(BaseModel):
    person_id: int
    channels: list[ConsentEntry]
    preferences: Preferences
    #: What a reply on each of the person's channels would be told now.
    decisions: list[ConsentDecisionPublic]


class SalePublic(BaseModel):
    id: int
    amount: float
    currency: str
    occurred_at: datetime
    product: str
    stage: str
    identity: str | None
    source: str
    line: int | None


class TimelineEvent(BaseModel):
    at: datetime
    #: `message` (they wrote), `reply_received` (someone answered them), `sale`,
    #: `consent`, `merge`, `unmerge`, `role`.
    kind: str
    channel: str | None = None
    summary: str
    message_id: int | None = None
    thread_id: int | None = None
    author: str | None = None
    #: The analysis of the message when there is one (sentiment, intent).
    sentiment: str | None = None
    intent: str | None = None


class RoleSuggestion(BaseModel):
    role: str
    reason: str


class PersonDetail(BaseModel):
    id: int
    display_name: str
    status: str
    created_at: datetime
    identities: list[IdentityPublic]
    roles: list[RolePublic]
    suggested_roles: list[RoleSuggestion]
    attributes: dict[str, Any]
    health: HealthPublic | None
    consent: ConsentPublic
    sales: list[SalePublic]
    timeline: list[TimelineEvent]
    timeline_total: int
    merged_from: list[int] = Field(default_factory=list)


class DuplicateSuggestion(BaseModel):
    people: list[int]
    score: float
    reasons: list[str]
    identities: list[list[str]]


class MergeResult(BaseModel):
    merge_id: int
    survivor_id: int
    absorbed_id: int
    identities_moved: list[str]
    sales_moved: int
    roles_added: list[str]


class UnmergeResult(BaseModel):
    person_id: int
    #: The person the identity now belongs to (the restored or a new one).
    restored_person_id: int
    identities_moved: list[str]
    undid_merge_id: int | None


class SalesImportSummary(BaseModel):
    read: int
    matched: int
    duplicates: int
    quarantined: int
    people: int


class ErasureSummary(BaseModel):
    person_id: int
    messages_redacted: int
    related_messages_scrubbed: int
    identities_erased: int
    quarantined_rows_removed: int
    sales_anonymised: int
    hooks: list[str]
    vacuumed: bool
    #: What the vacuum after the erasure did (one line per step).
    vacuum: list[str] = Field(default_factory=list)


# ------------------------------------------------------------------ write requests (API)


class MergeCreate(BaseModel):
    """Merge ``absorbed_id`` into ``survivor_id`` (undone by an unmerge)."""

    survivor_id: int = Field(ge=1, le=2**62)
    absorbed_id: int = Field(ge=1, le=2**62)


class UnmergeCreate(BaseModel):
    #: `CHANNEL:HANDLE` of the identity to split off.
    identity: str = Field(min_length=3, max_length=300)
    #: Move only this identity, even when it came with a merge.
    only: bool = False


class NotDuplicateCreate(BaseModel):
    other_person_id: int = Field(ge=1, le=2**62)


class RolesUpdate(BaseModel):
    add: list[str] = Field(default_factory=list, max_length=20)
    remove: list[str] = Field(default_factory=list, max_length=20)
    reason: str | None = Field(None, max_length=500)


class RolesPublic(BaseModel):
    person_id: int
    roles: list[str]


class DuplicateList(BaseModel):
    suggestions: list[DuplicateSuggestion]
    total: int


class AtRiskPerson(BaseModel):
    person: PersonSummary
    health: HealthPublic


class AtRiskList(BaseModel):
    people: list[AtRiskPerson]
    total: int


class ConsentUpdate(BaseModel):
    allowed: bool


class PreferencesUpdate(BaseModel):
    """Only the fields given change; an empty string clears one."""

    preferred_channel: str | None = Field(None, max_length=100)
    #: `HH:MM-HH:MM` in the person's timezone.
    quiet_hours: str | None = Field(None, max_length=20)
    timezone: str | None = Field(None, max_length=64)
    language: str | None = Field(None, max_length=20)


class ErasureConfirm(BaseModel):
    """An erasure cannot be undone: the caller says so (`rapport people erase --yes`)."""

    confirm: bool
