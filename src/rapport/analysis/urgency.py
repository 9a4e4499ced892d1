"""Urgency in [0, 1], as a documented sum of reasons (no black box).

    urgency = min(1, Σ weight × factor), every factor in [0, 1]

| factor | weight | value |
|---|---|---|
| negativity | 0.20 | max(0, −sentiment_score) |
| intent | 0.15 | complaint 1, request 0.7, question 0.4, feedback 0.2, else 0 |
| loss or harm words | 0.25 | min(1, hits / 2): cancelled, refund, broken, charged  |
|   |   | twice, stranded, lost, stolen, fraud, hacked, outage, ... |
| time pressure | 0.15 | min(1, hits / 2): urgent, asap, now, today, tonight, |
|   |   | still, waiting, hours, days, ... |
| shouting | 0.05 | 1 when ≥ 2 exclamation marks or mostly capitals |
| repetition | 0.10 | min(1, earlier messages by the same author in the last 24 h / 3) |
| reach | 0.05 | min(1, log10(1 + followers + 10 × retweets) / 5) |
| waiting | 0.05 | min(1, hours since the author's first unanswered message in the thread / 24) |

The last three need context (stored messages, or keys of an `analyze`
input line); without it they count 0. Every factor that counts is listed
in the reason with its share.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from rapport.analysis.text import Prepared

METHOD = "urgency-formula-v1"

HARM = re.compile(
    r"\b(cancell?ed|cancel+ation|refund\w*|broken|broke|charged (twice|again|double|me)"
    r"|double charged|overcharg\w*|stranded|lost|stolen|fraud\w*|hack\w*|scam\w*|outage"
    r"|no (service|internet|power|signal|wifi)|not working|doesn't work|won't (work|start|turn on)"
    r"|damaged|injur\w*|hurt|emergency|missed (my|our|the) (flight|connection)|missing"
    r"|locked out|can't (access|log ?in|login|pay)|deducted|theft|unsafe|danger\w*|leak\w*"
    r"|bricked|dead|crash\w*|delayed|delay|died|sick|allerg\w*|evict\w*|overdraft)\b",
    re.IGNORECASE,
)
TIME = re.compile(
    r"\b(urgent\w*|asap|immediately|right now|now|today|tonight|tomorrow|still|waiting|waited"
    r"|hours?|hrs?|days?|weeks?|deadline|minutes|mins|again|already|yet|soon|leaving"
    r"|boarding|departure|in \d+ (min|minutes|hours?))\b",
    re.IGNORECASE,
)
INTENT_FACTOR = {"complaint": 1.0, "request": 0.7, "question": 0.4, "feedback": 0.2}


@dataclass(frozen=True)
class UrgencyContext:
    """What the text alone does not say (all optional)."""

    #: Earlier messages by the same author in the 24 hours before this one.
    prior_messages_24h: int = 0
    followers: int | None = None
    retweets: int | None = None
    #: Seconds since the author's first unanswered message in this thread.
    waiting_seconds: float | None = None


@dataclass(frozen=True)
class Urgency:
    value: float
    reasons: tuple[str, ...]


def _hits(pattern: re.Pattern[str], text: str) -> list[str]:
    seen: list[str] = []
    for m in pattern.finditer(text):
        word = m.group(0).lower()
        if word not in seen:
            seen.append(word)
    return seen


def score(
    p: Prepared,
    sentiment_score: float,
    intent: str,
    context: UrgencyContext | None = None,
) -> Urgency:
    ctx = context or UrgencyContext()
    parts: list[tuple[float, str]] = []
    neg = max(0.0, -sentiment_score)
    if neg > 0:
        parts.append((0.20 * neg, f"negative sentiment {sentiment_score:+.2f}"))
    factor = INTENT_FACTOR.get(intent, 0.0)
    if factor:
        parts.append((0.15 * factor, f"intent {intent}"))
    text = p.normalised
    harm = _hits(HARM, text)
    if harm:
        parts.append((0.25 * min(1.0, len(harm) / 2), "loss or harm: " + ", ".join(harm[:4])))
    timed = _hits(TIME, text)
    if timed:
        parts.append((0.15 * min(1.0, len(timed) / 2), "time pressure: " + ", ".join(timed[:4])))
    letters = [c for c in p.text if c.isalpha()]
    caps = sum(1 for c in letters if c.isupper()) / len(letters) if len(letters) >= 8 else 0.0
    if p.text.count("!") >= 2 or caps > 0.6:
        parts.append((0.05, "shouting (!! or capitals)"))
    if ctx.prior_messages_24h > 0:
        parts.append(
            (
                0.10 * min(1.0, ctx.prior_messages_24h / 3),
                f"repeated: {ctx.prior_messages_24h} earlier message(s) in 24 h",
            )
        )
    reach = (ctx.followers or 0) + 10 * (ctx.retweets or 0)
    if reach > 0:
        parts.append(
            (
                0.05 * min(1.0, math.log10(1 + reach) / 5),
                f"reach: {ctx.followers or 0} followers, {ctx.retweets or 0} retweets",
            )
        )
    if ctx.waiting_seconds and ctx.waiting_seconds > 0:
        hours = ctx.waiting_seconds / 3600
        parts.append((0.05 * min(1.0, hours / 24), f"waiting {hours:.1f} h unanswered"))
    value = min(1.0, sum(w for w, _ in parts))
    reasons = tuple(f"{why} (+{w:.2f})" for w, why in sorted(parts, key=lambda x: -x[0]) if w > 0)
    return Urgency(round(value, 3), reasons or ("no sign of urgency",))
