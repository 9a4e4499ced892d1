"""How the knowledge base is read: entries, hybrid search, suggested answers.

Search ranks every entry of the asked statuses by

    score = 0.7 × semantic + 0.3 × keyword

- semantic: cosine between the MiniLM embedding of the query and the
  entry's (0.6 × question + 0.4 × answer), clipped to [0, 1];
- keyword: full-text relevance of the query words — SQLite FTS5 `bm25()`
  (question column weighted 2:1), PostgreSQL `ts_rank_cd` on a weighted
  tsvector (question A, answer B) — divided by the best keyword score of
  this query (so 1.0 for the best keyword match, 0 when no word matches).

`suggest_answers` (what the engagement domain calls) searches approved
entries only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from rapport.conversations import queries as conversations
from rapport.knowledge.errors import EntryNotFound, KnowledgeError
from rapport.knowledge.models import APPROVED, CANDIDATE, STATUSES, KnowledgeEntry, KnowledgeSource
from rapport.knowledge.schemas import EntryPublic, SearchResult, SourcePublic
from rapport.knowledge.service import embed, to_vector
from rapport.relationships.hooks import PersonData
from rapport.storage.bulk import in_values

SEMANTIC_WEIGHT = 0.7
KEYWORD_WEIGHT = 0.3
QUESTION_SHARE = 0.6
KEYWORD_CANDIDATES = 200
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_STOP_TEXT = """a an the and or but if of to in on at for from by with about as is are was were
be been am do does did i me my we our you your it its this that these those there here what when
where why how who which can could would should will just so not no yes please hi hello hey thanks
thank"""
_STOP = frozenset(_STOP_TEXT.split())


def _sources(session: Session, entry_ids: Sequence[int]) -> dict[int, list[SourcePublic]]:
    rows = list(
        session.execute(
            select(KnowledgeSource.entry_id, KnowledgeSource.message_id, KnowledgeSource.role)
            .where(KnowledgeSource.entry_id.in_(list(entry_ids)))
            .order_by(KnowledgeSource.entry_id, KnowledgeSource.message_id)
        ).all()
    )
    messages = {m.id: m for m in conversations.messages_by_ids(session, [r[1] for r in rows])}
    out: dict[int, list[SourcePublic]] = {i: [] for i in entry_ids}
    for entry_id, message_id, role in rows:
        m = messages.get(message_id)
        if m is None:
            continue
        out[entry_id].append(
            SourcePublic(
                message_id=m.id,
                channel=m.channel,
                external_id=m.external_id,
                author=m.author,
                role=role,
                created_at=m.created_at,
            )
        )
    order = {"question": 0, "answer": 1, "evidence": 2}
    for sources in out.values():
        sources.sort(key=lambda s: (order.get(s.role, 3), s.created_at, s.message_id))
    return out


def _public(entry: KnowledgeEntry, sources: list[SourcePublic]) -> EntryPublic:
    return EntryPublic(
        id=entry.id,
        status=entry.status,
        question=entry.question,
        answer=entry.answer,
        answered_by=entry.answered_by,
        answered_by_kind=entry.answered_by_kind,
        outcome=entry.outcome,
        confidence=entry.confidence,
        support=entry.support,
        reason=entry.reason,
        source_message_ids=[s.message_id for s in sources],
        sources=sources,
        created_at=entry.created_at,
        reviewed_by=entry.reviewed_by,
        reviewed_at=entry.reviewed_at,
        review_note=entry.review_note,
    )


def get_entries(session: Session, entry_ids: Sequence[int]) -> list[EntryPublic]:
    entries = {
        e.id: e
        for e in session.execute(
            select(KnowledgeEntry).where(KnowledgeEntry.id.in_(list(entry_ids)))
        ).scalars()
    }
    missing = [i for i in entry_ids if i not in entries]
    if missing:
        raise EntryNotFound(f"no knowledge-base entry with id {', '.join(map(str, missing))}")
    sources = _sources(session, list(entry_ids))
    return [_public(entries[i], sources[i]) for i in entry_ids]


def list_entries(
    session: Session, *, status: str | None = None, limit: int | None = None, offset: int = 0
) -> tuple[list[EntryPublic], dict[str, int]]:
    """Entries (best supported first) and the count per status."""
    if status is not None and status not in STATUSES:
        raise KnowledgeError(f"unknown status {status!r} (known: {', '.join(STATUSES)})")
    query = select(KnowledgeEntry).order_by(
        KnowledgeEntry.support.desc(), KnowledgeEntry.confidence.desc(), KnowledgeEntry.id
    )
    if status is not None:
        query = query.where(KnowledgeEntry.status == status)
    query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    entries = list(session.execute(query).scalars())
    sources = _sources(session, [e.id for e in entries])
    counts = {s: 0 for s in STATUSES}
    for (s,) in session.execute(select(KnowledgeEntry.status)).all():
        counts[s] = counts.get(s, 0) + 1
    return [_public(e, sources[e.id]) for e in entries], counts


def query_terms(query: str) -> list[str]:
    terms = []
    for token in _TOKEN.findall(query.casefold()):
        if token not in _STOP and (len(token) > 1 or token.isdigit()) and token not in terms:
            terms.append(token)
    return terms


def _keyword_scores(
    session: Session, terms: Sequence[str], statuses: Sequence[str]
) -> dict[int, float]:
    if not terms:
        return {}
    placeholders = ", ".join(f":s{i}" for i in range(len(statuses)))
    params: dict[str, object] = {f"s{i}": s for i, s in enumerate(statuses)}
    params["n"] = KEYWORD_CANDIDATES
    if session.get_bind().dialect.name == "sqlite":
        params["q"] = " OR ".join(f'"{t}"' for t in terms)
        sql = (
            "SELECT f.rowid, -bm25(kb_entry_fts, 2.0, 1.0) AS s FROM kb_entry_fts f "
            "JOIN kb_entry e ON e.id = f.rowid "
            f"WHERE kb_entry_fts MATCH :q AND e.status IN ({placeholders}) "
            "ORDER BY s DESC LIMIT :n"
        )
    else:
        params["q"] = " | ".join(terms)
        sql = (
            "SELECT id, ts_rank_cd(search_vector, to_tsquery('english', :q)) AS s "
            "FROM kb_entry WHERE search_vector @@ to_tsquery('english', :q) "
            f"AND status IN ({placeholders}) ORDER BY s DESC LIMIT :n"
        )
    scores = {int(i): float(s) for i, s in session.execute(text(sql), params)}
    best = max(scores.values(), default=0.0)
    if best <= 0:
        return {}
    return {i: s / best for i, s in scores.items()}


@dataclass
class _Scored:
    entry_id: int
    score: float
    semantic: float
    keyword: float


def search(
    session: Session,
    query: str,
    *,
    limit: int = 5,
    statuses: Sequence[str] = (APPROVED, CANDIDATE),
    semantic_weight: float = SEMANTIC_WEIGHT,
) -> list[SearchResult]:
    """The entries that best answer ``query``, best first, each with its sources."""
    query = query.strip()
    if not query:
        raise KnowledgeError("the search text is empty")
    if not 0.0 <= semantic_weight <= 1.0:
        raise KnowledgeError(f"semantic weight {semantic_weight} is not between 0 and 1")
    keyword_weight = 1.0 - semantic_weight
    unknown = [s for s in statuses if s not in STATUSES]
    if unknown:
        raise KnowledgeError(f"unknown status {unknown[0]!r} (known: {', '.join(STATUSES)})")
    rows = list(
        session.execute(
            select(
                KnowledgeEntry.id,
                KnowledgeEntry.question_embedding,
                KnowledgeEntry.answer_embedding,
            ).where(KnowledgeEntry.status.in_(list(statuses)))
        ).all()
    )
    if not rows:
        return []
    ids = [r[0] for r in rows]
    vector = embed([query])[0]
    q_matrix = np.vstack([to_vector(r[1]) for r in rows])
    a_matrix = np.vstack([to_vector(r[2]) for r in rows])
    semantic = np.clip(
        QUESTION_SHARE * (q_matrix @ vector) + (1 - QUESTION_SHARE) * (a_matrix @ vector), 0, 1
    )
    terms = query_terms(query)
    keyword = _keyword_scores(session, terms, statuses)
    scored = [
        _Scored(
            entry_id,
            semantic_weight * float(sem) + keyword_weight * keyword.get(entry_id, 0.0),
            float(sem),
            keyword.get(entry_id, 0.0),
        )
        for entry_id, sem in zip(ids, semantic, strict=True)
    ]
    scored.sort(key=lambda s: (-s.score, s.entry_id))
    best = scored[:limit]
    entries = {e.id: e for e in get_entries(session, [s.entry_id for s in best])}
    results = []
    for s in best:
        e = entries[s.entry_id]
        haystack = f"{e.question} {e.answer}".casefold()
        matched = [t for t in terms if t in haystack]
        results.append(
            SearchResult(
                question=e.question,
                answer=e.answer,
                score=round(s.score, 4),
                source_message_ids=e.source_message_ids,
                answered_by=e.answered_by,
                id=e.id,
                status=e.status,
                answered_by_kind=e.answered_by_kind,
                semantic=round(s.semantic, 4),
                keyword=round(s.keyword, 4),
                matched_terms=matched,
                sources=e.sources,
                reason=(
                    f"score = {semantic_weight:g} × semantic {s.semantic:.2f} + "
                    f"{keyword_weight:g} × "
                    f"keyword {s.keyword:.2f}"
                    + (f" (matched: {', '.join(matched)})" if matched else "")
                    + f"; answered by {e.answered_by} ({e.answered_by_kind}), "
                    + e.outcome.replace("_", " ")
                    + (f", seen {e.support}×" if e.support > 1 else "")
                ),
            )
        )
    return results


@dataclass(frozen=True)
class SuggestedAnswer:
    """An approved answer for a new message, with why and where it came from."""

    entry_id: int
    question: str
    answer: str
    score: float
    source_message_ids: list[int]
    answered_by: str
    answered_by_kind: str
    reason: str


def suggest_answers(session: Session, text: str, limit: int = 3) -> list[SuggestedAnswer]:
    """Approved knowledge-base answers for ``text``, best first (empty text or
    an empty knowledge base: no suggestion)."""
    if not text.strip():
        return []
    return [
        SuggestedAnswer(
            entry_id=r.id,
            question=r.question,
            answer=r.answer,
            score=r.score,
            source_message_ids=r.source_message_ids,
            answered_by=r.answered_by,
            answered_by_kind=r.answered_by_kind,
            reason=r.reason,
        )
        for r in search(session, text, limit=limit, statuses=(APPROVED,))
    ]


def entries_for_person(session: Session, data: PersonData) -> list[dict[str, object]]:
    """Export hook (`rapport.relationships.hooks`): the entries that cite one
    of the person's messages or credit them as the answerer, each with the
    part the person had in it."""
    part: dict[int, set[str]] = {}
    if data.message_ids:
        for entry_id, role in session.execute(
            select(KnowledgeSource.entry_id, KnowledgeSource.role).where(
                in_values(session, KnowledgeSource.message_id, list(data.message_ids))
            )
        ):
            part.setdefault(int(entry_id), set()).add(str(role))
    if data.identity_ids:
        for entry_id in session.execute(
            select(KnowledgeEntry.id).where(
                in_values(session, KnowledgeEntry.answerer_identity_id, list(data.identity_ids))
            )
        ).scalars():
            part.setdefault(int(entry_id), set()).add("answered_by")
    entries = get_entries(session, sorted(part)) if part else []
    return [{**e.model_dump(mode="json"), "person_roles": sorted(part[e.id])} for e in entries]
