"""The analysis service: every write to the analysis tables goes through here.

- `do_store_analysis` — the one writer of `message_analysis` rows.
- `on_batch_stored` — the ingest hook: every stored batch is analysed (fast
  tier) in the same transaction, so a message is never stored without its
  analysis and a crash leaves neither.
- `do_reanalyze` — re-run stored messages whose model version is not the
  current one (or all of them), batch by batch.
- `do_discover_topics` — cluster a scope's messages into topics and
  reassign them; `do_train_custom_intents` / `do_delete_custom_intents`.
"""

from __future__ import annotations

import bisect
import json
import re
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, type_coerce, update
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from rapport.analysis import custom_intents, engine, hooks, topics
from rapport.analysis.errors import AnalysisError, CustomIntentsNotFound
from rapport.analysis.loading import accurate_model, fast_model
from rapport.analysis.models import AnalysisTopic, CustomIntentSet, MessageAnalysis
from rapport.analysis.text import prepare_batch
from rapport.analysis.urgency import UrgencyContext
from rapport.conversations.hooks import StoredBatch
from rapport.conversations.models import (
    INBOUND,
    OUTBOUND,
    Account,
    Channel,
    Identity,
    Message,
    MessageMention,
)
from rapport.storage.base import utcnow
from rapport.storage.bulk import bulk_insert, db_json, in_values, timestamp_writer

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def current_version(tier: str) -> str:
    """The model version a row analysed now with ``tier`` carries."""
    fast = f"fast:{fast_model().version}+engine:{engine.ENGINE_REVISION}"
    if tier == "accurate":
        return f"accurate:{accurate_model().version}+{fast}"
    return fast


# ----------------------------------------------------------------- context


@dataclass
class _Msg:
    id: int
    channel_id: int
    channel: str
    text: str
    direction: str
    author_id: int | None
    created_at: datetime
    thread_id: int
    parent: str | None
    meta: Any
    scope: str = ""
    mentions: list[str] = field(default_factory=list)


def _load_messages(session: Session, ids: Sequence[int]) -> list[_Msg]:
    rows = session.execute(
        select(
            Message.id,
            Message.channel_id,
            Channel.name,
            Message.text,
            Message.direction,
            Message.author_identity_id,
            _raw(Message.created_at),
            Message.thread_id,
            Message.parent_external_id,
            _raw(Message.meta),
        )
        .join(Channel, Channel.id == Message.channel_id)
        .where(in_values(session, Message.id, list(ids)))
        .order_by(Message.id)
    )
    return [
        _Msg(
            id=r[0],
            channel_id=r[1],
            channel=r[2],
            text=r[3],
            direction=r[4],
            author_id=r[5],
            created_at=_utc(r[6]),
            thread_id=r[7],
            parent=r[8],
            meta=r[9],
        )
        for r in rows
    ]


def _raw(column: Any) -> Any:
    """A column read without SQLAlchemy's per-row type processing (the hot
    path reads thousands of rows a batch; `_utc`/`_meta` convert lazily)."""
    return type_coerce(column, NullType())


def _utc(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def _meta(value: Any) -> dict[str, Any]:
    """Only the reach keys matter here: parse the JSON only when it has them."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and ("retweet" in value or "follower" in value):
        parsed = json.loads(value)
        return parsed if isinstance(parsed, dict) else {}
    return {}


def _assign_scopes(session: Session, msgs: list[_Msg]) -> None:
    """A message's topic scope: the brand account it addresses (its parent's
    author, else a mentioned account), the author itself for outbound
    messages, else its channel."""
    accounts: dict[int, str] = {
        ident: key
        for ident, key in session.execute(
            select(Identity.id, Identity.handle_key).join(
                Account, Account.identity_id == Identity.id
            )
        )
    }
    account_keys = set(accounts.values())
    ids = [m.id for m in msgs]
    if account_keys:
        by_id = {m.id: m for m in msgs}
        for mid, key in session.execute(
            select(MessageMention.message_id, MessageMention.handle_key).where(
                in_values(session, MessageMention.message_id, ids)
            )
        ):
            if key in account_keys:
                by_id[mid].mentions.append(key)
    parents: dict[tuple[int, str], int | None] = {}
    wanted: dict[int, list[str]] = defaultdict(list)
    for m in msgs:
        if m.parent and m.direction == INBOUND:
            wanted[m.channel_id].append(m.parent)
    for channel_id, exts in wanted.items():
        for ext, author in session.execute(
            select(Message.external_id, Message.author_identity_id).where(
                Message.channel_id == channel_id,
                in_values(session, Message.external_id, exts),
            )
        ):
            parents[(channel_id, ext)] = author
    for m in msgs:
        brand = None
        if m.direction == OUTBOUND and m.author_id in accounts:
            brand = accounts[m.author_id]
        elif m.parent:
            parent_author = parents.get((m.channel_id, m.parent))
            if parent_author in accounts:
                brand = accounts[parent_author]
        if brand is None and m.mentions:
            brand = sorted(m.mentions)[0]
        m.scope = f"brand:{brand}" if brand else f"channel:{m.channel}"


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def _contexts(session: Session, msgs: list[_Msg]) -> list[UrgencyContext | None]:
    """Repetition (the author's inbound messages in the 24 h before), reach
    (followers and retweets in the message's meta) and waiting time (since
    the author's first message not yet followed by a reply in the thread)."""
    inbound = [m for m in msgs if m.direction == INBOUND and m.author_id is not None]
    if not inbound:
        return [None] * len(msgs)
    earliest = min(m.created_at for m in inbound) - timedelta(hours=24)
    latest = max(m.created_at for m in inbound)
    authors = sorted({m.author_id for m in inbound if m.author_id is not None})
    times: dict[int, list[datetime]] = defaultdict(list)
    for author, created in session.execute(
        select(Message.author_identity_id, _raw(Message.created_at)).where(
            in_values(session, Message.author_identity_id, authors),
            Message.direction == INBOUND,
            Message.created_at >= earliest,
            Message.created_at <= latest,
        )
    ):
        if author is not None:
            times[author].append(_utc(created))
    for stamps in times.values():
        stamps.sort()
    threads = sorted({m.thread_id for m in inbound})
    thread_msgs: dict[int, list[tuple[datetime, str, int | None]]] = defaultdict(list)
    for thread_id, created, direction, author in session.execute(
        select(
            Message.thread_id,
            _raw(Message.created_at),
            Message.direction,
            Message.author_identity_id,
        ).where(in_values(session, Message.thread_id, threads))
    ):
        thread_msgs[thread_id].append((_utc(created), direction, author))
    for entries in thread_msgs.values():
        entries.sort(key=lambda x: x[0])
    out: list[UrgencyContext | None] = []
    for m in msgs:
        if m.direction != INBOUND or m.author_id is None:
            out.append(None)
            continue
        seen = times.get(m.author_id, [])
        lo = bisect.bisect_left(seen, m.created_at - timedelta(hours=24))
        hi = bisect.bisect_left(seen, m.created_at)
        waiting_since = m.created_at
        for created, direction, author in reversed(thread_msgs.get(m.thread_id, [])):
            if created > m.created_at:
                continue
            if direction == OUTBOUND:
                break
            if author == m.author_id:
                waiting_since = created
        meta = _meta(m.meta)
        out.append(
            UrgencyContext(
                prior_messages_24h=max(0, hi - lo),
                followers=_int(meta.get("followers") or meta.get("followers_count")),
                retweets=_int(meta.get("retweet_count") or meta.get("retweets")),
                waiting_seconds=(m.created_at - waiting_since).total_seconds() or None,
            )
        )
    return out


def _topic_sets(session: Session, scopes: Iterable[str]) -> dict[str, engine.TopicSet]:
    rows = session.execute(
        select(AnalysisTopic)
        .where(
            AnalysisTopic.active.is_(True),
            in_values(session, AnalysisTopic.scope, sorted(set(scopes))),
        )
        .order_by(AnalysisTopic.scope, AnalysisTopic.rank)
    ).scalars()
    grouped: dict[str, list[AnalysisTopic]] = defaultdict(list)
    for t in rows:
        grouped[t.scope].append(t)
    return {
        scope: engine.TopicSet.build(
            [{"label": t.label, "terms": t.terms, "centroid": t.centroid} for t in ts],
            version=f"topics:{ts[0].run_id}",
            ids=[t.id for t in ts],
        )
        for scope, ts in grouped.items()
    }


# ----------------------------------------------------------------- the writer


def do_store_analysis(
    session: Session,
    items: Sequence[tuple[int, engine.Result]],
    *,
    model_version: str,
    replace: bool = True,
) -> int:
    """Store the analysis of messages (message id, result); with ``replace``
    an existing row of the same message is replaced. Returns rows written."""
    if not items:
        return 0
    ids = [mid for mid, _ in items]
    with hooks.changing(session, ids if replace else []):
        if replace:
            session.execute(
                delete(MessageAnalysis).where(in_values(session, MessageAnalysis.message_id, ids))
            )
        _insert_analysis(session, items, model_version)
    return len(items)


def _insert_analysis(
    session: Session, items: Sequence[tuple[int, engine.Result]], model_version: str
) -> None:
    stamp = timestamp_writer(session)
    now = stamp(utcnow())
    rows = [
        (
            mid,
            r.language[:8],
            r.sentiment,
            r.sentiment_score,
            r.intent,
            r.intent_confidence,
            r.urgency,
            r.topic_ids[0] if r.topic_ids else None,
            db_json(r.topics),
            db_json(r.evidence),
            r.tier,
            model_version,
            now,
        )
        for mid, r in items
    ]
    bulk_insert(
        session,
        MessageAnalysis.__table__,  # type: ignore[arg-type]
        (
            "message_id",
            "language",
            "sentiment",
            "sentiment_score",
            "intent",
            "intent_confidence",
            "urgency",
            "topic_id",
            "topics",
            "evidence",
            "tier",
            "model_version",
            "analyzed_at",
        ),
        rows,
    )


def do_analyze_messages(
    session: Session, message_ids: Sequence[int], *, tier: str = "fast", replace: bool = True
) -> int:
    """Analyse stored messages with their context and store the results."""
    msgs = _load_messages(session, message_ids)
    if not msgs:
        return 0
    _assign_scopes(session, msgs)
    contexts = _contexts(session, msgs)
    sets = _topic_sets(session, [m.scope for m in msgs])
    prepared = prepare_batch([m.text for m in msgs])
    results = engine.analyze_prepared(
        prepared,
        tier=tier,
        contexts=contexts,
        topic_sets=[sets.get(m.scope) if m.direction == INBOUND else None for m in msgs],
    )
    for m, r in zip(msgs, results, strict=True):
        if m.direction != INBOUND:  # a brand's reply is not a customer's job to be done
            r.topics, r.topic_ids = [], []
            r.evidence["topics"] = ["outbound message: no customer topic"]
    return do_store_analysis(
        session,
        [(m.id, r) for m, r in zip(msgs, results, strict=True)],
        model_version=current_version(tier),
        replace=replace,
    )


def on_batch_stored(session: Session, batch: StoredBatch) -> None:
    """Ingest hook: analyse every new message (fast tier) in the batch's
    transaction, then re-analyse the stored messages whose context the batch
    changed (see `context_grown_by`), so what is stored does not depend on the
    order or the batches in which messages arrived."""
    do_analyze_messages(session, batch.message_ids, tier="fast", replace=False)
    grown = context_grown_by(session, batch.message_ids, batch.thread_ids)
    if not grown:
        return
    tiers: dict[str, list[int]] = defaultdict(list)
    for mid, tier in session.execute(
        select(MessageAnalysis.message_id, MessageAnalysis.tier).where(
            in_values(session, MessageAnalysis.message_id, grown)
        )
    ):
        tiers[tier if tier in engine.TIERS else "fast"].append(int(mid))
    for tier, ids in sorted(tiers.items()):
        do_analyze_messages(session, ids, tier=tier, replace=True)


def context_grown_by(
    session: Session, new_ids: Sequence[int], thread_ids: Iterable[int]
) -> list[int]:
    """Stored inbound messages (not among ``new_ids``) whose analysis context
    includes one of the new messages, which arrived after them: a message by
    the same author in the 24 h before (repetition), an earlier message of the
    same thread (waiting time, a brand reply), or their parent (topic scope).
    A message's analysis depends only on messages written before it, so once
    these are re-analysed the result equals a clean import in time order."""
    new = set(new_ids)
    if not new:
        return []
    fresh = session.execute(
        select(
            Message.channel_id,
            Message.external_id,
            Message.author_identity_id,
            Message.direction,
            _raw(Message.created_at),
            Message.thread_id,
        ).where(in_values(session, Message.id, list(new)))
    ).all()
    by_author: dict[int, list[datetime]] = defaultdict(list)
    thread_start: dict[int, datetime] = {}
    externals: set[tuple[int, str]] = set()
    for channel_id, ext, author, direction, created, thread_id in fresh:
        when = _utc(created)
        externals.add((int(channel_id), str(ext)))
        if direction == INBOUND and author is not None:
            by_author[int(author)].append(when)
        if thread_id is not None:
            known = thread_start.get(int(thread_id))
            thread_start[int(thread_id)] = when if known is None else min(known, when)
    grown: set[int] = set()
    if by_author:
        for stamps in by_author.values():
            stamps.sort()
        lo = min(t[0] for t in by_author.values())
        hi = max(t[-1] for t in by_author.values()) + timedelta(hours=24)
        for mid, author, created in session.execute(
            select(Message.id, Message.author_identity_id, _raw(Message.created_at)).where(
                in_values(session, Message.author_identity_id, sorted(by_author)),
                Message.direction == INBOUND,
                Message.created_at > lo,
                Message.created_at <= hi,
            )
        ):
            if mid in new:
                continue
            when = _utc(created)
            stamps = by_author[int(author)]
            # a new message of the author in [when - 24 h, when)
            at = bisect.bisect_left(stamps, when - timedelta(hours=24))
            if at < len(stamps) and stamps[at] < when:
                grown.add(int(mid))
    threads = sorted(set(thread_start) | {int(t) for t in thread_ids})
    if threads:
        for mid, thread_id, channel_id, parent, created in session.execute(
            select(
                Message.id,
                Message.thread_id,
                Message.channel_id,
                Message.parent_external_id,
                _raw(Message.created_at),
            ).where(
                in_values(session, Message.thread_id, threads),
                Message.direction == INBOUND,
            )
        ):
            if mid in new:
                continue
            start = thread_start.get(int(thread_id))
            if (start is not None and _utc(created) > start) or (
                parent is not None and (int(channel_id), str(parent)) in externals
            ):
                grown.add(int(mid))
    return sorted(grown)


def on_threads_merged(session: Session, survivor: int, absorbed: list[int]) -> None:
    """Threads merging changes no stored analysis (rows are per message)."""
    return None


# ----------------------------------------------------------------- reanalyze


@dataclass
class ReanalyzeSummary:
    examined: int = 0
    reanalyzed: int = 0
    up_to_date: int = 0
    tier: str = "fast"
    model_version: str = ""


def stale_message_ids(
    session: Session, *, tier: str, everything: bool, after_id: int, limit: int
) -> tuple[list[int], int, int]:
    """The next ``limit`` message ids after ``after_id`` and which of them
    need analysis. Returns (ids to analyse, examined, last id seen)."""
    expected = current_version(tier)
    rows = session.execute(
        select(Message.id, MessageAnalysis.model_version)
        .outerjoin(MessageAnalysis, MessageAnalysis.message_id == Message.id)
        .where(Message.id > after_id)
        .order_by(Message.id)
        .limit(limit)
    ).all()
    if not rows:
        return [], 0, after_id
    todo = [mid for mid, version in rows if everything or version != expected]
    return todo, len(rows), rows[-1][0]


def do_reanalyze(
    *,
    tier: str = "fast",
    everything: bool = False,
    batch_size: int = 5000,
    progress: Callable[[int, int], None] | None = None,
) -> ReanalyzeSummary:
    """Re-run the analysis of stored messages whose stored model version is
    not the current one for ``tier`` (all of them with ``everything``), one
    transaction per batch, so an interrupted run resumes where it stopped."""
    from rapport.storage.engine import session_scope

    summary = ReanalyzeSummary(tier=tier, model_version=current_version(tier))
    with session_scope() as session:
        total = session.execute(select(func.count()).select_from(Message)).scalar_one()
    after = 0
    while True:
        with session_scope(write=True) as session:
            todo, examined, after = stale_message_ids(
                session, tier=tier, everything=everything, after_id=after, limit=batch_size
            )
            if not examined:
                break
            summary.examined += examined
            if todo:
                summary.reanalyzed += do_analyze_messages(session, todo, tier=tier, replace=True)
            summary.up_to_date += examined - len(todo)
        if progress:
            progress(summary.examined, total)
    return summary


# ----------------------------------------------------------------- topics


@dataclass
class DiscoverSummary:
    scope: str
    run_id: str
    messages: int
    topics: int
    assigned: int


def scope_of_brand(brand: str) -> str:
    return f"brand:{brand.strip().lstrip('@').casefold()}"


def scopes_with_messages(session: Session, brand: str | None = None) -> dict[str, list[int]]:
    """Inbound message ids per topic scope (one scope when ``brand`` is given)."""
    ids = list(
        session.execute(
            select(Message.id).where(Message.direction == INBOUND).order_by(Message.id)
        ).scalars()
    )
    out: dict[str, list[int]] = defaultdict(list)
    for i in range(0, len(ids), 20_000):
        msgs = _load_messages(session, ids[i : i + 20_000])
        _assign_scopes(session, msgs)
        for m in msgs:
            out[m.scope].append(m.id)
    if brand is not None:
        key = scope_of_brand(brand)
        return {key: out.get(key, [])}
    return dict(out)


def do_discover_topics(
    session: Session,
    scope: str,
    message_ids: Sequence[int],
    *,
    seed: int = 0,
    k: int | None = None,
    min_messages: int = 20,
) -> DiscoverSummary:
    """Discover the topics of one scope from its inbound messages (MiniLM
    embeddings, k-means with ``seed``, c-TF-IDF names), store them as the
    scope's active topics and assign every message of the scope."""
    from rapport.analysis.embeddings import embed_texts

    msgs = _load_messages(session, message_ids)
    run_id = uuid.uuid4().hex[:12]
    if len(msgs) < min_messages:
        return DiscoverSummary(scope, run_id, len(msgs), 0, 0)
    prepared = prepare_batch([m.text for m in msgs])
    emb = embed_texts([p.text for p in prepared])
    drafts = topics.discover(prepared, emb, seed=seed, k=k)
    session.execute(update(AnalysisTopic).where(AnalysisTopic.scope == scope).values(active=False))
    method = f"kmeans(seed={seed}) on all-MiniLM-L6-v2 + c-TF-IDF names"
    stored: list[AnalysisTopic] = []
    for d in drafts:
        row = AnalysisTopic(
            scope=scope,
            run_id=run_id,
            rank=d.key,
            label=d.label[:300],
            terms=d.terms,
            centroid=d.centroid,
            size=len(d.members),
            seed=seed,
            method=method,
            active=True,
        )
        session.add(row)
        stored.append(row)
    session.flush()
    assigned = 0
    unassigned = {m.id for m in msgs}
    with hooks.changing(session, [m.id for m in msgs]):
        for d, row in zip(drafts, stored, strict=True):
            ids = [msgs[i].id for i in d.members]
            unassigned.difference_update(ids)
            assigned += len(ids)
            session.execute(
                update(MessageAnalysis)
                .where(in_values(session, MessageAnalysis.message_id, ids))
                .values(topic_id=row.id, topics=[row.label])
            )
        if unassigned:
            session.execute(
                update(MessageAnalysis)
                .where(in_values(session, MessageAnalysis.message_id, sorted(unassigned)))
                .values(topic_id=None, topics=[])
            )
    return DiscoverSummary(scope, run_id, len(msgs), len(stored), assigned)


# ----------------------------------------------------------------- custom intents


def _check_name(name: str) -> str:
    name = name.strip()
    if not _NAME.match(name):
        raise AnalysisError(
            f"bad custom intent set name {name!r}: 1-100 letters, digits, '_', '-' or '.'"
        )
    return name


def do_train_custom_intents(
    session: Session,
    name: str,
    examples: Sequence[tuple[str, str]],
    *,
    source: str | None = None,
    actor: str | None = None,
) -> CustomIntentSet:
    """Train (or retrain) the custom intent set ``name`` from (text, label)
    examples and store it in the database."""
    from rapport.analysis.embeddings import embed_texts

    name = _check_name(name)
    texts = [t for t, _ in examples]
    labels = [lb for _, lb in examples]
    counts = custom_intents.validate_examples(texts, labels)
    prepared = prepare_batch(texts)
    model = custom_intents.train(texts, labels, embed_texts([p.text for p in prepared]))
    blob = model.to_bytes()
    row = session.execute(
        select(CustomIntentSet).where(CustomIntentSet.name == name)
    ).scalar_one_or_none()
    if row is None:
        row = CustomIntentSet(name=name, created_at=utcnow())
        session.add(row)
    row.labels = dict(sorted(counts.items()))
    row.examples = [{"text": t, "label": lb} for t, lb in examples]
    row.model = blob
    row.version = model.version
    row.method = custom_intents.METHOD
    row.source = source
    row.created_by = actor
    row.updated_at = utcnow()
    session.flush()
    return row


def do_delete_custom_intents(session: Session, name: str) -> None:
    row = session.execute(
        select(CustomIntentSet).where(CustomIntentSet.name == name)
    ).scalar_one_or_none()
    if row is None:
        raise CustomIntentsNotFound(f"no custom intent set named {name!r}")
    session.delete(row)
    session.flush()


def do_forget_evidence(session: Session, message_ids: Sequence[int]) -> int:
    """Drop the evidence (words and phrases copied from the text) of
    ``message_ids`` and keep their labels (sentiment, intent, urgency,
    language, topic): what a person's erasure leaves as anonymous counts.
    Returns how many rows changed."""
    ids = list(message_ids)
    changed = 0
    for start in range(0, len(ids), 5000):
        result = session.execute(
            update(MessageAnalysis)
            .where(in_values(session, MessageAnalysis.message_id, ids[start : start + 5000]))
            .values(evidence={})
        )
        changed += int(getattr(result, "rowcount", 0) or 0)
    return changed
