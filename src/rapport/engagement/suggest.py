"""Suggested answers for a thread: never sent by themselves.

Two sources, best first:
- *past answers*: our accounts' earlier replies to inbound messages most
  similar to the customer's latest message (TF-IDF over word uni- and
  bigrams, cosine similarity; the same brand's answers when the thread has
  one). Answers saying the same thing are merged (their sources add up).
  For a `move_private` thread an answer inviting a private message ranks
  higher (+0.1), said in the reason.
- *knowledge*: approved knowledge-base entries
  (`rapport.knowledge.queries.suggest_answers`).

Personal details in a past answer (e-mail, phone, order/reference numbers,
the customer's handle and name, the agent's signature) become `{{...}}`
placeholders (`rapport.engagement.placeholders.generalise`). Each
suggestion cites its source messages and the reason for its score.

TF-IDF, not MiniLM: embedding the answer corpus with MiniLM takes minutes
on a small machine (see docs/ENGAGEMENT.md); the index is built on first
use and kept in memory until new messages arrive.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from rapport.conversations import queries as conversations
from rapport.conversations.queries import AnswerPair
from rapport.engagement.features import asks_private
from rapport.engagement.placeholders import generalise
from rapport.engagement.schemas import Suggestion, SuggestionList
from rapport.knowledge.queries import suggest_answers as knowledge_answers

MIN_SCORE = 0.12
CORPUS_LIMIT = 20_000
_MENTIONS = re.compile(r"@\w+")
_URLS = re.compile(r"https?://\S+")
_SPACE = re.compile(r"\s+")


def _clean(text: str) -> str:
    return _SPACE.sub(" ", _URLS.sub(" ", _MENTIONS.sub(" ", text))).strip()


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9{} ]", "", text.casefold())[:200]


@dataclass
class _Index:
    pairs: list[AnswerPair]
    vectorizer: Any
    matrix: Any


_cache: dict[tuple[str, str | None, tuple[int, ...], int], _Index] = {}
_lock = threading.Lock()


def _index(session: Session, channel: str | None, author_ids: tuple[int, ...]) -> _Index | None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    url = str(session.get_bind().engine.url)
    key = (url, channel, author_ids, conversations.newest_message_id(session))
    with _lock:
        found = _cache.get(key)
    if found is not None:
        return found
    pairs = conversations.answer_pairs(
        session, channel=channel, author_ids=list(author_ids) or None, limit=CORPUS_LIMIT
    )
    pairs = [p for p in pairs if _clean(p.question_text) and _clean(p.answer_text)]
    if not pairs:
        return None
    vectorizer = TfidfVectorizer(
        ngram_range=(1, 2), min_df=1, sublinear_tf=True, stop_words="english"
    )
    try:
        matrix = vectorizer.fit_transform([_clean(p.question_text) for p in pairs])
    except ValueError:  # nothing but stop words
        return None
    index = _Index(pairs, vectorizer, matrix)
    with _lock:
        for old in [k for k in _cache if k[:3] == key[:3]]:
            del _cache[old]
        _cache[key] = index
    return index


def _shared_words(index: _Index, query_vec: Any, row: int) -> list[str]:
    names = index.vectorizer.get_feature_names_out()
    q = set(query_vec.indices)
    r = index.matrix[row]
    both = [(r[0, i] * query_vec[0, i], names[i]) for i in r.indices if i in q]
    both.sort(reverse=True)
    return [w for _, w in both[:4]]


def past_answers(
    session: Session,
    text: str,
    *,
    channel: str | None,
    brand_ids: Sequence[int],
    exclude_thread: int | None,
    prefer_private: bool,
    limit: int,
) -> list[Suggestion]:
    """Our earlier answers to the inbound messages most similar to ``text``."""
    query = _clean(text)
    if not query:
        return []
    found = (
        _ranked(
            session,
            _index(session, channel, tuple(sorted(brand_ids))),
            query,
            exclude_thread,
            prefer_private,
            limit,
        )
        if brand_ids
        else []
    )
    if len(found) < limit:
        seen = {_key(s.text) for s in found}
        others = _ranked(
            session, _index(session, channel, ()), query, exclude_thread, prefer_private, limit
        )
        found.extend(s for s in others if _key(s.text) not in seen)
    return found[:limit]


def _ranked(
    session: Session,
    index: _Index | None,
    query: str,
    exclude_thread: int | None,
    prefer_private: bool,
    limit: int,
) -> list[Suggestion]:
    if index is None:
        return []
    query_vec = index.vectorizer.transform([query])
    if not query_vec.nnz:
        return []
    scores = (index.matrix @ query_vec.T).toarray().ravel()
    order = np.argsort(-scores)[: limit * 20]
    merged: dict[str, dict[str, Any]] = {}
    for row in order:
        base = float(scores[row])
        if base < MIN_SCORE:
            break
        pair = index.pairs[int(row)]
        if pair.thread_id == exclude_thread:
            continue
        generic, used = generalise(pair.answer_text.strip())
        generic = _SPACE.sub(" ", generic).strip()
        bonus = 0.1 if prefer_private and asks_private(pair.answer_text) else 0.0
        key = _key(generic)
        entry = merged.get(key)
        if entry is None:
            merged[key] = entry = {
                "text": generic,
                "score": min(1.0, base + bonus),
                "sources": [pair.question_id, pair.answer_id],
                "support": 1,
                "best": pair,
                "similarity": base,
                "words": _shared_words(index, query_vec, int(row)),
                "placeholders": used,
                "bonus": bonus,
            }
        else:
            entry["support"] += 1
            entry["sources"].extend([pair.question_id, pair.answer_id])
        if len(merged) >= limit * 3:
            break
    out = []
    for entry in merged.values():
        best: AnswerPair = entry["best"]
        reason = (
            f"TF-IDF cosine {entry['similarity']:.2f} with inbound message {best.question_id}"
            + (f" (shared words: {', '.join(entry['words'])})" if entry["words"] else "")
            + f"; our answer was message {best.answer_id}"
        )
        if entry["support"] > 1:
            reason += f"; the same answer was given {entry['support']} times"
        if entry["bonus"]:
            reason += "; +0.10: it invites a private message, as this thread needs"
        out.append(
            Suggestion(
                text=entry["text"],
                score=round(entry["score"], 3),
                source_message_ids=list(dict.fromkeys(entry["sources"]))[:10],
                kind="past_answer",
                reason=reason,
                placeholders=entry["placeholders"],
            )
        )
    out.sort(key=lambda s: -s.score)
    return out[:limit]


def suggest_for_thread(session: Session, thread_id: int, *, limit: int = 3) -> SuggestionList:
    """Suggestions for the customer's latest message in the thread."""
    from rapport.engagement.models import ThreadState

    messages = conversations.thread_messages(session, thread_id)
    accounts = conversations.account_identity_ids(session)
    customer = [
        m for m in messages if m.direction != "outbound" and m.author_identity_id not in accounts
    ]
    if not customer:
        return SuggestionList(thread_id=thread_id, query_message_id=None, suggestions=[])
    latest = customer[-1]
    state = session.get(ThreadState, thread_id)
    brands = [state.brand_identity_id] if state and state.brand_identity_id else []
    found = past_answers(
        session,
        latest.text,
        channel=latest.channel,
        brand_ids=brands,
        exclude_thread=thread_id,
        prefer_private=bool(state and state.decision == "move_private"),
        limit=limit,
    )
    for kb in knowledge_answers(session, _clean(latest.text), limit=limit):
        text, used = generalise(kb.answer)
        found.append(
            Suggestion(
                text=text,
                score=round(min(1.0, kb.score), 3),
                source_message_ids=kb.source_message_ids,
                kind="knowledge",
                reason=f"knowledge base entry {kb.entry_id} ({kb.answered_by_kind} "
                f"{kb.answered_by}): {kb.reason}",
                placeholders=used,
                entry_id=kb.entry_id,
            )
        )
    found.sort(key=lambda s: -s.score)
    return SuggestionList(
        thread_id=thread_id, query_message_id=latest.id, suggestions=found[:limit]
    )
