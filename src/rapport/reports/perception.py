"""The perception gap: why customers actually engage, read from what they
write, against why the company believes they engage (a ranking a manager
records). IBM's study found customers engage mainly for discounts and
purchases while companies believe they want community; this measures it.

Each analysed inbound message gets one reason by rule (`classify`, pure):

1. cue words and phrases in the text, per reason (`CUES`): one point per
   distinct cue found;
2. cue words in the message's topic labels: half a point each;
3. the analysed intent: one point for the reason it points to
   (complaint → support/problem, question → product information,
   feedback → feedback/ideas, praise and chatter → community/chatter;
   request → support/problem, half a point);
4. the reason with most points wins; ties go to the earlier reason in
   `REASONS` (a concrete motive before chatter).

Every example carries the rule that classified it (cues found, intent).
The believed ranking becomes a distribution by Borda weights: with n
reasons ranked, the first gets n, the second n − 1, ..., normalised to 1;
unranked reasons get 0.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rapport.analysis.queries import sentiment_topics_for
from rapport.conversations.models import INBOUND, Channel, Message
from rapport.reports.csvexport import CsvTable
from rapport.reports.errors import InsightsError
from rapport.reports.models import InsightSetting
from rapport.storage.bulk import in_values

REASONS = (
    "discount_price",
    "purchase",
    "support_problem",
    "product_information",
    "feedback_ideas",
    "community_chatter",
)
LABELS = {
    "discount_price": "discount / price",
    "purchase": "purchase",
    "support_problem": "support / problem",
    "product_information": "product information",
    "feedback_ideas": "feedback / ideas",
    "community_chatter": "community / chatter",
}
BELIEF_KEY = "perception.believed"
#: At most this many messages are classified (an even sample by id above it).
MAX_MESSAGES = 50_000
EXAMPLES = 5

CUES: dict[str, tuple[str, ...]] = {
    "discount_price": (
        "discount",
        "coupon",
        "promo",
        "promo code",
        "voucher",
        "deal",
        "deals",
        "sale",
        "offer",
        "price",
        "prices",
        "pricing",
        "cheap",
        "cheaper",
        "expensive",
        "fare",
        "fares",
        "fee",
        "fees",
        "cost",
        "costs",
        "charge",
        "charged",
        "overcharged",
        "$",
        "free",
        "rebate",
        "cashback",
        "points",
        "miles",
    ),
    "purchase": (
        "buy",
        "bought",
        "buying",
        "purchase",
        "purchased",
        "order",
        "ordered",
        "my order",
        "book a",
        "booked",
        "booking",
        "ticket",
        "tickets",
        "reservation",
        "checkout",
        "upgrade",
        "subscribe",
        "subscription",
        "sign up",
        "pre-order",
        "preorder",
        "in stock",
    ),
    "support_problem": (
        "cancelled",
        "canceled",
        "cancellation",
        "delayed",
        "delay",
        "late",
        "lost",
        "missing",
        "broken",
        "damaged",
        "not working",
        "doesn't work",
        "won't",
        "can't",
        "cannot",
        "issue",
        "problem",
        "error",
        "help",
        "refund",
        "stuck",
        "stranded",
        "waiting",
        "on hold",
        "holding",
        "missed",
        "rebook",
        "customer service",
        "fix",
        "complaint",
        "worst",
        "still no",
        "no one",
        "nobody",
    ),
    "product_information": (
        "how do i",
        "how can i",
        "how to",
        "what is",
        "what's the",
        "is there",
        "are there",
        "do you",
        "does",
        "can i",
        "when will",
        "when is",
        "which",
        "where is",
        "wifi",
        "wi-fi",
        "policy",
        "schedule",
        "info",
        "information",
        "available",
        "allowed",
        "any news",
    ),
    "feedback_ideas": (
        "suggest",
        "suggestion",
        "idea",
        "you should",
        "should",
        "would be nice",
        "would be great",
        "please add",
        "wish",
        "feature",
        "improve",
        "improvement",
        "feedback",
        "consider",
        "bring back",
        "why not",
        "please start",
        "you need to",
        "need more",
    ),
    "community_chatter": (
        "thanks",
        "thank you",
        "thx",
        "love",
        "great",
        "awesome",
        "amazing",
        "best",
        "lol",
        "haha",
        "congrats",
        "congratulations",
        "happy",
        "fun",
        "beautiful",
        "cool",
        "follow",
        "fleek",
        "excited",
        "see you",
    ),
}
INTENT_REASON = {
    "complaint": ("support_problem", 1.0),
    #: A request is often for help, but not always ("please add more routes"): half a point.
    "request": ("support_problem", 0.5),
    "question": ("product_information", 1.0),
    "feedback": ("feedback_ideas", 1.0),
    "praise": ("community_chatter", 1.0),
    "chatter": ("community_chatter", 1.0),
}


def _pattern(cue: str) -> re.Pattern[str]:
    if cue == "$":
        return re.compile(r"\$\s?\d")
    return re.compile(r"(?<![\w])" + re.escape(cue) + r"(?![\w])", re.IGNORECASE)


_PATTERNS = {reason: [(c, _pattern(c)) for c in cues] for reason, cues in CUES.items()}


@dataclass(frozen=True)
class Classified:
    reason: str
    #: The rule in words: cues found, topic cues, intent, and the points.
    rule: str
    cues: tuple[str, ...]
    intent: str | None


def classify(text: str, intent: str | None, topics: Sequence[str] = ()) -> Classified:
    """Why this message was written (see the module's docstring)."""
    points: dict[str, float] = defaultdict(float)
    found: dict[str, list[str]] = defaultdict(list)
    topic_found: dict[str, list[str]] = defaultdict(list)
    label_text = " ".join(topics)
    for reason, patterns in _PATTERNS.items():
        for cue, pattern in patterns:
            if pattern.search(text):
                points[reason] += 1.0
                found[reason].append(cue)
            elif label_text and pattern.search(label_text):
                points[reason] += 0.5
                topic_found[reason].append(cue)
    by_intent, weight = INTENT_REASON.get(intent or "", (None, 0.0))
    if by_intent:
        points[by_intent] += weight
    if not points:
        return Classified("unclassified", "no cue and no analysed intent", (), intent)
    best = max(REASONS, key=lambda r: (points.get(r, 0.0), -REASONS.index(r)))
    parts = []
    if found[best]:
        parts.append("cues " + ", ".join(repr(c) for c in found[best]))
    if topic_found[best]:
        parts.append("topic cues " + ", ".join(repr(c) for c in topic_found[best]))
    if by_intent == best:
        parts.append(f"intent {intent}")
    runner = sorted(((points[r], r) for r in REASONS if r != best and points.get(r)), reverse=True)
    rule = f"{best}: " + " + ".join(parts) + f" = {points[best]:g} points"
    if runner:
        rule += f" (next: {runner[0][1]} {runner[0][0]:g})"
    return Classified(best, rule, tuple(found[best]), intent)


# ----------------------------------------------------------------- the belief


class Belief(BaseModel):
    ranking: list[str]
    shares: dict[str, float]
    updated_by: str | None = None
    updated_at: datetime | None = None


def parse_ranking(value: str | Sequence[str]) -> list[str]:
    """``discount_price,purchase,...`` (or a list) → validated reasons, best first."""
    items = [v.strip() for v in (value.split(",") if isinstance(value, str) else value)]
    items = [v for v in items if v]
    unknown = [v for v in items if v not in REASONS]
    if unknown:
        raise InsightsError(
            f"unknown reason(s) {', '.join(unknown)}: rank some of {', '.join(REASONS)}"
        )
    if len(set(items)) != len(items):
        raise InsightsError("a reason is ranked twice")
    if not items:
        raise InsightsError(f"rank at least one reason of {', '.join(REASONS)}")
    return items


def borda(ranking: Sequence[str]) -> dict[str, float]:
    n = len(ranking)
    total = n * (n + 1) / 2
    shares = {r: 0.0 for r in REASONS}
    for i, reason in enumerate(ranking):
        shares[reason] = round((n - i) / total, 4)
    return shares


def stored_belief(session: Session) -> Belief | None:
    row = session.get(InsightSetting, BELIEF_KEY)
    if row is None:
        return None
    ranking = list(row.value.get("ranking", []))
    return Belief(
        ranking=ranking, shares=borda(ranking), updated_by=row.updated_by, updated_at=row.updated_at
    )


# ----------------------------------------------------------------- the report


class Example(BaseModel):
    message_id: int
    text: str
    intent: str | None
    rule: str


class GapRow(BaseModel):
    reason: str
    label: str
    actual_messages: int
    actual_share: float
    actual_rank: int
    believed_share: float | None
    believed_rank: int | None
    #: actual − believed share (positive: customers care more than believed).
    gap: float | None


class PerceptionGap(BaseModel):
    since: datetime | None
    until: datetime | None
    channel: str | None
    messages: int
    classified: int
    unclassified: int
    sampled: bool
    actual: dict[str, float]
    believed: Belief | None
    gap: list[GapRow]
    examples: dict[str, list[Example]]
    method: str
    note: str | None = None


METHOD = (
    "one reason per analysed inbound message: a point per cue word found in the text, half a "
    "point per cue in its topic labels, a point for the reason its intent points to "
    "(request: half); most points wins (ties: discount, purchase, support, information, "
    "feedback, community); "
    "believed ranking → Borda weights"
)


def compute_perception_gap(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    channel: str | None = None,
    examples: int = EXAMPLES,
) -> PerceptionGap:
    where: list[Any] = [Message.direction == INBOUND]
    if since is not None:
        where.append(Message.created_at >= since)
    if until is not None:
        where.append(Message.created_at < until)
    if channel is not None:
        where.append(Message.channel_id.in_(select(Channel.id).where(Channel.name == channel)))
    total = int(
        session.execute(select(func.count()).select_from(Message).where(*where)).scalar_one()
    )
    step = max(1, -(-total // MAX_MESSAGES))
    ids = [
        int(i)
        for i in session.execute(select(Message.id).where(*where).order_by(Message.id)).scalars()
    ]
    ids = ids[::step]
    counts: Counter[str] = Counter()
    picked: dict[str, list[Example]] = defaultdict(list)
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        texts = dict(
            session.execute(
                select(Message.id, Message.text).where(in_values(session, Message.id, chunk))
            ).all()
        )
        analysis = sentiment_topics_for(session, chunk)
        for mid in chunk:
            a = analysis.get(mid)
            text = texts.get(mid) or ""
            c = classify(text, a.intent if a else None, a.topics if a else ())
            counts[c.reason] += 1
            if c.reason in REASONS and len(picked[c.reason]) < examples:
                picked[c.reason].append(
                    Example(message_id=mid, text=text[:280], intent=c.intent, rule=c.rule)
                )
    classified = sum(counts[r] for r in REASONS)
    actual = {r: round(counts[r] / classified, 4) if classified else 0.0 for r in REASONS}
    belief = stored_belief(session)
    actual_rank = {
        r: i + 1
        for i, r in enumerate(sorted(REASONS, key=lambda r: (-counts[r], REASONS.index(r))))
    }
    rows = []
    for r in REASONS:
        believed = belief.shares[r] if belief else None
        rows.append(
            GapRow(
                reason=r,
                label=LABELS[r],
                actual_messages=counts[r],
                actual_share=actual[r],
                actual_rank=actual_rank[r],
                believed_share=believed,
                believed_rank=(belief.ranking.index(r) + 1)
                if belief and r in belief.ranking
                else None,
                gap=round(actual[r] - believed, 4) if believed is not None and classified else None,
            )
        )
    return PerceptionGap(
        since=since,
        until=until,
        channel=channel,
        messages=total,
        classified=classified,
        unclassified=counts["unclassified"],
        sampled=step > 1,
        actual=actual,
        believed=belief,
        gap=rows,
        examples={r: picked.get(r, []) for r in REASONS},
        method=METHOD,
        note=None
        if belief
        else "no believed ranking recorded: a manager sets it with "
        "`rapport insights belief set REASON,REASON,...` (or PUT /api/v1/insights/belief)",
    )


def perception_tables(p: PerceptionGap) -> list[CsvTable]:
    fields = list(GapRow.model_fields)
    return [
        CsvTable("gap", fields, [[getattr(g, f) for f in fields] for g in p.gap]),
        CsvTable(
            "examples",
            ["reason", "message_id", "intent", "rule", "text"],
            [
                [reason, e.message_id, e.intent, e.rule, e.text]
                for reason, items in p.examples.items()
                for e in items
            ],
        ),
    ]
