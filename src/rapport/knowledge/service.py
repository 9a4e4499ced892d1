"""The knowledge service: harvesting entries, reviewing them.

`do_harvest` reads every thread (through `rapport.conversations.queries`),
keeps the resolved question → answer pairs (`knowledge.harvest`), skips the
answers already harvested (re-running adds nothing), embeds each pair with
MiniLM (`rapport.analysis.embeddings.embed_texts`) and merges a pair into
an existing entry that says the same thing — answer cosine ≥ 0.83 and
question cosine ≥ 0.60 (the same answer to a related need) — instead of
adding a near-copy (the entry's `support` grows and it cites the
duplicate's messages too).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from rapport.analysis.embeddings import EMBEDDING_DIM, embed_texts
from rapport.analysis.queries import analyses_for
from rapport.audit.service import do_record
from rapport.conversations import queries as conversations
from rapport.conversations.schemas import MessagePublic
from rapport.knowledge.errors import EntryNotFound, KnowledgeError
from rapport.knowledge.harvest import Pair, pairs_in_thread
from rapport.knowledge.models import (
    APPROVED,
    CANDIDATE,
    REJECTED,
    KnowledgeEntry,
    KnowledgeSource,
)
from rapport.knowledge.schemas import EntryPublic, HarvestResult
from rapport.relationships.hooks import PersonData
from rapport.storage.base import utcnow
from rapport.storage.bulk import in_values

DUPLICATE_QUESTION_COSINE = 0.60
DUPLICATE_ANSWER_COSINE = 0.83
_ANSWER_ROLES = ("answer", "duplicate_answer")


#: Embeddings already computed in this process, by text (bounded).
_EMBEDDED: dict[str, npt.NDArray[np.float32]] = {}
_EMBEDDED_LIMIT = 50_000


def embed(texts: Sequence[str]) -> list[npt.NDArray[np.float32]]:
    """MiniLM embeddings of ``texts``, computing only those not seen yet."""
    missing = list(dict.fromkeys(t for t in texts if t not in _EMBEDDED))
    if missing:
        if len(_EMBEDDED) + len(missing) > _EMBEDDED_LIMIT:
            _EMBEDDED.clear()
        for text, vector in zip(missing, embed_texts(missing), strict=True):
            _EMBEDDED[text] = vector
    return [_EMBEDDED[t] for t in texts]


def to_vector(blob: bytes) -> npt.NDArray[np.float32]:
    return np.frombuffer(blob, dtype=np.float32)


@dataclass
class _Bank:
    """Embeddings of the entries known so far (stored and new)."""

    ids: list[int] = field(default_factory=list)
    questions: list[npt.NDArray[np.float32]] = field(default_factory=list)
    answers: list[npt.NDArray[np.float32]] = field(default_factory=list)

    def closest(
        self, q: npt.NDArray[np.float32], a: npt.NDArray[np.float32]
    ) -> tuple[int, float, float] | None:
        if not self.ids:
            return None
        q_sims = np.vstack(self.questions) @ q
        a_sims = np.vstack(self.answers) @ a
        ok = (q_sims >= DUPLICATE_QUESTION_COSINE) & (a_sims >= DUPLICATE_ANSWER_COSINE)
        if not ok.any():
            return None
        best = int(np.argmax(np.where(ok, q_sims + a_sims, -np.inf)))
        return self.ids[best], float(q_sims[best]), float(a_sims[best])


def _harvested_answers(session: Session) -> set[int]:
    return set(
        session.execute(
            select(KnowledgeSource.message_id).where(KnowledgeSource.role.in_(_ANSWER_ROLES))
        ).scalars()
    )


def find_pairs(session: Session, *, chunk: int = 500) -> tuple[int, list[Pair]]:
    """Every resolved pair in the stored threads: (threads read, pairs)."""
    accounts = conversations.account_identity_ids(session)
    threads = 0
    found: list[Pair] = []
    batch: list[list[MessagePublic]] = []

    def flush() -> None:
        ids = [m.id for thread in batch for m in thread]
        analyses = analyses_for(session, ids) if ids else {}
        for thread in batch:
            found.extend(pairs_in_thread(thread, accounts, analyses))
        batch.clear()

    for thread in conversations.iter_threads(session, chunk=chunk):
        threads += 1
        if len(thread) < 2:
            continue
        batch.append(thread)
        if sum(len(t) for t in batch) >= 5_000:
            flush()
    flush()
    return threads, found


def do_harvest(session: Session, *, actor: str) -> HarvestResult:
    """Harvest new entries (status `candidate`) from the stored threads."""
    threads, pairs = find_pairs(session)
    seen = _harvested_answers(session)
    fresh = [p for p in pairs if p.answer_message_id not in seen]
    result = HarvestResult(threads=threads, pairs_found=len(pairs))
    result.already_harvested = len(pairs) - len(fresh)
    if not fresh:
        do_record(session, actor, "knowledge.harvest", details=result.model_dump())
        return result
    # The best-evidenced pair of a group of duplicates becomes the entry.
    fresh.sort(key=lambda p: (-p.confidence, p.answer_message_id))
    q_vectors = embed([p.question for p in fresh])
    a_vectors = embed([p.answer for p in fresh])
    bank = _Bank()
    for entry_id, q_blob, a_blob in session.execute(
        select(
            KnowledgeEntry.id, KnowledgeEntry.question_embedding, KnowledgeEntry.answer_embedding
        )
    ):
        bank.ids.append(entry_id)
        bank.questions.append(to_vector(q_blob))
        bank.answers.append(to_vector(a_blob))
    for pair, q_vec, a_vec in zip(fresh, q_vectors, a_vectors, strict=True):
        match = bank.closest(q_vec, a_vec)
        if match is not None:
            entry_id = match[0]
            entry = session.get(KnowledgeEntry, entry_id)
            assert entry is not None
            entry.support += 1
            _add_sources(session, entry_id, pair, duplicate=True)
            result.merged += 1
            continue
        entry = KnowledgeEntry(
            status=CANDIDATE,
            question=pair.question,
            answer=pair.answer,
            question_message_id=pair.question_message_id,
            answer_message_id=pair.answer_message_id,
            answered_by=pair.answered_by,
            answered_by_kind=pair.answered_by_kind,
            answerer_identity_id=pair.answerer_identity_id,
            outcome=pair.outcome,
            reason=pair.reason,
            confidence=pair.confidence,
            support=1,
            question_embedding=np.asarray(q_vec, dtype=np.float32).tobytes(),
            answer_embedding=np.asarray(a_vec, dtype=np.float32).tobytes(),
        )
        session.add(entry)
        session.flush()
        _add_sources(session, entry.id, pair, duplicate=False)
        bank.ids.append(entry.id)
        bank.questions.append(q_vec)
        bank.answers.append(a_vec)
        result.added += 1
        result.by_agents += pair.answered_by_kind == "agent"
        result.by_peers += pair.answered_by_kind == "peer"
    session.flush()
    do_record(session, actor, "knowledge.harvest", details=result.model_dump())
    return result


def _add_sources(session: Session, entry_id: int, pair: Pair, *, duplicate: bool) -> None:
    prefix = "duplicate_" if duplicate else ""
    roles: dict[int, str] = {}
    for mid in pair.question_ids:
        roles.setdefault(mid, prefix + "question")
    for mid in pair.answer_ids:
        roles.setdefault(mid, prefix + "answer")
    if pair.evidence_message_id is not None:
        roles.setdefault(pair.evidence_message_id, prefix + "evidence")
    existing = set(
        session.execute(
            select(KnowledgeSource.message_id).where(KnowledgeSource.entry_id == entry_id)
        ).scalars()
    )
    for mid, role in roles.items():
        if mid not in existing:
            session.add(KnowledgeSource(entry_id=entry_id, message_id=mid, role=role))
    session.flush()


def _review(
    session: Session, entry_ids: Sequence[int], status: str, *, actor: str, note: str | None
) -> list[EntryPublic]:
    if not entry_ids:
        raise KnowledgeError("name at least one entry id")
    from rapport.knowledge.queries import get_entries

    entries = {
        e.id: e
        for e in session.execute(
            select(KnowledgeEntry).where(KnowledgeEntry.id.in_(list(entry_ids)))
        ).scalars()
    }
    missing = [i for i in entry_ids if i not in entries]
    if missing:
        raise EntryNotFound(f"no knowledge-base entry with id {', '.join(str(i) for i in missing)}")
    now = utcnow()
    for entry_id in entry_ids:
        entry = entries[entry_id]
        before = entry.status
        entry.status = status
        entry.reviewed_by = actor
        entry.reviewed_at = now
        entry.review_note = note
        do_record(
            session,
            actor,
            f"knowledge.{'approve' if status == APPROVED else 'reject'}",
            subject_type="kb_entry",
            subject_id=entry_id,
            details={"from": before, "to": status, "note": note},
        )
    session.flush()
    return get_entries(session, list(entry_ids))


def do_approve(
    session: Session, entry_ids: Sequence[int], *, actor: str, note: str | None = None
) -> list[EntryPublic]:
    """Approve entries: they feed suggested answers."""
    return _review(session, entry_ids, APPROVED, actor=actor, note=note)


def do_reject(
    session: Session, entry_ids: Sequence[int], *, actor: str, note: str | None = None
) -> list[EntryPublic]:
    """Reject entries: kept (so re-harvesting does not bring them back) but never shown."""
    return _review(session, entry_ids, REJECTED, actor=actor, note=note)


# ------------------------------------------------------------------ privacy

#: Source roles whose message text *is* the entry's question or answer.
_TEXT_ROLES = ("question", "answer")


def do_erase_person(session: Session, data: PersonData) -> None:
    """Erasure hook (`rapport.relationships.hooks`): entries whose question
    or answer is one of the person's messages go (their texts are copies);
    the person's messages are no longer cited as duplicates or evidence
    elsewhere; the person's identifiers are scrubbed from the texts of the
    entries that cite messages replying to or mentioning them."""
    own = list(data.message_ids)
    doomed: set[int] = set()
    if own:
        doomed.update(
            session.execute(
                select(KnowledgeSource.entry_id).where(
                    in_values(session, KnowledgeSource.message_id, own),
                    KnowledgeSource.role.in_(_TEXT_ROLES),
                )
            ).scalars()
        )
    if data.identity_ids:
        doomed.update(
            session.execute(
                select(KnowledgeEntry.id).where(
                    in_values(session, KnowledgeEntry.answerer_identity_id, data.identity_ids)
                )
            ).scalars()
        )
    if doomed:
        session.execute(delete(KnowledgeSource).where(KnowledgeSource.entry_id.in_(sorted(doomed))))
        session.execute(delete(KnowledgeEntry).where(KnowledgeEntry.id.in_(sorted(doomed))))
    if own:
        cited = list(
            session.execute(
                select(KnowledgeSource.entry_id, KnowledgeSource.role).where(
                    in_values(session, KnowledgeSource.message_id, own)
                )
            ).all()
        )
        for entry_id, role in cited:
            if role == "duplicate_answer":
                session.execute(
                    update(KnowledgeEntry)
                    .where(KnowledgeEntry.id == entry_id, KnowledgeEntry.support > 1)
                    .values(support=KnowledgeEntry.support - 1)
                )
        session.execute(
            delete(KnowledgeSource).where(in_values(session, KnowledgeSource.message_id, own))
        )
    pattern = data.identifier_pattern()
    related = list(data.related_message_ids)
    if pattern is None or not related:
        return
    entry_ids = sorted(
        set(
            session.execute(
                select(KnowledgeSource.entry_id).where(
                    in_values(session, KnowledgeSource.message_id, related)
                )
            ).scalars()
        )
    )
    for entry in session.execute(
        select(KnowledgeEntry).where(KnowledgeEntry.id.in_(entry_ids))
    ).scalars():
        question = pattern.sub("@[erased]", entry.question)
        answer = pattern.sub("@[erased]", entry.answer)
        if (question, answer) != (entry.question, entry.answer):
            entry.question, entry.answer = question, answer
            entry.reason = pattern.sub("@[erased]", entry.reason)
    session.flush()


__all__ = [
    "EMBEDDING_DIM",
    "do_approve",
    "do_erase_person",
    "do_harvest",
    "do_reject",
    "find_pairs",
]
