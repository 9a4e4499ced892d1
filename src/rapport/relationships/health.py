"""Relationship health: facts gathered per person, then a pure, explained score.

`gather_facts` reads what happened between us and a set of people (a few
set-based queries per chunk); `score_facts` turns one person's facts into a
0..100 score with one factor per aspect of the relationship, each carrying
its value, weight and a plain-language explanation. The trend compares the
score now with the score the same facts gave `trend_days` earlier.

Sentiment comes from `rapport.analysis.queries.analyses_for`; a message
without analysis counts as unknown (neutral), and the explanation says so.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Text, and_, cast, select
from sqlalchemy.orm import Session, aliased

from rapport.analysis.queries import analyses_for
from rapport.conversations.models import (
    INBOUND,
    OUTBOUND,
    Account,
    Channel,
    Identity,
    Message,
    MessageMention,
)
from rapport.relationships.models import PersonIdentity, Sale
from rapport.relationships.schemas import HealthFactor, HealthPublic
from rapport.relationships.settings import HealthSettings
from rapport.storage.bulk import in_values

THANKS_RE = re.compile(
    r"\b(thanks?|thank you|thx|ty|cheers|appreciated?|resolved|fixed|sorted|works now|"
    r"working now|great help|perfect)\b",
    re.IGNORECASE,
)
OFFER_RE = re.compile(
    r"\b(discount|coupon|voucher|credit(?:ed)?|refund(?:ed)?|compensat\w*|promo(?:tion)?|"
    r"code|free|offer|gift card|waive[d]?|reimburs\w*)\b",
    re.IGNORECASE,
)
RECOMMEND_RE = re.compile(
    r"\b(recommend\w*|you should (?:try|get|use)|check out|go with|switch to|love (?:my|the))\b",
    re.IGNORECASE,
)
REACH_KEYS = ("retweet_count", "retweets", "reshares", "favorite_count", "likes")
_REACH_HINT = re.compile("|".join(REACH_KEYS))
WON_STAGES = {"won", "closed", "closed_won", "closed-won", "paid", "purchase", "order", "done"}


@dataclass
class Said:
    """One message the person wrote."""

    message_id: int
    at: datetime
    channel: str
    thread_id: int
    text: str
    #: The parent's author is one of our accounts / another person (None: no stored parent).
    replies_to_brand: bool = False
    replies_to_peer: bool = False
    parent_id: int | None = None
    mentions_brand: bool = False
    mentions_other: bool = False
    is_review: bool = False
    reach: int = 0
    sentiment: str | None = None
    sentiment_score: float | None = None
    intent: str | None = None
    evidence: list[str] = field(default_factory=list)
    topics: tuple[str, ...] = ()


@dataclass
class Received:
    """A message someone wrote in reply to the person."""

    at: datetime
    parent_id: int
    parent_at: datetime
    thread_id: int
    from_brand: bool
    author_identity_id: int | None
    text: str
    message_id: int


@dataclass
class SaleFact:
    at: datetime
    amount: Decimal
    currency: str
    stage: str
    product: str


@dataclass
class PersonFacts:
    person_id: int
    said: list[Said] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    sales: list[SaleFact] = field(default_factory=list)
    #: Other people who mentioned or replied to this person, with when.
    heard_by: list[tuple[datetime, int]] = field(default_factory=list)


def data_clock(session: Session) -> datetime | None:
    """The time of the newest stored message: the "now" of imported history."""
    from sqlalchemy import func

    value: datetime | None = session.execute(select(func.max(Message.created_at))).scalar()
    return value


def gather_facts(session: Session, person_ids: Sequence[int]) -> dict[int, PersonFacts]:
    """Everything health and role suggestions need about ``person_ids``."""
    facts = {pid: PersonFacts(pid) for pid in person_ids}
    if not facts:
        return facts
    ident_person: dict[int, int] = {
        int(i): int(p)
        for i, p in session.execute(
            select(PersonIdentity.identity_id, PersonIdentity.person_id).where(
                in_values(session, PersonIdentity.person_id, list(facts))
            )
        )
    }
    channels = {int(i): n for i, n in session.execute(select(Channel.id, Channel.name))}
    accounts = set(session.execute(select(Account.identity_id)).scalars())
    account_keys = {
        (int(c), k)
        for c, k in session.execute(
            select(Identity.channel_id, Identity.handle_key).join(
                Account, Account.identity_id == Identity.id
            )
        )
    }
    if ident_person:
        _gather_said(session, facts, ident_person, channels, accounts, account_keys)
        _gather_received(session, facts, ident_person, accounts)
        _gather_heard(session, facts, ident_person, accounts)
    for pid, at, amount, currency, stage, product in session.execute(
        select(
            Sale.person_id, Sale.occurred_at, Sale.amount, Sale.currency, Sale.stage, Sale.product
        ).where(in_values(session, Sale.person_id, list(facts)))
    ):
        facts[int(pid)].sales.append(
            SaleFact(at, Decimal(str(amount)), currency, stage or "won", product)
        )
    for f in facts.values():
        f.said.sort(key=lambda s: (s.at, s.message_id))
        f.received.sort(key=lambda r: (r.at, r.message_id))
        f.sales.sort(key=lambda s: s.at)
    return facts


def _gather_said(
    session: Session,
    facts: dict[int, PersonFacts],
    ident_person: dict[int, int],
    channels: dict[int, str],
    accounts: set[int],
    account_keys: set[tuple[int, str]],
) -> None:
    m = aliased(Message, name="m")
    p = aliased(Message, name="p")
    rows = session.execute(
        select(
            m.id,
            m.author_identity_id,
            m.created_at,
            m.channel_id,
            m.thread_id,
            m.text,
            cast(m.meta, Text),
            p.id,
            p.author_identity_id,
        )
        .outerjoin(p, and_(p.channel_id == m.channel_id, p.external_id == m.parent_external_id))
        .where(in_values(session, m.author_identity_id, list(ident_person)), m.direction == INBOUND)
    ).all()
    said_by_id: dict[int, tuple[int, Said]] = {}
    for mid, author, at, channel_id, thread_id, text, meta, parent_id, parent_author in rows:
        channel = channels.get(int(channel_id), "?")
        reach = 0
        # Parse the extras only when they can hold reach (most do not).
        parsed = json.loads(meta) if meta and _REACH_HINT.search(meta) else {}
        for key in REACH_KEYS:
            value = parsed.get(key)
            if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
                reach += int(value)
        said = Said(
            message_id=int(mid),
            at=at,
            channel=channel,
            thread_id=int(thread_id),
            text=text or "",
            parent_id=int(parent_id) if parent_id is not None else None,
            replies_to_brand=parent_author is not None and int(parent_author) in accounts,
            replies_to_peer=parent_author is not None
            and int(parent_author) not in accounts
            and ident_person.get(int(parent_author)) != ident_person[int(author or 0)],
            is_review="review" in channel.casefold() or '"rating"' in (meta or ""),
            reach=reach,
        )
        person = ident_person[int(author or 0)]
        said_by_id[said.message_id] = (person, said)
        facts[person].said.append(said)
    if not said_by_id:
        return
    ids = list(said_by_id)
    channel_of = {mid: cid for mid, _, _, cid, *_ in rows}
    for mid, key in session.execute(
        select(MessageMention.message_id, MessageMention.handle_key).where(
            in_values(session, MessageMention.message_id, ids)
        )
    ):
        _, said = said_by_id[int(mid)]
        if (int(channel_of[mid]), key) in account_keys:
            said.mentions_brand = True
        else:
            said.mentions_other = True
    for mid, analysis in analyses_for(session, ids).items():
        if mid not in said_by_id:
            continue
        _, said = said_by_id[mid]
        said.sentiment = analysis.sentiment
        said.sentiment_score = float(analysis.sentiment_score)
        said.intent = analysis.intent
        said.evidence = list(analysis.evidence.get("sentiment", []))[:5]
        said.topics = tuple(analysis.topics)


def _gather_received(
    session: Session,
    facts: dict[int, PersonFacts],
    ident_person: dict[int, int],
    accounts: set[int],
) -> None:
    r = aliased(Message, name="r")
    p = aliased(Message, name="p")
    rows = session.execute(
        select(
            r.id,
            r.author_identity_id,
            r.created_at,
            r.thread_id,
            r.text,
            r.direction,
            p.id,
            p.created_at,
            p.author_identity_id,
        )
        .join(p, and_(p.channel_id == r.channel_id, p.external_id == r.parent_external_id))
        .where(in_values(session, p.author_identity_id, list(ident_person)))
    ).all()
    for rid, author, at, thread_id, text, direction, pid, p_at, p_author in rows:
        person = ident_person[int(p_author or 0)]
        if author is not None and ident_person.get(int(author)) == person:
            continue  # talking to themselves
        facts[person].received.append(
            Received(
                at=at,
                parent_id=int(pid),
                parent_at=p_at,
                thread_id=int(thread_id),
                from_brand=direction == OUTBOUND
                or (author is not None and int(author) in accounts),
                author_identity_id=int(author) if author is not None else None,
                text=text or "",
                message_id=int(rid),
            )
        )
        if author is not None and int(author) not in accounts and direction == INBOUND:
            facts[person].heard_by.append((at, int(author)))


def _gather_heard(
    session: Session,
    facts: dict[int, PersonFacts],
    ident_person: dict[int, int],
    accounts: set[int],
) -> None:
    """Other people who mentioned the person's handles (their reach)."""
    idents = session.execute(
        select(Identity.id, Identity.channel_id, Identity.handle_key).where(
            in_values(session, Identity.id, list(ident_person))
        )
    ).all()
    by_key = {(int(c), k): ident_person[int(i)] for i, c, k in idents}
    keys = sorted({k for _, k in by_key})
    if not keys:
        return
    rows = session.execute(
        select(
            MessageMention.handle_key,
            Message.channel_id,
            Message.author_identity_id,
            Message.created_at,
        )
        .join(Message, Message.id == MessageMention.message_id)
        .where(in_values(session, MessageMention.handle_key, keys), Message.direction == INBOUND)
    )
    for key, channel_id, author, at in rows:
        person = by_key.get((int(channel_id), key))
        if person is None or author is None or int(author) in accounts:
            continue
        if ident_person.get(int(author)) == person:
            continue
        facts[person].heard_by.append((at, int(author)))


# ------------------------------------------------------------------ scoring


def _clamp(value: float) -> float:
    return max(0.0, min(1.0, value))


def _days(delta: timedelta) -> float:
    return delta.total_seconds() / 86400


def _human_duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


@dataclass
class FactorValue:
    name: str
    value: float
    explanation: str
    evidence: list[str] = field(default_factory=list)


def _recency(said: list[Said], t: datetime, cfg: HealthSettings) -> FactorValue:
    if not said:
        return FactorValue("recency", 0.0, "they have not written to us yet")
    last = said[-1]
    days = max(0.0, _days(t - last.at))
    value = 0.5 ** (days / cfg.recency_half_life_days)
    return FactorValue(
        "recency",
        value,
        f"last message {days:.0f} days before {t.date().isoformat()} "
        f"(on {last.channel}, {last.at.date().isoformat()}); "
        f"recency halves every {cfg.recency_half_life_days:g} days of silence",
    )


def _frequency(said: list[Said], t: datetime, cfg: HealthSettings) -> FactorValue:
    since = t - timedelta(days=cfg.frequency_window_days)
    recent = [s for s in said if s.at > since]
    channels = sorted({s.channel for s in recent})
    n = len(recent)
    value = _clamp(math.log1p(n) / math.log1p(cfg.frequency_full_at))
    where = f" on {', '.join(channels)}" if channels else ""
    return FactorValue(
        "frequency",
        value,
        f"{n} message{'s' if n != 1 else ''} in the last {cfg.frequency_window_days} days{where}"
        f" ({cfg.frequency_full_at} or more count as fully engaged)",
    )


def _sentiment(said: list[Said]) -> tuple[FactorValue, FactorValue]:
    scored = [s for s in said if s.sentiment_score is not None]
    if not scored:
        unknown = "no analysed messages yet: counted as neutral"
        return (
            FactorValue("sentiment", 0.5, unknown),
            FactorValue("sentiment_trend", 0.5, "no analysed messages yet: no trend"),
        )
    recent = scored[-5:]
    mean = statistics.fmean(s.sentiment_score or 0.0 for s in recent)
    words: list[str] = []
    for s in reversed(recent):
        for w in s.evidence:
            if w not in words:
                words.append(w)
    labels = [s.sentiment or "?" for s in recent]
    level = FactorValue(
        "sentiment",
        _clamp((mean + 1) / 2),
        f"mean sentiment {mean:+.2f} over their last {len(recent)} analysed message"
        f"{'s' if len(recent) != 1 else ''} ({', '.join(labels)})",
        words[:6],
    )
    if len(scored) < 2:
        trend = FactorValue("sentiment_trend", 0.5, "one analysed message: no trend yet")
    else:
        half = max(1, min(3, len(scored) // 2))
        late = statistics.fmean(s.sentiment_score or 0.0 for s in scored[-half:])
        early = statistics.fmean(s.sentiment_score or 0.0 for s in scored[:-half][-5:])
        delta = late - early
        word = "improving" if delta > 0.1 else "worsening" if delta < -0.1 else "steady"
        trend = FactorValue(
            "sentiment_trend",
            _clamp(0.5 + delta / 2),
            f"{word}: {early:+.2f} earlier, {late:+.2f} in their latest {half} message"
            f"{'s' if half != 1 else ''}",
        )
    return level, trend


def _our_responsiveness(
    said: list[Said], received: list[Received], cfg: HealthSettings
) -> FactorValue:
    addressed: dict[int, datetime] = {}
    for s in said:
        if s.replies_to_brand or s.mentions_brand:
            addressed.setdefault(s.thread_id, s.at)
    if not addressed:
        return FactorValue("our_responsiveness", 0.5, "they have not addressed us: neutral")
    answered: dict[int, datetime] = {}
    for r in received:
        if (
            r.from_brand
            and r.thread_id in addressed
            and r.at >= addressed[r.thread_id]
            and (r.thread_id not in answered or r.at < answered[r.thread_id])
        ):
            answered[r.thread_id] = r.at
    rate = len(answered) / len(addressed)
    waits = [(answered[t] - addressed[t]).total_seconds() for t in answered]
    if waits:
        median = statistics.median(waits)
        speed = 1 / (1 + median / 60 / cfg.response_half_minutes)
        timing = f", median first answer {_human_duration(median)}"
    else:
        speed = 0.0
        timing = ""
    return FactorValue(
        "our_responsiveness",
        _clamp(0.6 * rate + 0.4 * speed),
        f"we answered {len(answered)} of the {len(addressed)} conversation"
        f"{'s' if len(addressed) != 1 else ''} they addressed to us{timing}",
    )


def _their_responsiveness(said: list[Said], received: list[Received]) -> FactorValue:
    ours = {r.message_id: r for r in received if r.from_brand}
    if not ours:
        return FactorValue("their_responsiveness", 0.5, "we have not written to them: neutral")
    answered = {s.parent_id for s in said if s.replies_to_brand and s.parent_id in ours}
    rate = len(answered) / len(ours)
    return FactorValue(
        "their_responsiveness",
        _clamp(0.4 + 0.6 * rate),
        f"they replied to {len(answered)} of our {len(ours)} "
        f"message{'s' if len(ours) != 1 else ''}",
    )


def mutual_value_parts(
    facts: PersonFacts, t: datetime
) -> tuple[dict[str, float], dict[str, float], list[str]]:
    """(what they gave, what they got, evidence) up to ``t``."""
    said = [s for s in facts.said if s.at <= t]
    received = [r for r in facts.received if r.at <= t]
    won = [s for s in facts.sales if s.at <= t and s.stage.casefold() in WON_STAGES]
    gave = {
        "purchases": float(len(won)),
        "reviews": float(sum(1 for s in said if s.is_review)),
        "answers_to_others": float(sum(1 for s in said if s.replies_to_peer)),
        "referrals": float(
            sum(
                1
                for s in said
                if s.mentions_brand
                and (s.mentions_other or s.replies_to_peer)
                and RECOMMEND_RE.search(s.text)
            )
        ),
        "praise": float(sum(1 for s in said if s.intent == "praise")),
    }
    ours = [r for r in received if r.from_brand]
    thanked = 0
    for r in ours:
        if any(
            s.at > r.at
            and s.thread_id == r.thread_id
            and (THANKS_RE.search(s.text) or s.sentiment == "positive")
            for s in said
        ):
            thanked += 1
    offers = [r for r in ours if OFFER_RE.search(r.text)]
    got = {
        "answers": float(len({r.thread_id for r in ours})),
        "resolutions": float(thanked),
        "offers": float(len(offers)),
    }
    evidence = sorted({m.group(0).lower() for r in offers for m in OFFER_RE.finditer(r.text)})[:5]
    return gave, got, evidence


def _mutual_value(facts: PersonFacts, t: datetime) -> FactorValue:
    gave, got, evidence = mutual_value_parts(facts, t)
    units_gave = 2 * gave["purchases"] + sum(v for k, v in gave.items() if k != "purchases")
    units_got = sum(got.values())

    def listing(parts: dict[str, float]) -> str:
        shown = [f"{int(v)} {k.replace('_', ' ')}" for k, v in parts.items() if v]
        return ", ".join(shown) or "nothing yet"

    if units_gave + units_got == 0:
        return FactorValue(
            "mutual_value", 0.3, "no exchange of value yet (no purchases, answers or offers)"
        )
    volume = 1 - math.exp(-(units_gave + units_got) / 5)
    balance = min(units_gave, units_got) / max(units_gave, units_got)
    fairness = (
        "balanced"
        if balance >= 0.5
        else "they give more than they get"
        if units_gave > units_got
        else "they get more than they give"
    )
    return FactorValue(
        "mutual_value",
        _clamp(0.3 + 0.4 * volume + 0.3 * balance),
        f"they gave: {listing(gave)}; they got: {listing(got)} ({fairness})",
        evidence,
    )


def _factors(facts: PersonFacts, t: datetime, cfg: HealthSettings) -> list[FactorValue]:
    said = [s for s in facts.said if s.at <= t]
    received = [r for r in facts.received if r.at <= t]
    sentiment, sentiment_trend = _sentiment(said)
    return [
        _recency(said, t, cfg),
        _frequency(said, t, cfg),
        sentiment,
        sentiment_trend,
        _our_responsiveness(said, received, cfg),
        _their_responsiveness(said, received),
        _mutual_value(facts, t),
    ]


def _score(values: list[FactorValue], weights: dict[str, float]) -> float:
    total = sum(weights.get(f.name, 0.0) for f in values) or 1.0
    return round(100 * sum(f.value * weights.get(f.name, 0.0) for f in values) / total, 1)


def level_for(score: float) -> str:
    return "strong" if score >= 70 else "fair" if score >= 45 else "weak"


def score_facts(facts: PersonFacts, as_of: datetime, cfg: HealthSettings) -> HealthPublic:
    """The explained health of one person at ``as_of`` (pure)."""
    weights = cfg.weights()
    total = sum(weights.values()) or 1.0
    now = _factors(facts, as_of, cfg)
    score = _score(now, weights)
    before_t = as_of - timedelta(days=cfg.trend_days)
    previous: float | None = None
    drops: list[str] = []
    if facts.said and facts.said[0].at <= before_t:
        then = _factors(facts, before_t, cfg)
        previous = _score(then, weights)
        changes = sorted(
            (
                (weights.get(a.name, 0.0) * (a.value - b.value) / total * 100, a, b)
                for a, b in zip(now, then, strict=True)
            ),
            key=lambda c: c[0],
        )
        drops = [
            f"{a.name.replace('_', ' ')} {b.value:.2f}→{a.value:.2f} ({a.explanation})"
            for points, a, b in changes[:2]
            if points <= -1
        ]
    trend = None if previous is None else round(score - previous, 1)
    factors = [
        HealthFactor.model_construct(
            name=f.name,
            value=round(f.value, 3),
            weight=weights.get(f.name, 0.0),
            points=round(f.value * weights.get(f.name, 0.0) / total * 100, 1),
            explanation=f.explanation,
            evidence=f.evidence,
        )
        for f in now
    ]
    ranked = sorted(factors, key=lambda f: f.value)
    trend_text = (
        "a new relationship (no history before the trend window)"
        if trend is None
        else f"{trend:+.1f} points over {cfg.trend_days} days"
    )
    explanation = (
        f"{score:.0f}/100 ({level_for(score)}), {trend_text}. "
        f"Strongest: {ranked[-1].name.replace('_', ' ')} — {ranked[-1].explanation}. "
        f"Weakest: {ranked[0].name.replace('_', ' ')} — {ranked[0].explanation}."
    )
    at_risk = trend is not None and trend <= -cfg.at_risk_drop
    reason = None
    if at_risk and previous is not None:
        reason = (
            f"health fell {abs(trend or 0):.0f} points in {cfg.trend_days} days "
            f"({previous:.0f} → {score:.0f})" + (": " + "; ".join(drops) if drops else "")
        )
    return HealthPublic(
        person_id=facts.person_id,
        score=score,
        trend=trend,
        previous_score=previous,
        trend_days=cfg.trend_days,
        level=level_for(score),
        explanation=explanation,
        factors=factors,
        as_of=as_of,
        at_risk=at_risk,
        at_risk_reason=reason,
    )


def health_row(health: HealthPublic) -> dict[str, Any]:
    """The stored form of a computed health."""
    return {
        "person_id": health.person_id,
        "score": health.score,
        "trend": health.trend,
        "previous_score": health.previous_score,
        "factors": [f.model_dump() for f in health.factors],
        "explanation": health.explanation
        + (f" Churn warning: {health.at_risk_reason}." if health.at_risk_reason else ""),
        "as_of": health.as_of,
    }
