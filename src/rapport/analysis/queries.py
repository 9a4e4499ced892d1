"""How other domains read the analysis of stored messages.

Engagement, relationships, network, knowledge and reports depend on
analysis only through `analyses_for`: a message without stored analysis is
simply absent from the result, and callers treat it as unknown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

SENTIMENTS = ("negative", "neutral", "positive")
INTENTS = ("question", "request", "complaint", "praise", "feedback", "chatter")


@dataclass(frozen=True)
class MessageAnalysis:
    """The stored understanding of one message."""

    message_id: int
    sentiment: str
    sentiment_score: float
    intent: str
    urgency: float
    language: str
    topics: tuple[str, ...] = ()
    evidence: dict[str, list[str]] = field(default_factory=dict)


def analyses_for(session: Session, message_ids: Sequence[int]) -> dict[int, MessageAnalysis]:
    """Stored analysis of these messages, by message id (absent: not analysed)."""
    return {}
