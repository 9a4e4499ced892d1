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
| shouting | 0.05 | 1 with `!!` or three capitalised words in a row |
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

#: Single words of loss or harm (matched against the message's tokens).
HARM_WORDS = frozenset(
    """cancelled canceled cancellation cancel refund refunds refunded refunding broken broke
    stranded lost stolen fraud fraudulent hacked hacker hack scam scammed scammer outage
    damaged injured injury hurt emergency missing deducted theft unsafe danger dangerous
    leak leaking bricked dead crash crashed crashes crashing delayed delay delays died sick
    allergic allergy evicted eviction overdraft overcharged overcharge overcharging
    disconnected""".split()  # noqa: SIM905
)
#: Phrases of loss or harm: first word → the words that may follow it (a
#: tuple is a longer phrase). Looked up at the positions of those first words only.
HARM_PHRASES: dict[str, tuple[str | tuple[str, ...], ...]] = {
    "charged": ("twice", "again", "double", "me"),
    "double": ("charged",),
    "no": ("service", "internet", "power", "signal", "wifi", "water", "heat"),
    "not": ("working",),
    "doesn't": ("work",),
    "does": (("not", "work"),),
    "won't": ("work", "start", "load", ("turn", "on")),
    "missed": (("my", "flight"), ("our", "flight"), ("the", "flight"), ("my", "connection")),
    "locked": ("out",),
    "can't": ("access", "login", "pay", ("log", "in"), ("get", "in")),
}
TIME_WORDS = frozenset(
    """urgent urgently asap immediately now today tonight tomorrow still waiting waited wait
    hour hours hrs hr days day weeks deadline minutes mins again already yet soon leaving
    boarding departure""".split()  # noqa: SIM905
)
#: Three capitalised words in a row ("WHERE IS MY REFUND"): shouting.
_CAPS_RUN = re.compile(r"\b[A-Z]{2,}[!?.]*\s+[A-Z]{2,}[!?.]*\s+[A-Z]{2,}\b")
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


def _phrase_at(tokens: tuple[str, ...], i: int) -> str | None:
    for follow in HARM_PHRASES[tokens[i]]:
        words = (follow,) if isinstance(follow, str) else follow
        if tuple(tokens[i + 1 : i + 1 + len(words)]) == words:
            return " ".join((tokens[i], *words))
    return None


def _hits(tokens: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Loss/harm and time-pressure words in a message (each once, in order)."""
    harm: list[str] = []
    timed: list[str] = []
    seen: set[str] = set()
    for i, tok in enumerate(tokens):
        if tok in HARM_PHRASES:
            phrase = _phrase_at(tokens, i)
            if phrase and phrase not in seen:
                seen.add(phrase)
                harm.append(phrase)
        if tok in seen:
            continue
        seen.add(tok)
        if tok in HARM_WORDS:
            harm.append(tok)
        elif tok in TIME_WORDS:
            timed.append(tok)
    return harm, timed


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
    harm, timed = _hits(p.tokens)
    if harm:
        parts.append((0.25 * min(1.0, len(harm) / 2), "loss or harm: " + ", ".join(harm[:4])))
    if timed:
        parts.append((0.15 * min(1.0, len(timed) / 2), "time pressure: " + ", ".join(timed[:4])))
    if "!!" in p.normalised or _CAPS_RUN.search(p.text):
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
