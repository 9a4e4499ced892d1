"""What triage knows about a thread: the features a policy's rules test.

`thread_features` is pure: it takes a thread's messages, their stored
analysis and what relationships know of the customer, and returns the
features (documented in `FIELDS`, the names a policy may use) with the
facts the SLA and priority computation need. Nothing here reads the
database; `rapport.engagement.service` gathers the inputs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rapport.analysis.queries import MessageAnalysis
from rapport.conversations.importers.records import MENTION_RE
from rapport.conversations.schemas import MessagePublic
from rapport.network.resolution import complaint_cue, question_cue, thanks_cue


@dataclass(frozen=True)
class FieldSpec:
    kind: str  # bool | number | text | list
    help: str


#: Every feature a policy rule may test, with its type and meaning.
FIELDS: dict[str, FieldSpec] = {
    "channel": FieldSpec("text", "the thread's channel name (twitter, masto, email...)"),
    "channel_kind": FieldSpec("text", "the channel's connector kind (import, mastodon, sms...)"),
    "private_channel": FieldSpec(
        "bool", "the channel is one-to-one (email, SMS, a direct webhook)"
    ),
    "addressed_to_us": FieldSpec(
        "bool",
        "a customer wrote to one of our accounts (reply or @mention), we spoke in the "
        "thread, or the channel is private",
    ),
    "talking_to_peers": FieldSpec(
        "bool",
        "the latest unanswered customer message replies to another customer, not to us "
        "(we are at most copied in)",
    ),
    "we_answered": FieldSpec("bool", "one of our accounts wrote in the thread"),
    "awaiting_reply": FieldSpec(
        "bool", "addressed to us and a customer wrote after our last message"
    ),
    "last_from": FieldSpec("text", "who wrote last: customer, peer (another customer) or brand"),
    "waiting_minutes": FieldSpec(
        "number", "minutes since the first customer message we have not answered (0: none)"
    ),
    "messages": FieldSpec("number", "messages in the thread"),
    "participants": FieldSpec("number", "distinct customers who wrote in the thread"),
    "peer_replies": FieldSpec(
        "number", "messages by customers other than the one who started the thread"
    ),
    "intent": FieldSpec(
        "text",
        "intent of the latest customer message we have not answered (else the latest "
        "customer message): question, request, complaint, praise, feedback, chatter",
    ),
    "intents": FieldSpec("list", "intents of the unanswered customer messages"),
    "complaint": FieldSpec(
        "bool", "an unanswered customer message is a complaint (intent, or sentiment <= -0.3)"
    ),
    "question": FieldSpec("bool", "an unanswered customer message asks something"),
    "thanked": FieldSpec("bool", "the customer's latest message thanks us after our answer"),
    "sentiment": FieldSpec("text", "sentiment of that latest customer message"),
    "sentiment_score": FieldSpec("number", "its sentiment score, -1..1"),
    "urgency": FieldSpec(
        "number", "the highest urgency (0..1) of the unanswered customer messages"
    ),
    "topics": FieldSpec("list", "topics of the unanswered customer messages"),
    "language": FieldSpec("text", "language (ISO 639-1) of the latest customer message"),
    "private_details": FieldSpec(
        "bool",
        "the conversation needs personal details (order or account numbers, payment, login, "
        "contact details) or we asked the customer to write privately",
    ),
    "private_details_evidence": FieldSpec("list", "the words that showed it"),
    "asked_to_dm": FieldSpec(
        "bool", "our latest message invited the customer to a private channel"
    ),
    "reshares": FieldSpec(
        "number", "reshares (retweets, boosts, reposts) of the thread's messages"
    ),
    "followers": FieldSpec("number", "the largest follower count among the thread's customers"),
    "reach": FieldSpec("number", "people who can see it: followers plus 10 per reshare"),
    "velocity_per_hour": FieldSpec(
        "number", "peer replies and reshares per hour since the thread started"
    ),
    "author_roles": FieldSpec("list", "roles of the customer (customer, influencer, advocate...)"),
    "author_influencer": FieldSpec(
        "bool", "the customer holds the influencer role or has >= 10,000 followers"
    ),
    "author_influence": FieldSpec(
        "number", "the customer's influence in the conversation graph, 0..1 (0 when unknown)"
    ),
    "author_health": FieldSpec(
        "number", "the customer's relationship health, 0..100 (50 when unknown)"
    ),
    "author_health_known": FieldSpec("bool", "relationship health is known for the customer"),
    "author_health_trend": FieldSpec("number", "its change over the trend window, in points"),
}

FOLLOWER_KEYS = ("followers", "author_followers", "followers_count", "user_followers_count")
RESHARE_KEYS = ("retweet_count", "retweets", "reblogs_count", "repost_count", "reshares")
INFLUENCER_FOLLOWERS = 10_000
VALUE_ROLES = frozenset({"influencer", "advocate", "partner"})

_PRIVATE_CUES: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            r"\b(?:order|tracking|confirmation|reservation|booking|case|reference|ref)"
            r"\s*(?:number|no\.?|#|id|code)",
            re.I,
        ),
        "reference number",
    ),
    (re.compile(r"\border\b", re.I), "order"),
    (re.compile(r"\b(?:account|acct|a/c)\b", re.I), "account"),
    (
        re.compile(r"\b(?:password|log ?in|sign ?in|username|verification code|2fa)\b", re.I),
        "login details",
    ),
    (
        re.compile(
            r"\b(?:billing|billed|charged|refund(?:ed)?|payment|credit card|debit card|"
            r"card ending|invoice|overcharged)\b",
            re.I,
        ),
        "payment",
    ),
    (
        re.compile(
            r"\b(?:my|your) (?:home |billing |shipping )?(?:address|phone number|"
            r"e-?mail(?: address)?|zip ?code|postcode|date of birth)\b",
            re.I,
        ),
        "contact details",
    ),
    (
        re.compile(r"\b(?:dms?|direct messages?|private messages?|inbox(?:ed)?)\b", re.I),
        "a private channel",
    ),
    (re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.]+\b"), "an email address"),
    (re.compile(r"(?<![\w@/])\+?\d[\d\s().-]{8,}\d(?!\w)"), "a phone or long number"),
]
_ASK_PRIVATE = re.compile(
    r"\b(?:dm|d\.m\.|direct message|private message|privately|message us|pm us|"
    r"private (?:secured? )?link|secure(?:d)? link|"
    r"send us a (?:dm|note|message)|follow (?:and|&) dm|reach out (?:via|by) (?:dm|email))\b",
    re.I,
)


@dataclass(frozen=True)
class CustomerFacts:
    """What relationships know of the thread's customer (all optional)."""

    person_id: int | None = None
    roles: frozenset[str] = frozenset()
    health: float | None = None
    health_trend: float | None = None
    influence: float | None = None


@dataclass
class ThreadFacts:
    """The inputs of `thread_features` for one thread."""

    thread_id: int
    channel: str
    channel_kind: str
    private_channel: bool
    messages: Sequence[MessagePublic]
    analyses: Mapping[int, MessageAnalysis]
    #: Identity ids of our accounts, and their handle keys on this channel.
    account_ids: frozenset[int]
    account_handles: Mapping[str, int | None]
    customer: CustomerFacts = field(default_factory=CustomerFacts)


@dataclass
class ThreadProfile:
    """The features, plus the facts SLA and priority need."""

    features: dict[str, Any]
    customer_identity_id: int | None
    brand_identity_id: int | None
    first_inbound_at: datetime | None
    last_inbound_at: datetime | None
    last_outbound_at: datetime | None
    last_message_id: int | None
    last_message_at: datetime | None
    #: (message time, is ours, is a customer's) in time order: the SLA walk.
    timeline: list[tuple[datetime, bool, bool]]
    #: Evidence for the explanation: message ids and words behind the features.
    evidence: dict[str, Any]


def _number(meta: Mapping[str, Any], keys: Sequence[str]) -> int:
    best = 0
    for key in keys:
        value = meta.get(key)
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float) and math.isfinite(value):
            best = max(best, int(value))
        elif isinstance(value, str) and value.strip().isdigit():
            best = max(best, int(value.strip()))
    return best


def private_cues(text: str) -> list[str]:
    """The personal-detail cues found in ``text`` (order numbers, account...)."""
    found: list[str] = []
    for pattern, label in _PRIVATE_CUES:
        if pattern.search(text) and label not in found:
            found.append(label)
    return found


def asks_private(text: str) -> bool:
    return bool(_ASK_PRIVATE.search(text))


def thread_features(facts: ThreadFacts, now: datetime) -> ThreadProfile:
    """The policy features of one thread, as of ``now``."""
    msgs = sorted(facts.messages, key=lambda m: (m.created_at, m.id))
    ours = [m.author_identity_id in facts.account_ids or m.direction == "outbound" for m in msgs]
    by_ext = {m.external_id: m for m in msgs}
    customer_id: int | None = None
    for m, mine in zip(msgs, ours, strict=True):
        if not mine and m.author_identity_id is not None:
            customer_id = m.author_identity_id
            break
    brand_id: int | None = None
    for m, mine in zip(msgs, ours, strict=True):
        if mine and m.author_identity_id is not None:
            brand_id = m.author_identity_id

    # Addressed to us: a reply to our message or an @mention of our account.
    addressed_msg: int | None = None
    for m, mine in zip(msgs, ours, strict=True):
        if mine:
            continue
        parent = by_ext.get(m.parent_external_id or "")
        if parent is not None and parent.author_identity_id in facts.account_ids:
            addressed_msg = addressed_msg or m.id
            brand_id = brand_id or parent.author_identity_id
        if "@" in m.text:
            for handle in MENTION_RE.findall(m.text):
                key = handle.casefold()
                if key in facts.account_handles:
                    addressed_msg = addressed_msg or m.id
                    brand_id = brand_id or facts.account_handles[key]
    we_answered = any(ours)
    addressed = we_answered or addressed_msg is not None or facts.private_channel

    last_ours = max((i for i, mine in enumerate(ours) if mine), default=-1)
    customer_msgs = [m for m, mine in zip(msgs, ours, strict=True) if not mine]
    unanswered = [m for m, mine in zip(msgs[last_ours + 1 :], ours[last_ours + 1 :], strict=True)]
    unanswered = [m for m in unanswered if m.author_identity_id not in facts.account_ids]
    focus = unanswered or customer_msgs[-1:]
    latest = focus[-1] if focus else None
    latest_a = facts.analyses.get(latest.id) if latest else None

    def analysis(m: MessagePublic) -> MessageAnalysis | None:
        return facts.analyses.get(m.id)

    peer_talk = False
    if unanswered:
        tail = unanswered[-1]
        parent = by_ext.get(tail.parent_external_id or "")
        peer_talk = (
            parent is not None
            and parent.author_identity_id not in facts.account_ids
            and parent.direction != "outbound"
            and parent.author_identity_id != tail.author_identity_id
        )
    complaint_msgs = [m for m in unanswered if complaint_cue(m.text, analysis(m))]
    question_msgs = [m for m in unanswered if question_cue(m.text, analysis(m))]
    urgency = max(
        (facts.analyses[m.id].urgency for m in focus if m.id in facts.analyses), default=0
    )
    last_customer = customer_msgs[-1] if customer_msgs else None
    thanked = bool(
        last_customer is not None
        and we_answered
        and msgs[-1] is last_customer
        and thanks_cue(last_customer.text, analysis(last_customer))
    )
    private_words: list[str] = []
    private_msgs: list[int] = []
    for m in customer_msgs:
        cues = private_cues(m.text)
        if cues:
            private_msgs.append(m.id)
            private_words.extend(c for c in cues if c not in private_words)
    asked_dm = last_ours >= 0 and asks_private(msgs[last_ours].text)
    if asked_dm:
        private_words.append("we asked them to write privately")
        private_msgs.append(msgs[last_ours].id)

    customers = {m.author_identity_id for m in customer_msgs if m.author_identity_id is not None}
    peer_replies = sum(1 for m in customer_msgs if m.author_identity_id not in (customer_id, None))
    reshares = sum(_number(m.meta, RESHARE_KEYS) for m in msgs)
    followers = max((_number(m.meta, FOLLOWER_KEYS) for m in customer_msgs), default=0)
    reach = followers + 10 * reshares
    span_hours = (msgs[-1].created_at - msgs[0].created_at).total_seconds() / 3600 if msgs else 0
    velocity = (peer_replies + reshares) / max(1.0, span_hours)

    waiting_since = unanswered[0].created_at if unanswered and addressed else None
    waiting_minutes = (
        max(0.0, (now - waiting_since).total_seconds() / 60) if waiting_since is not None else 0.0
    )
    cust = facts.customer
    influencer = "influencer" in cust.roles or followers >= INFLUENCER_FOLLOWERS
    last_msg = msgs[-1] if msgs else None
    last_from = "brand"
    if last_msg is not None and not ours[-1]:
        last_from = "customer" if last_msg.author_identity_id == customer_id else "peer"
    intents = sorted({facts.analyses[m.id].intent for m in focus if m.id in facts.analyses})
    topics = sorted(
        {t for m in focus if m.id in facts.analyses for t in facts.analyses[m.id].topics}
    )
    features: dict[str, Any] = {
        "channel": facts.channel,
        "channel_kind": facts.channel_kind,
        "private_channel": facts.private_channel,
        "addressed_to_us": addressed,
        "talking_to_peers": peer_talk,
        "we_answered": we_answered,
        "awaiting_reply": bool(unanswered) and addressed,
        "last_from": last_from,
        "waiting_minutes": round(waiting_minutes, 1),
        "messages": len(msgs),
        "participants": len(customers),
        "peer_replies": peer_replies,
        "intent": latest_a.intent if latest_a else "unknown",
        "intents": intents,
        "complaint": bool(complaint_msgs),
        "question": bool(question_msgs),
        "thanked": thanked,
        "sentiment": latest_a.sentiment if latest_a else "unknown",
        "sentiment_score": round(latest_a.sentiment_score, 3) if latest_a else 0.0,
        "urgency": round(float(urgency), 3),
        "topics": topics,
        "language": latest_a.language if latest_a else "unknown",
        "private_details": bool(private_words),
        "private_details_evidence": private_words,
        "asked_to_dm": asked_dm,
        "reshares": reshares,
        "followers": followers,
        "reach": reach,
        "velocity_per_hour": round(velocity, 2),
        "author_roles": sorted(cust.roles),
        "author_influencer": influencer,
        "author_influence": round(cust.influence or 0.0, 4),
        "author_health": round(cust.health, 1) if cust.health is not None else 50.0,
        "author_health_known": cust.health is not None,
        "author_health_trend": round(cust.health_trend or 0.0, 1),
    }
    evidence: dict[str, Any] = {}
    if latest is not None:
        evidence["latest_customer_message_id"] = latest.id
        if latest_a is not None:
            evidence["analysis"] = {
                k: v for k, v in latest_a.evidence.items() if k in ("intent", "urgency")
            }
    if addressed_msg is not None:
        evidence["addressed_by_message_id"] = addressed_msg
    if complaint_msgs:
        evidence["complaint_message_ids"] = [m.id for m in complaint_msgs][:5]
    if private_msgs:
        evidence["private_details_message_ids"] = private_msgs[:5]
    timeline = [
        (m.created_at, mine, (not mine) and addressed) for m, mine in zip(msgs, ours, strict=True)
    ]
    inbound = [m.created_at for m in customer_msgs]
    outbound = [m.created_at for m, mine in zip(msgs, ours, strict=True) if mine]
    return ThreadProfile(
        features=features,
        customer_identity_id=customer_id,
        brand_identity_id=brand_id,
        first_inbound_at=inbound[0] if inbound else None,
        last_inbound_at=inbound[-1] if inbound else None,
        last_outbound_at=outbound[-1] if outbound else None,
        last_message_id=last_msg.id if last_msg else None,
        last_message_at=last_msg.created_at if last_msg else None,
        timeline=timeline,
        evidence=evidence,
    )


def zero_features() -> dict[str, Any]:
    """A feature set with every field at its empty value (to check reason templates)."""
    empty: dict[str, Any] = {"bool": False, "number": 0, "text": "", "list": []}
    return {name: empty[spec.kind] for name, spec in FIELDS.items()}
