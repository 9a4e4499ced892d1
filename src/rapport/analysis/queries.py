"""How other domains read the analysis of stored messages.

Engagement, relationships, network, knowledge and reports depend on
analysis only through `analyses_for`: a message without stored analysis is
simply absent from the result, and callers treat it as unknown.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from rapport.analysis.errors import CustomIntentsNotFound
from rapport.analysis.models import AnalysisTopic, CustomIntentSet
from rapport.analysis.schemas import CustomIntentSetPublic, TopicExample, TopicPublic
from rapport.conversations.models import Message
from rapport.storage.bulk import in_values

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
    intent_confidence: float | None = None
    topic_id: int | None = None
    tier: str | None = None
    model_version: str | None = None


def analyses_for(session: Session, message_ids: Sequence[int]) -> dict[int, MessageAnalysis]:
    """Stored analysis of these messages, by message id (absent: not analysed)."""
    if not message_ids:
        return {}
    from rapport.analysis import models

    row_type = models.MessageAnalysis
    rows = session.execute(
        select(row_type).where(in_values(session, row_type.message_id, list(message_ids)))
    ).scalars()
    return {
        r.message_id: MessageAnalysis(
            message_id=r.message_id,
            sentiment=r.sentiment,
            sentiment_score=r.sentiment_score,
            intent=r.intent,
            urgency=r.urgency,
            language=r.language,
            topics=tuple(r.topics or ()),
            evidence=dict(r.evidence or {}),
            intent_confidence=r.intent_confidence,
            topic_id=r.topic_id,
            tier=r.tier,
            model_version=r.model_version,
        )
        for r in rows
    }


@dataclass(frozen=True)
class SentimentTopics:
    """What aggregates need of a message's analysis (no evidence)."""

    sentiment: str
    sentiment_score: float
    intent: str
    topics: tuple[str, ...]


def sentiment_topics_for(
    session: Session, message_ids: Sequence[int]
) -> dict[int, SentimentTopics]:
    """Sentiment, intent and topic labels of these messages, by message id
    (absent: not analysed); lighter than `analyses_for` on hot paths."""
    if not message_ids:
        return {}
    from rapport.analysis import models

    row_type = models.MessageAnalysis
    rows = session.execute(
        select(
            row_type.message_id,
            row_type.sentiment,
            row_type.sentiment_score,
            row_type.intent,
            type_coerce(row_type.topics, NullType()),
        ).where(in_values(session, row_type.message_id, list(message_ids)))
    )
    out = {}
    for mid, sentiment, score, intent, topics in rows:
        if isinstance(topics, str):  # the JSON text, parsed only when it holds labels
            topics = json.loads(topics) if topics not in ("[]", "null") else ()
        out[int(mid)] = SentimentTopics(sentiment, float(score), intent, tuple(topics or ()))
    return out


def count_analysed(session: Session) -> int:
    from sqlalchemy import func

    from rapport.analysis import models

    return session.execute(select(func.count()).select_from(models.MessageAnalysis)).scalar_one()


def list_topics(
    session: Session, *, scope: str | None = None, examples: int = 3
) -> list[TopicPublic]:
    """Active topics (of one scope, or all), largest first, with their size,
    sentiment mix and example messages."""
    from rapport.analysis import models

    query = select(AnalysisTopic).where(AnalysisTopic.active.is_(True))
    if scope is not None:
        query = query.where(AnalysisTopic.scope == scope)
    topics = list(
        session.execute(query.order_by(AnalysisTopic.scope, AnalysisTopic.rank)).scalars()
    )
    if not topics:
        return []
    ids = [t.id for t in topics]
    mix: dict[int, Counter[str]] = defaultdict(Counter)
    samples: dict[int, list[TopicExample]] = defaultdict(list)
    row_type = models.MessageAnalysis
    rows = session.execute(
        select(row_type.topic_id, row_type.sentiment, Message.id, Message.text, row_type.urgency)
        .join(Message, Message.id == row_type.message_id)
        .where(in_values(session, row_type.topic_id, ids))
        .order_by(row_type.topic_id, Message.id)
    )
    for topic_id, sentiment, message_id, text, _urgency in rows:
        if topic_id is None:
            continue
        mix[topic_id][sentiment] += 1
        if len(samples[topic_id]) < examples:
            samples[topic_id].append(
                TopicExample(message_id=message_id, text=text[:280], sentiment=sentiment)
            )
    out = []
    for t in topics:
        counts = mix.get(t.id, Counter())
        size = sum(counts.values())
        out.append(
            TopicPublic(
                id=t.id,
                scope=t.scope,
                label=t.label,
                terms=list(t.terms)[:10],
                size=size,
                discovered_size=t.size,
                sentiment_mix={s: counts.get(s, 0) for s in SENTIMENTS},
                examples=samples.get(t.id, []),
                seed=t.seed,
                method=t.method,
                created_at=t.created_at,
            )
        )
    out.sort(key=lambda x: (x.scope, -x.size, x.id))
    return out


def topic_scopes(session: Session) -> list[str]:
    return sorted(
        set(
            session.execute(
                select(AnalysisTopic.scope).where(AnalysisTopic.active.is_(True))
            ).scalars()
        )
    )


def list_custom_intents(session: Session) -> list[CustomIntentSetPublic]:
    rows = session.execute(select(CustomIntentSet).order_by(CustomIntentSet.name)).scalars()
    return [_custom_public(r) for r in rows]


def _custom_public(r: CustomIntentSet) -> CustomIntentSetPublic:
    return CustomIntentSetPublic(
        name=r.name,
        labels=dict(r.labels),
        examples=len(r.examples),
        version=r.version,
        method=r.method,
        source=r.source,
        created_by=r.created_by,
        created_at=r.created_at,
        updated_at=r.updated_at,
    )


def get_custom_intents(session: Session, name: str) -> tuple[CustomIntentSetPublic, bytes]:
    """The named custom intent set and its serialised model."""
    row = session.execute(
        select(CustomIntentSet).where(CustomIntentSet.name == name)
    ).scalar_one_or_none()
    if row is None:
        raise CustomIntentsNotFound(
            f"no custom intent set named {name!r}: train it with "
            f"`rapport intents train FILE.csv --name {name}`"
        )
    return _custom_public(row), bytes(row.model)


def summary_of(a: MessageAnalysis) -> dict[str, Any]:
    return {
        "sentiment": a.sentiment,
        "sentiment_score": a.sentiment_score,
        "intent": a.intent,
        "urgency": a.urgency,
        "language": a.language,
        "topics": list(a.topics),
    }
