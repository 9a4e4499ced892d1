"""Weak intent labels for training data (never for the gold set).

No public data set carries Rapport's six intents, so the intent model learns
from messages labelled by these rules (labelling functions), written from
INTENT_GUIDE.md's definitions, applied in the guide's order: an explicit
ask for action is a request, a genuine information question is a question,
dissatisfaction without an ask is a complaint, gratitude or approval is
praise, a suggestion or a mixed verdict is feedback, anything else is
chatter. The rules use the human signals a source has (the airline set's
sentiment label, a review's star rating) and VADER when it has none.

The classifier trained on these labels generalises past the rules: it sees
every word of every message, the rules only a few cues.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

REQUEST = re.compile(
    r"\b(please|pls|plz|kindly)\b"
    r"|\b(can|could|would|will) (you|u|someone|somebody|anyone|y'all|you guys) "
    r"(please |pls )?(help|fix|send|check|look|tell|give|refund|cancel|change|dm|follow|call"
    r"|get|resolve|sort|update|reset|explain|assist|confirm|reply|respond|rebook|reach|email"
    r"|contact|provide|let)\b"
    r"|\b(dm|message|email|inbox) (us|me)\b|\bsend (us|me)\b|\bhelp me\b|\bhelp!|\bhelp please\b"
    r"|\bi (need|want|would like|'d like) (a |my |to |someone |somebody )?"
    r"(refund|help|someone|speak|talk|money|cancel|change|rebook|replacement|answer|resolution)"
    r"|\b(reach out|get in touch|contact us|call us|follow us|let us know|tell us more|"
    r"provide (us|some|more)|click here)\b"
    r"|^\W*(help|dm|send|follow|call|contact|fix|refund|check out|try|visit|give)\b",
    re.IGNORECASE,
)
QUESTION_OPENER = re.compile(
    r"(^|[.!?]\s+)(what|when|where|who|why|how|which|is|are|am|do|does|did|can|could|will"
    r"|would|should|shall|has|have|any|anyone|anybody|was|were|may|whats|what's|hows|where's)\b",
    re.IGNORECASE,
)
QUESTION_PHRASE = re.compile(
    r"\b(anyone know|does anyone|is there (a|any) way|how do i|how can i|how to|wondering"
    r"|just wondering|any idea|any ideas|any suggestions|what time|which one)\b",
    re.IGNORECASE,
)
ANGRY = re.compile(
    r"\?!|!\?|\?\?\?|\b(wtf|seriously|ridiculous|unacceptable|joke|smh|ffs|what the hell"
    r"|what gives|are you kidding)\b",
    re.IGNORECASE,
)
PROBLEM = re.compile(
    r"\b(still (not|no|waiting|haven't|hasn't|nothing|broken)|not working|doesn't work"
    r"|does not work|won't (load|work|let)|can't (get|log|login|access|connect)|broken|worst"
    r"|terrible|horrible|awful|ridiculous|unacceptable|disappoint\w*|cancell?ed|delayed|delay"
    r"|lost (my|our)|on hold|no one|nobody|never (received|got|arrived|came)|charged (twice|me)"
    r"|rude|useless|waste|fail\w*|crash\w*|error|stuck|stranded|missing|damaged|scam|sucks"
    r"|annoy\w*|frustrat\w*|pathetic|hate|outage|down again|not happy|poor|rip ?off)\b",
    re.IGNORECASE,
)
PRAISE = re.compile(
    r"\b(thank(s| you)|thanx|thx|ty|love|loved|loving|awesome|amazing|great|excellent|best"
    r"|perfect|appreciate\w*|kudos|shout ?out|fantastic|wonderful|brilliant|happy|pleased"
    r"|impressed|helpful|enjoy\w*|works great|cheers)\b|❤|😍|🙌|👍|💕",
    re.IGNORECASE,
)
FEEDBACK = re.compile(
    r"\b(wish|would be (nice|great|better|cool|helpful)|should (add|have|make|be able|offer"
    r"|bring|consider|allow|let)|suggest\w*|feature request|needs? (more|to be|better|an?)"
    r"|please add|why not|it would be|could be better|would love (to see|if)|idea"
    r"|not always|sometimes|a little|only (thing|problem|issue|complaint)|except)\b",
    re.IGNORECASE,
)
MENTIONS = re.compile(r"^(\s*\.?@\w+)+")


@dataclass(frozen=True)
class Hints:
    """What a source tells besides the text."""

    #: `inbound` (customer to brand), `outbound` (brand reply), `review`, `tweet`.
    kind: str = "inbound"
    #: A human sentiment label when the source has one.
    sentiment: str | None = None
    #: A review's stars (1-5) when known.
    rating: int | None = None
    #: VADER compound score of the text (computed by the caller).
    vader: float = 0.0


def _polarity(h: Hints) -> str:
    if h.sentiment in ("negative", "neutral", "positive"):
        return h.sentiment
    if h.rating is not None:
        return "negative" if h.rating <= 2 else "positive" if h.rating == 5 else "neutral"
    return "negative" if h.vader <= -0.3 else "positive" if h.vader >= 0.45 else "neutral"


def weak_intent(text: str, hints: Hints) -> str:
    """The rules' intent for ``text`` (one of the six; chatter when nothing fires)."""
    body = MENTIONS.sub("", text).strip()
    polarity = _polarity(hints)
    angry = bool(ANGRY.search(body))
    if REQUEST.search(body) and hints.kind != "review":
        return "request"
    has_q = "?" in body
    if has_q and not angry and (QUESTION_OPENER.search(body) or QUESTION_PHRASE.search(body)):
        return "question"
    if hints.kind == "outbound":
        # brands inform, empathise and ask; they do not complain about themselves
        return "question" if has_q else "chatter"
    if hints.kind == "review":
        if hints.rating is not None and hints.rating <= 2:
            return "complaint"
        if FEEDBACK.search(body) or (hints.rating is not None and 3 <= hints.rating <= 4):
            return "feedback"
        if polarity == "positive" or PRAISE.search(body):
            return "praise"
        return "feedback"
    if polarity == "negative" and (PROBLEM.search(body) or angry or hints.kind == "inbound"):
        return "complaint"
    if PROBLEM.search(body) and polarity != "positive":
        return "complaint"
    if FEEDBACK.search(body) and hints.kind == "inbound" and polarity != "positive":
        return "feedback"
    if polarity == "positive" and PRAISE.search(body):
        return "praise"
    if has_q and not angry:
        return "question"
    return "chatter"
