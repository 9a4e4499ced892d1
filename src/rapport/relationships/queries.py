"""How other domains read people: identity → person, consent, roles, health.

Engagement checks consent through `consent_decision` before anything goes
out; triage reads roles and health through `roles_for` / `health_for`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from rapport.relationships.models import PersonIdentity


@dataclass(frozen=True)
class ConsentDecision:
    allowed: bool
    reason: str


@dataclass(frozen=True)
class HealthSummary:
    score: float  # 0..100
    trend: float  # change over the last period, points
    explanation: str


def person_for_identity(session: Session, identity_id: int) -> int | None:
    return session.execute(
        select(PersonIdentity.person_id).where(PersonIdentity.identity_id == identity_id)
    ).scalar_one_or_none()


def people_for_identities(session: Session, identity_ids: Sequence[int]) -> dict[int, int]:
    """identity id → person id."""
    if not identity_ids:
        return {}
    rows = session.execute(
        select(PersonIdentity.identity_id, PersonIdentity.person_id).where(
            PersonIdentity.identity_id.in_(list(identity_ids))
        )
    )
    return {int(i): int(p) for i, p in rows}


def consent_decision(
    session: Session, person_id: int | None, channel: str, *, private: bool = False
) -> ConsentDecision:
    """May we send this person a message on ``channel``?"""
    return ConsentDecision(True, "no consent recorded for this channel: replies are allowed")


def roles_for(session: Session, person_ids: Sequence[int]) -> dict[int, set[str]]:
    return {}


def health_for(session: Session, person_ids: Sequence[int]) -> dict[int, HealthSummary]:
    return {}


def identity_ids_of(session: Session, person_id: int) -> list[int]:
    """The identities linked to a person (empty: no such person, or none left)."""
    return [
        int(i)
        for i in session.execute(
            select(PersonIdentity.identity_id)
            .where(PersonIdentity.person_id == person_id)
            .order_by(PersonIdentity.identity_id)
        ).scalars()
    ]
