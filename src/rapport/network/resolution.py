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
- *complaint*: intent `complaint` with sentiment ≤ −0.5 (analysis), else a
  complaint cue ("still not", "doesn't work", "useless", "ridiculous"...)
  (lexical). A mildly negative follow-up ("Right, but I earned those",
  "Raw meat!!! It does not say unwrapped") grumbles about the situation,
  not about the answer: measured on the gold set, counting every negative
  follow-up as a failed answer dropped a third of the good answers;
- an answer *resolved* the question when the asker later thanked
  (`thanked`), turned positive (`turned_positive`: analysis only, the
  asker's sentiment rose by ≥ 0.4 to positive), or did not come back to
  complain: only asked a follow-up question (`followed_up`, weakest) or
  wrote nothing negative at all (`no_complaint`). A later complaint by the
  asker (before any thanks) means the answer did not resolve it.

The *question* cue takes the analysis' word when it says question/request
and falls back to the lexical cues when it does not: the intent model
reads "can you still pre order ww2 on the playstation store" as chatter,
and a literal question must not be lost for that.

Is a reply an *answer* at all (`not_an_answer`)? Only its substance
counts: sentences that are pleasantries or apologies ("Hi there!", "We're
sorry to hear that", "We'd be happy to look into this"), questions back
("What device are you on?", "Could you send us your order number"), offers
to help ("let us know", "just checking in") or a hand-off to a private
channel ("please DM us", "only a DM away") carry none. A reply with fewer
than `SUBSTANCE_WORDS` words of substance (a link counts as
`LINK_WORDS`) is not an answer. Between two customers (a *peer* answer)
two more rules hold: a reply to a question about the replier themself
("Have you reached out to Financial Service?", "What have you seen?") is
them answering for themself, not helping; and a reply that is itself a
complaint or a "me too" ("Same exact issue") helps nobody.
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
    if analysis is not None and analysis.intent in QUESTION_INTENTS:
        return Cue("analysis", f"intent {analysis.intent}")
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


#: A peer's reply this negative (or an analysed complaint) is venting, not help.
PEER_VENTING_SENTIMENT = -0.3
#: An analysed complaint this negative says the answer did not help.
COMPLAINT_SENTIMENT = -0.5


def complaint_cue(text: str, analysis: MessageAnalysis | None = None) -> Cue | None:
    if (
        analysis is not None
        and analysis.intent == "complaint"
        and analysis.sentiment_score <= COMPLAINT_SENTIMENT
    ):
        return Cue("analysis", f"intent complaint, sentiment {analysis.sentiment_score:+.2f}")
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


# ------------------------------------------------------------------ is it an answer?

#: Words of substance a reply needs to be an answer (pleasantries, questions
#: back and hand-offs removed); a link counts as `LINK_WORDS` words.
SUBSTANCE_WORDS = 6
LINK_WORDS = 3

_URL = re.compile(r"https?://\S+")
_TRAILING_MENTIONS = re.compile(r"(?:\s*@\w+)+\s*$")
#: "1/2" thread counters and agent signatures ("^JAY", "*JoanO", "- Matt", "/GS").
_TAIL = re.compile(
    r"(?:\s*(?:\d+/\d+|[\^*/]\s*[A-Z][A-Za-z]{0,15}|[-–—~]\s*[A-Z][a-z]{0,15}))+\s*$"
)
_HANDOFF = re.compile(
    r"\b(?:dms?|d\.m\.|direct message|private message|pm us|message us|"
    r"send us a (?:dm|note|message)|reach out (?:to us )?(?:via|by|in) (?:dm|direct|private)|"
    r"follow (?:us )?and dm|via dm|in dm|over dm|through dm)\b",
    re.IGNORECASE,
)
_GREETING = re.compile(
    r"^(?:hi|hello|hey|hiya|howdy|greetings|good (?:morning|afternoon|evening|day)|"
    r"ol[áa]|oh,? no|oh dear|uh oh|ok(?:ay)?|yikes|whoa)\b[^,.!?]{0,20}[,.!?]+\s*",
    re.IGNORECASE,
)
_EMPTY_SENTENCE = re.compile(
    r"^(?:"
    r"(?:(?:i|we)(?:'m|'re| am| are)?\s+)?(?:(?:so|very|really|truly|terribly|sincerely|also|"
    r"deeply|sincerest|sincere|my|our)\s+)*(?:sorry|apologi[sz]e|apologies)\b"
    r"|(?:thanks?|thank you|ty|thx)\b"
    r"|(?:we|i)(?:'re| are|'m| am)\s+(?:(?:always|here|so|very|more than)\s+)*"
    r"(?:here|happy|glad|ready|standing by|on it)\b"
    r"|(?:we|i)(?:'d|'ll| would| will| can| could)?\s+(?:(?:certainly|gladly|definitely)\s+)?"
    r"(?:be\s+)?(?:(?:more than|very|so)\s+)?(?:happy|glad|love)\s+to\b"
    r"|(?:we|i)(?:'d| would| will|'ll)?\s+(?:(?:certainly|really|definitely|absolutely|just|"
    r"do)\s+)?(?:need|like|want)\s+(?:to|you|your|some|more|a)\b"
    r"|(?:we|i)(?:'ll| will| can)\s+(?:(?:certainly|definitely|absolutely|gladly|go ahead and)\s+)?"
    r"(?:see what|take a (?:closer )?look|look into|check|follow up|get back|review|pass|"
    r"be (?:in touch|responding|happy|glad))"
    r"|[^.!?]*\b(?:is|are) (?:very |really |so |extremely )?important to (?:us|me)\b"
    r"|let(?:'s| us| me)\s+(?:know|look|take|check|team|get|see|do|help|dig|find|figure)\b"
    r"|(?:just\s+|please\s+|simply\s+)?(?:let|give)\s+(?:us|me)\s+(?:know|a shout)\b"
    r"|(?:just\s+)?checking in\b|(?:please\s+)?stand(?:ing)? by\b|checking (?:it|this|that) out\b"
    r"|(?:please|kindly)\s+(?:(?:do|also)\s+)?(?:send|share|provide|give|dm|confirm|follow|"
    r"reach out|contact us|check|let us know|tell us|include|verify)\b"
    r"|(?:can|could|would|will|may)\s+(?:you|i|we)\b"
    r"|(?:happy|glad) to (?:help|assist)\b"
    r"|have a (?:great|good|nice|lovely|wonderful)\b"
    r"|(?:that'?s|this is|that is)\s+(?:not good|never good|no good|not ideal|not what we)"
    r"|no worries\b|no problem\b|you'?re welcome\b|my pleasure\b|any ?time\b"
    r")",
    re.IGNORECASE,
)
#: A suggestion put as a question or a request is an answer: "Have you tried
#: signing out and back in?", "could you please try resetting the preferences".
_SUGGESTION = re.compile(
    r"\b(?:have you|did you|can you|could you|would you|you could|you can|please|why not|"
    r"you may|you might|try)\s+(?:please\s+)?(?:also\s+)?(?:tr(?:y|ied|ying)|check(?:ed)?|"
    r"restart\w*|reset\w*|reinstall\w*|re-?install\w*|updat\w*|sign\w* (?:out|in)|"
    r"log\w* (?:out|in)|clear\w*|turn\w* (?:off|on)|go(?:ne)? to|us(?:e|ed|ing)|"
    r"chang\w*|select\w*|redeem\w*|delet\w*|remov\w*|disabl\w*|enabl\w*|download\w*|"
    r"contact\w*|open\w*|deregister\w*|unplug\w*|power\w*)\b",
    re.IGNORECASE,
)
_FIRST_PERSON = re.compile(r"\b(?:i|i'm|i've|i'd|i'll|im|me|my|mine|myself)\b", re.IGNORECASE)
_SECOND_PERSON = re.compile(r"\b(?:you|your|yours|yourself|y'all|u|ur)\b", re.IGNORECASE)
_ME_TOO = re.compile(
    r"\b(?:me too|same here|mine too|same (?:exact |exact same )?(?:issue|problem|thing|here)|"
    r"(?:i'm|i am|im) (?:also )?having the same|i have the same|"
    r"having the same (?:issue|problem))\b",
    re.IGNORECASE,
)


_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+|\n+")


def _sentences(text: str) -> list[str]:
    """Sentences, split after `.`, `!` or `?` followed by a space (so
    "version 72.2" and "t.co" stay whole)."""
    return [s.strip() for s in _SENTENCE_BREAK.split(text) if s.strip()]


def is_handoff(text: str) -> bool:
    """A reply whose substance is "move to a private channel": it asks for a
    DM and says little else."""
    content = _URL.sub(" LINK ", body(text))
    if not _HANDOFF.search(content):
        return False
    return substance_words(text) < SUBSTANCE_WORDS


def substance(text: str) -> list[str]:
    """The sentences of a reply that say something: not a pleasantry, an
    apology, a question back, an offer to help or a hand-off."""
    content = _TRAILING_MENTIONS.sub("", _URL.sub(" LINK ", body(text)))
    content = _TAIL.sub("", content).strip()
    kept = []
    for sentence in _sentences(content):
        rest = _GREETING.sub("", sentence).strip()
        while True:  # "Hey hey! Thanks..." / "Hi Tim, the software..."
            shorter = _GREETING.sub("", rest).strip()
            if shorter == rest:
                break
            rest = shorter
        if not rest or _HANDOFF.search(rest):
            continue
        if _SUGGESTION.search(rest):
            kept.append(rest)
            continue
        if rest.endswith("?"):
            continue
        if _EMPTY_SENTENCE.match(rest):
            # "I sincerely apologize, our IT team is working on it": the
            # clause after the pleasantry may still say something.
            tail = rest.split(",", 1)[1].strip() if "," in rest else ""
            if tail and not _EMPTY_SENTENCE.match(tail) and not _HANDOFF.search(tail):
                kept.append(tail)
            continue
        kept.append(rest)
    return kept


def substance_words(text: str) -> int:
    words = 0
    for sentence in substance(text):
        links = sentence.count("LINK")
        words += len(re.findall(r"\w+", sentence.replace("LINK", " "))) + LINK_WORDS * links
    return words


def asks_about_addressee(text: str) -> bool:
    """A question about the person it is put to ("Have you reached out to
    Financial Service?", "What have you seen?"), not about the asker's own
    need: every question sentence says "you", and the asker says nothing
    about themself (no I, me, my)."""
    content = body(text)
    questions = [s for s in _sentences(content) if s.endswith("?")]
    return (
        bool(questions)
        and all(_SECOND_PERSON.search(q) for q in questions)
        and not _FIRST_PERSON.search(content)
    )


def not_an_answer(
    reply: str,
    *,
    question: str = "",
    peer: bool = False,
    analysis: MessageAnalysis | None = None,
) -> str | None:
    """Why ``reply`` (to ``question``) is no answer, or None when it is one."""
    if is_handoff(reply):
        return "a hand-off to a private channel"
    words = substance_words(reply)
    if words < SUBSTANCE_WORDS:
        return (
            f"{words} word(s) of substance once pleasantries, questions back and hand-offs "
            f"are set aside (needs {SUBSTANCE_WORDS})"
        )
    if not peer:
        return None
    if question and asks_about_addressee(question):
        return "it answers a question about the replier themself"
    if _ME_TOO.search(reply):
        return "a 'me too', not an answer"
    complaint = complaint_cue(reply, analysis)
    if complaint:
        return f"the reply is itself a complaint ({complaint.method}: {complaint.evidence})"
    if analysis is not None and (
        analysis.intent == "complaint" or analysis.sentiment_score <= PEER_VENTING_SENTIMENT
    ):
        # A customer venting back at a brand ("I'm so done with Amazon!") helps nobody.
        return (
            f"the reply vents (analysis: intent {analysis.intent}, "
            f"sentiment {analysis.sentiment_score:+.2f})"
        )
    return None
