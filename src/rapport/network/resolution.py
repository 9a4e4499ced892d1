"""Did an answer help? Pure rules over a thread's messages, shared by peer-helper
detection (network) and knowledge harvesting (knowledge).

With stored analysis (`rapport.analysis.queries.MessageAnalysis`) the rules
use intent and sentiment; without it they fall back to lexical cues, and
every verdict says which one it used:

- *question*: intent `question`/`request` (analysis), else a `?` or a
  question/help opening ("how do I", "can you", "why is"...) (lexical);
- *thanks*: intent `praise`, or positive sentiment ≥ 0.3 with a thanks word
  (analysis), else a thanks word/phrase ("thanks", "thank you", "ty",
  "cheers", "that worked", "fixed it"...) (lexical). A reply that opens
  with thanks (within its first three words), in a first sentence with no
  complaint cue and no "but", is thanks even
  when the rest of the message grumbles about something else ("Thanks, see
  it now. Real shame about the new app though."): the whole message's
  sentiment says nothing about whether *this* answer helped;
- *complaint*: intent `complaint` or sentiment ≤ −0.3 (analysis), else a
  complaint cue ("still not", "doesn't work", "useless", "ridiculous"...);
- an answer *resolved* the question when the asker later thanked
  (`thanked`), turned positive (`turned_positive`: analysis only, the
  asker's sentiment rose by ≥ 0.4 to positive), or did not come back to
  complain: only asked a follow-up question (`followed_up`, weakest) or
  wrote nothing negative at all (`no_complaint`). A later complaint by the
  asker (before any thanks) means the answer did not resolve it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from rapport.analysis.queries import MessageAnalysis

QUESTION_INTENTS = frozenset({"question", "request"})

_LEADING_MENTIONS = re.compile(r"^(?:\s*@\w+)+\s*")
_QUESTION_OPENING = re.compile(
    r"^(?:how|what|where|when|why|which|who|is|are|can|could|does|do|did|will|would|should|"
    r"has|have|any\s?(?:one|body)|anyone|is there|help)\b",
    re.IGNORECASE,
)
_HELP_CUE = re.compile(
    r"\b(?:how (?:do|can|to) i|how do you|can (?:you|someone|anyone) help|need (?:some )?help|"
    r"anyone know|does anyone|any idea|any ideas|what should i|is there a way|help me)\b",
    re.IGNORECASE,
)
_THANKS = re.compile(
    r"\b(?:thanks?|thank(?:s| you| u)|thx|thnx|ty|tysm|cheers|appreciate(?:d)?|"
    r"that (?:worked|helped|did it|fixed it)|(?:it|this) worked|works now|fixed it|"
    r"sorted(?: it)?|solved|you(?:'re| are) (?:a star|the best)|great help|much obliged)\b",
    re.IGNORECASE,
)
_COMPLAINT = re.compile(
    r"\b(?:still (?:not|no|nothing|waiting|broken|down|doesn't|does not|can't|cannot|haven't)|"
    r"(?:doesn't|does not|didn't|did not|isn't|is not|won't|will not) (?:work|help)|"
    r"none of (?:it|them|this|that|these|those) (?:worked|helped)|"
    r"not working|no help|useless|ridiculous|unacceptable|worst|terrible|awful|"
    r"disappointed|frustrat\w*|waste of|never again|fed up|wtf|joke|for nothing)\b",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")


@dataclass(frozen=True)
class ThreadMessage:
    """What the rules need of one message."""

    id: int
    author: int | None
    is_account: bool
    text: str
    created_at: datetime
    parent_id: int | None = None


@dataclass(frozen=True)
class Cue:
    """A rule that fired, how (`analysis` or `lexical`) and on which words."""

    method: str
    evidence: str


@dataclass(frozen=True)
class Verdict:
    """Whether an answer resolved a question, and the evidence."""

    resolved: bool
    #: `thanked`, `turned_positive`, `no_complaint`, `followed_up`, or `complained` (not resolved).
    outcome: str
    method: str
    evidence: str
    #: The asker's message that shows it (thanks, the complaint...), if any.
    evidence_message_id: int | None = None


def body(text: str) -> str:
    """The text without the `@handles` a reply starts with."""
    return _LEADING_MENTIONS.sub("", text).strip()


def question_cue(text: str, analysis: MessageAnalysis | None = None) -> Cue | None:
    if analysis is not None:
        if analysis.intent in QUESTION_INTENTS:
            return Cue("analysis", f"intent {analysis.intent}")
        return None
    content = body(text)
    if "?" in content:
        sentence = next((s for s in _SENTENCE.findall(content) if "?" in s), content)
        return Cue("lexical", sentence.strip()[:80])
    match = _QUESTION_OPENING.match(content) or _HELP_CUE.search(content)
    if match:
        return Cue("lexical", match.group(0))
    return None


_BUT = re.compile(r"\b(?:but|however|though)\b", re.IGNORECASE)
#: How far into the reply a thanks may start and still "open" it ("Ok great, thanks").
OPENING_WORDS = 3


def _opening_thanks(text: str) -> re.Match[str] | None:
    """Thanks that opens the reply (within its first words), in a first
    sentence with no complaint cue and no "but" hedge."""
    opening = next(iter(_SENTENCE.findall(body(text))), "")
    match = _THANKS.search(opening)
    if match is None or len(opening[: match.start()].split()) >= OPENING_WORDS:
        return None
    if _COMPLAINT.search(opening) or _BUT.search(opening):
        return None
    return match


def thanks_cue(text: str, analysis: MessageAnalysis | None = None) -> Cue | None:
    match = _THANKS.search(text)
    if analysis is not None:
        if analysis.intent == "praise":
            return Cue("analysis", "intent praise" + (f": {match.group(0)!r}" if match else ""))
        if match and analysis.sentiment_score >= 0.3:
            return Cue("analysis", f"{match.group(0)!r}, sentiment {analysis.sentiment_score:+.2f}")
        opening = _opening_thanks(text)
        if opening:
            return Cue(
                "lexical",
                f"opens with thanks {opening.group(0)!r} (whole message: intent "
                f"{analysis.intent}, sentiment {analysis.sentiment_score:+.2f})",
            )
        return None
    if match and not _COMPLAINT.search(text):
        return Cue("lexical", match.group(0))
    return None


def complaint_cue(text: str, analysis: MessageAnalysis | None = None) -> Cue | None:
    if analysis is not None:
        if analysis.intent == "complaint":
            return Cue("analysis", "intent complaint")
        if analysis.sentiment_score <= -0.3:
            return Cue("analysis", f"sentiment {analysis.sentiment_score:+.2f}")
        return None
    match = _COMPLAINT.search(text)
    return Cue("lexical", match.group(0)) if match else None


def is_only_questions(text: str) -> bool:
    """True when every sentence of the text is a question (a reply that asks
    back is not an answer)."""
    sentences = [s.strip() for s in _SENTENCE.findall(body(text)) if s.strip()]
    return bool(sentences) and all(s.endswith("?") for s in sentences)


def judge_answer(
    thread: Sequence[ThreadMessage],
    question: ThreadMessage,
    answer: ThreadMessage,
    analyses: Mapping[int, MessageAnalysis],
) -> Verdict:
    """Did ``answer`` resolve ``question`` (asked by ``question.author``)?
    Looks at the asker's later messages in ``thread`` (time order)."""
    later = [
        m
        for m in thread
        if m.author == question.author
        and m.id != question.id
        and (m.created_at, m.id) > (answer.created_at, answer.id)
    ]
    for m in later:
        a = analyses.get(m.id)
        thanks = thanks_cue(m.text, a)
        if thanks:
            return Verdict(True, "thanked", thanks.method, thanks.evidence, m.id)
        complaint = complaint_cue(m.text, a)
        if complaint:
            return Verdict(False, "complained", complaint.method, complaint.evidence, m.id)
    before = analyses.get(question.id)
    if before is not None:
        for m in later:
            a = analyses.get(m.id)
            if (
                a is not None
                and a.sentiment == "positive"
                and a.sentiment_score - before.sentiment_score >= 0.4
            ):
                return Verdict(
                    True,
                    "turned_positive",
                    "analysis",
                    f"sentiment {before.sentiment_score:+.2f} → {a.sentiment_score:+.2f}",
                    m.id,
                )
    for m in later:
        cue = question_cue(m.text, analyses.get(m.id))
        if cue:
            return Verdict(
                True, "followed_up", cue.method, f"asked a follow-up: {cue.evidence}", m.id
            )
    if later:
        return Verdict(
            True,
            "no_complaint",
            "analysis" if all(m.id in analyses for m in later) else "lexical",
            f"the asker wrote {len(later)} more message(s), none a complaint or a new question",
        )
    return Verdict(
        True, "no_complaint", "thread", "the asker did not come back to complain in the thread"
    )
