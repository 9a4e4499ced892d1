"""Finding question → answer pairs worth keeping in one thread (pure).

A pair is kept when:
1. the *question* is a person's message (not one of our accounts) that asks,
   states a need or reports a problem (`resolution.question_cue`,
   `problem_cue`: analysis intent question/request/complaint, or else the
   lexical cues: "not working", "need", "trying to", a complaint word...); the
   asker's messages right before it in the same reply chain are read with
   it (a question is often split over two tweets);
2. the *answer* replies to it, written by one of our accounts (`agent`) or
   by another person (`peer`), and is an answer
   (`resolution.not_an_answer`): enough substance (6 words, a link counting
   3) once the leading `@handles`, pleasantries,
   apologies, questions back ("What device are you using?") and hand-offs
   to a private channel ("please DM us", "only a DM away") are set aside;
   a peer's reply to a question about the peer themself, a "me too" or a
   complaint is no answer either — the answerer's own follow-up replies in
   the chain are joined to it (threads split long answers over tweets);
3. the answer resolved the question (`resolution.judge_answer`): the asker
   thanked, turned positive, or did not come back to complain or ask again.

Confidence: thanked 0.9, turned positive 0.8, no complaint 0.5 (the asker
wrote nothing more) or 0.6 (wrote more, none a complaint), followed up
with another question 0.4.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from rapport.analysis.queries import MessageAnalysis
from rapport.conversations.schemas import MessagePublic
from rapport.network import resolution

CONFIDENCE = {"thanked": 0.9, "turned_positive": 0.8, "followed_up": 0.4}

_PROBLEM = re.compile(
    r"\b(?:not working|doesn't work|does not work|won't|wont|can't|cant|cannot|unable|error|"
    r"issue|problem|broken|missing|never (?:arrived|received|came)|hasn't arrived|charged|"
    r"refund|cancel\w*|delay\w*|stuck|crash\w*|keeps|lost|wrong|failed|no service|outage|down)\b",
    re.IGNORECASE,
)
_NEED = re.compile(
    r"\b(?:need|want|wanted|would like|trying to|tried|assist\w*|help|worried|wondering|"
    r"ripped off|how|where|when|why|anyone|suggest\w*|recommend\w*|request)\b",
    re.IGNORECASE,
)
_SIGNATURE = re.compile(r"(?:\s*[\^*\-–—~/]\s*[A-Z][A-Za-z]{0,15}\s*)+$")
_URL = re.compile(r"https?://\S+")
_WORDS = re.compile(r"\w+")


def problem_cue(text: str, analysis: MessageAnalysis | None = None) -> resolution.Cue | None:
    """A need or a problem: the analysed intent, else (whatever the analysis
    said) the lexical cues."""
    if analysis is not None and analysis.intent in ("question", "request", "complaint"):
        return resolution.Cue("analysis", f"intent {analysis.intent}")
    match = _PROBLEM.search(text) or _NEED.search(text)
    if match:
        return resolution.Cue("lexical", match.group(0))
    return resolution.complaint_cue(text)


def clean(text: str) -> str:
    """Message text as a knowledge-base entry shows it: leading `@handles` and
    a trailing agent signature (`^JAY`, `*JoanO`, `-AB`) removed."""
    out = resolution.body(text)
    out = _SIGNATURE.sub("", out).strip()
    return re.sub(r"\s+", " ", out)


_MENTION = re.compile(r"@\w+")


def is_handoff(text: str) -> bool:
    """A reply whose substance is "move to a private channel"."""
    return resolution.is_handoff(text)


@dataclass
class Pair:
    question_ids: list[int]
    answer_ids: list[int]
    question: str
    answer: str
    asker_identity_id: int | None
    answerer_identity_id: int | None
    answered_by: str
    answered_by_kind: str
    outcome: str
    method: str
    evidence: str
    evidence_message_id: int | None
    confidence: float
    reason: str
    cues: list[str] = field(default_factory=list)

    @property
    def answer_message_id(self) -> int:
        return self.answer_ids[0]

    @property
    def question_message_id(self) -> int:
        return self.question_ids[-1]


def pairs_in_thread(
    thread: Sequence[MessagePublic],
    accounts: set[int],
    analyses: Mapping[int, MessageAnalysis],
) -> list[Pair]:
    """Resolved question → answer pairs of one thread (messages in time order)."""
    by_ext = {m.external_id: m for m in thread}
    parent_of: dict[int, int] = {}
    children: dict[int, list[MessagePublic]] = {}
    for m in thread:
        parent = by_ext.get(m.parent_external_id) if m.parent_external_id else None
        if parent is not None and parent.id != m.id:
            parent_of[m.id] = parent.id
            children.setdefault(parent.id, []).append(m)
    by_id = {m.id: m for m in thread}
    rules = [
        resolution.ThreadMessage(
            id=m.id,
            author=m.author_identity_id,
            is_account=m.author_identity_id in accounts,
            text=m.text,
            created_at=m.created_at,
            parent_id=parent_of.get(m.id),
        )
        for m in thread
    ]
    rule_of = {r.id: r for r in rules}
    pairs: list[Pair] = []
    for answer in thread:
        question_id = parent_of.get(answer.id)
        if question_id is None:
            continue
        question = by_id[question_id]
        asker, answerer = question.author_identity_id, answer.author_identity_id
        if asker is None or answerer is None or asker == answerer or asker in accounts:
            continue
        q_analysis = analyses.get(question.id)
        cue = resolution.question_cue(question.text, q_analysis) or problem_cue(
            question.text, q_analysis
        )
        if cue is None:
            continue
        # The answer and the answerer's own follow-ups in the chain.
        answer_chain = [answer]
        while True:
            follow = [
                c for c in children.get(answer_chain[-1].id, []) if c.author_identity_id == answerer
            ]
            if not follow:
                break
            answer_chain.append(follow[0])
        answer_text = " ".join(clean(m.text) for m in answer_chain)
        if all(resolution.is_only_questions(m.text) for m in answer_chain):
            continue
        peer = answerer not in accounts
        if resolution.not_an_answer(
            " ".join(m.text for m in answer_chain),
            question=question.text,
            peer=peer,
            analysis=analyses.get(answer.id),
        ):
            continue
        # The question and the asker's messages right before it in the chain.
        question_chain = [question]
        while len(question_chain) < 3:
            up = parent_of.get(question_chain[0].id)
            if up is None or by_id[up].author_identity_id != asker:
                break
            question_chain.insert(0, by_id[up])
        verdict = resolution.judge_answer(
            rules, rule_of[question.id], rule_of[answer_chain[-1].id], analyses
        )
        if not verdict.resolved:
            continue
        confidence = CONFIDENCE.get(verdict.outcome, 0.5 if verdict.method == "thread" else 0.6)
        kind = "agent" if answerer in accounts else "peer"
        who = f"{answer.channel}:{answer.author}" if answer.author else f"identity:{answerer}"
        pairs.append(
            Pair(
                question_ids=[m.id for m in question_chain],
                answer_ids=[m.id for m in answer_chain],
                question=" ".join(clean(m.text) for m in question_chain),
                answer=answer_text,
                asker_identity_id=asker,
                answerer_identity_id=answerer,
                answered_by=who,
                answered_by_kind=kind,
                outcome=verdict.outcome,
                method=verdict.method,
                evidence=verdict.evidence,
                evidence_message_id=verdict.evidence_message_id,
                confidence=confidence,
                reason=(
                    f"question ({cue.method}: {cue.evidence!r}) answered by "
                    f"{'our account' if kind == 'agent' else 'a peer'} {who}; "
                    f"resolved: {verdict.outcome.replace('_', ' ')} ({verdict.method}: "
                    f"{verdict.evidence})"
                ),
                cues=[cue.evidence],
            )
        )
    return pairs
