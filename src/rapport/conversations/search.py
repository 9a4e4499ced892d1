"""Full-text search over messages (text and author handle), ranked, with
highlighted snippets and the matched terms as evidence.

The query language is `rapport.conversations.querylang`. SQLite answers from
the FTS5 table `message_fts` (ranked by ``bm25``, text weighted 1, author
0.5; snippets by ``snippet()``), PostgreSQL from `message.search_vector` and
its GIN index (ranked by ``ts_rank_cd``, text weight A, author B; snippets by
``ts_headline``). Both indexes are kept current by triggers (see the
``search_0001`` revision): ingest, redaction, erasure and thread merges need
no call here. Scores rank results within one search; they are not
comparable between the two databases.

Other domains extend a search through `rapport.conversations.hooks`:
``on_search_thread_filter("status", build)`` makes ``status`` a filter (the
engagement domain owns thread status and labels: ``build`` selects the
threads that pass), ``on_search(name, source)`` adds hits of another kind
(engagement's internal notes), merged with the messages by score. A source
reads its own index the way messages are read: a `SearchIndex` with the same
columns and weights, through `search_conditions`, `ranked_page` and
`index_hits`.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    bindparam,
    case,
    func,
    literal_column,
    select,
    table,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import QueryableAttribute, Session

from rapport.conversations import hooks
from rapport.conversations.errors import SearchFilterUnavailable, UnknownSearchChannel
from rapport.conversations.models import Channel, Identity, Message, Thread
from rapport.conversations.querylang import (
    Query,
    check_searchable,
    evaluate,
    parse,
    positive_terms,
    prepare,
    to_fts5,
    to_text,
    to_tsquery,
)
from rapport.storage.bulk import in_values

#: Where a snippet's highlighted words start and end (never in stored text).
MARK_START, MARK_END = "\x02", "\x03"
#: How long snippets are (words) on both databases: a tweet is shown whole,
#: a long message by its best fragments.
SNIPPET_WORDS = 48
#: Up to this length PostgreSQL highlights the whole text (as FTS5 does when
#: the text has fewer than SNIPPET_WORDS words).
WHOLE_TEXT_CHARS = 320
_MARKS = f'StartSel="{MARK_START}", StopSel="{MARK_END}"'
_HEADLINE_WHOLE = f"{_MARKS}, HighlightAll=true"
_HEADLINE_FRAGMENTS = (
    f"{_MARKS}, MaxWords={SNIPPET_WORDS // 2}, MinWords={SNIPPET_WORDS // 4}, ShortWord=1, "
    'MaxFragments=2, FragmentDelimiter=" … "'
)
#: The filters other domains provide, and who: for the error when missing.
THREAD_FILTER_OWNERS = {"status": "engagement", "label": "engagement"}


@dataclass(frozen=True)
class SearchFilters:
    channel: str | None = None
    #: Results (messages, notes) created at or after this instant...
    since: datetime | None = None
    #: ...and before this one (excluded).
    until: datetime | None = None
    #: (filter name, value) pairs for filters other domains register (status, label).
    threads: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SearchHit:
    """One result: a message (kind ``message``), or from another domain's
    source another kind (``note``: an internal note on the thread)."""

    kind: str
    message_id: int | None
    thread_id: int
    author: str | None
    created_at: datetime
    #: The snippet as (text, highlighted) pieces.
    snippet: tuple[tuple[str, bool], ...]
    score: float
    #: The query's terms found in this result (why it matched).
    matched: tuple[str, ...] = ()
    channel: str | None = None
    #: The internal note's id (kind ``note``).
    note_id: int | None = None

    def snippet_text(self, start: str = "<mark>", end: str = "</mark>") -> str:
        return "".join(f"{start}{text}{end}" if hit else text for text, hit in self.snippet)


@dataclass(frozen=True)
class SearchPage:
    query: str
    results: list[SearchHit]
    total: int


def split_snippet(marked: str) -> tuple[tuple[str, bool], ...]:
    """``a \\x02b\\x03 c`` → ((a , False), (b, True), ( c, False))."""
    pieces: list[tuple[str, bool]] = []
    for i, part in enumerate(marked.split(MARK_START)):
        if i == 0:
            if part:
                pieces.append((part, False))
            continue
        hit, _, rest = part.partition(MARK_END)
        if hit:
            pieces.append((hit, True))
        if rest:
            pieces.append((rest, False))
    return tuple(pieces)


@dataclass(frozen=True)
class SearchIndex:
    """A full-text index over the rows of one table that belong to threads
    (messages; another domain's internal notes), read the same way.

    SQLite: ``fts_table`` is an FTS5 table whose rowid is the row's id, with
    the columns ``text`` then ``author`` (ranked by ``bm25`` with weights 1
    and 0.5, snippets from ``text``). PostgreSQL: ``vector`` is a tsvector
    column with the text at weight A and the author at weight B (as
    ``rapport_message_search_vector`` builds it), ranked by ``ts_rank_cd``.
    Same columns, weights and ranking on every index, so the scores of two
    indexes of one database are on one scale (on SQLite with ``rank_like``:
    bm25 weighs words by the statistics of its own table)."""

    fts_table: str
    vector: str
    id: QueryableAttribute[int]
    thread_id: QueryableAttribute[int]
    created_at: QueryableAttribute[datetime]
    text: QueryableAttribute[str]
    #: The row's channel; None: its thread's. (No default: a class-level
    #: value would make mypy read these descriptors as instance values.)
    channel_id: QueryableAttribute[int] | None
    #: The author column, when the table has one (a message's author is its
    #: identity's handle: None).
    author: QueryableAttribute[str] | None
    #: Score the rows as if they were rows of this index. On SQLite: bm25 with
    #: that index's word statistics (how many rows, how long, how many hold
    #: each term), so a small table's scores compare with the messages'
    #: (left to itself, bm25 finds every word of a table of a few notes
    #: common, and scores them near 0). The page is still chosen by the
    #: table's own bm25, then scored and ordered again. PostgreSQL's
    #: ts_rank_cd reads no statistics: nothing to do there.
    rank_like: SearchIndex | None = None


MESSAGE_INDEX = SearchIndex(
    fts_table="message_fts",
    vector="message.search_vector",
    id=Message.id,
    thread_id=Message.thread_id,
    created_at=Message.created_at,
    text=Message.text,
    channel_id=Message.channel_id,
    author=None,
)


def search_conditions(
    session: Session, filters: SearchFilters, index: SearchIndex = MESSAGE_INDEX
) -> list[ColumnElement[bool]]:
    """The WHERE clauses of ``filters`` on the rows of ``index``: channel,
    time, and the thread filters other domains register (refused by name
    when nobody did)."""
    where: list[ColumnElement[bool]] = []
    if filters.channel is not None:
        channel_id = session.execute(
            select(Channel.id).where(Channel.name == filters.channel)
        ).scalar_one_or_none()
        if channel_id is None:
            known = ", ".join(
                session.execute(select(Channel.name).order_by(Channel.name)).scalars()
            )
            raise UnknownSearchChannel(
                f"no channel named {filters.channel!r} (known: {known or 'none yet'})"
            )
        if index.channel_id is not None:
            where.append(index.channel_id == channel_id)
        else:
            # One primary-key look-up per matched row (thread.channel_id has no index).
            where.append(
                select(Thread.id)
                .where(Thread.id == index.thread_id, Thread.channel_id == channel_id)
                .exists()
            )
    if filters.since is not None:
        where.append(index.created_at >= filters.since)
    if filters.until is not None:
        where.append(index.created_at < filters.until)
    for name, value in filters.threads:
        build = hooks.search_thread_filter(name)
        if build is None:
            owner = THREAD_FILTER_OWNERS.get(name, "another")
            raise SearchFilterUnavailable(
                f"--{name} needs the {owner} domain (thread {name}), which is not installed yet"
            )
        where.append(index.thread_id.in_(build(session, value)))
    return where


@dataclass(frozen=True)
class Ranked:
    """A row of an index that matched, with its score (higher is better)."""

    id: int
    thread_id: int
    created_at: datetime
    score: float


def _sqlite_page(
    session: Session,
    index: SearchIndex,
    query: Query,
    where: list[ColumnElement[bool]],
    limit: int,
    offset: int,
) -> tuple[list[Ranked], int]:
    fts: ColumnElement[Any] = literal_column(index.fts_table)
    rowid: ColumnElement[Any] = literal_column(f"{index.fts_table}.rowid")
    match = fts.op("MATCH")(bindparam("fts_query", to_fts5(query)))
    rank = func.bm25(fts, 1.0, 0.5)
    if where:
        # The index first, once (materialized), then the filters by primary
        # key: left to itself the planner may scan rows by channel or time
        # and run the MATCH once per row.
        hits = (
            select(rowid.label("id"), rank.label("rank"))
            .select_from(table(index.fts_table))
            .where(match)
            .cte("hits")
            .prefix_with("MATERIALIZED")
        )
        page: Select[Any] = (
            select(index.id, index.thread_id, index.created_at, hits.c.rank)
            .select_from(hits)
            .join(index.id.class_, index.id == hits.c.id)
            .where(*where)
            .order_by(hits.c.rank, index.id.desc())
        )
        counted = (
            select(func.count())
            .select_from(hits)
            .join(index.id.class_, index.id == hits.c.id)
            .where(*where)
        )
    else:
        page = (
            select(index.id, index.thread_id, index.created_at, rank.label("rank"))
            .select_from(table(index.fts_table))
            .join(index.id.class_, index.id == rowid)
            .where(match)
            .order_by(rank, index.id.desc())
        )
        counted = select(func.count()).select_from(table(index.fts_table)).where(match)
    rows = session.execute(page.limit(limit).offset(offset)).all()
    total = int(session.execute(counted).scalar_one())
    ranked = [Ranked(r[0], r[1], r[2], round(-float(r[3]), 6)) for r in rows]
    if index.rank_like is not None and ranked:
        ranked = _ranked_like(session, index, index.rank_like, query, ranked)
    return ranked, total


#: bm25's constants in FTS5 (``fts5_aux.c``) and the weights of (text, author).
BM25_K1, BM25_B = 1.2, 0.75
BM25_WEIGHTS = (1.0, 0.5)


def _varints(blob: bytes, count: int) -> list[int]:
    """The first ``count`` SQLite varints of ``blob`` (7 bits a byte, high
    bit set while more follow; a 9th byte gives 8 bits)."""
    values: list[int] = []
    at = 0
    while len(values) < count and at < len(blob):
        value = 0
        for n in range(9):
            byte = blob[at]
            at += 1
            if n == 8:
                value = (value << 8) | byte
                break
            value = (value << 7) | (byte & 0x7F)
            if byte < 0x80:
                break
        values.append(value)
    return values


def bm25_scores(
    session: Session, index: SearchIndex, query: Query, docs: list[tuple[str, str | None]]
) -> list[float]:
    """SQLite: the scores (``-bm25``, higher is better) FTS5 would give these
    (text, author) documents as rows of ``index``, with its statistics: its
    row count and average length (its averages record, id 1 of ``%_data``:
    the row count and each column's token total) and the rows holding each
    of the query's terms. FTS5's formula, tested against FTS5 itself."""
    block = session.execute(
        sql_text(f'SELECT block FROM "{index.fts_table}_data" WHERE id = 1')
    ).scalar_one_or_none()
    rows, *sizes = _varints(bytes(block or b""), 1 + len(BM25_WEIGHTS))
    if rows <= 0:
        return [0.0] * len(docs)
    average = sum(sizes) / rows
    terms = positive_terms(query)
    fts: ColumnElement[Any] = literal_column(index.fts_table)
    idf: dict[tuple[tuple[str, ...], bool], float] = {}
    for term in terms:
        key = (term.tokens, term.prefix)
        if key in idf:
            continue
        holding = session.execute(
            select(func.count())
            .select_from(table(index.fts_table))
            .where(fts.op("MATCH")(bindparam("fts_term", to_fts5(term))))
        ).scalar_one()
        weight = math.log((rows - int(holding) + 0.5) / (int(holding) + 0.5))
        idf[key] = weight if weight > 0 else 1e-6
    scores: list[float] = []
    for text, author in docs:
        doc = prepare(text, author)
        length = sum(len(words) for words in doc.fields)
        norm = BM25_K1 * (1 - BM25_B + BM25_B * length / average)
        score = 0.0
        for term in terms:
            freq = sum(w * doc.occurrences(term, k) for k, w in enumerate(BM25_WEIGHTS))
            score += idf[(term.tokens, term.prefix)] * freq * (BM25_K1 + 1) / (freq + norm)
        scores.append(score)
    return scores


def _ranked_like(
    session: Session, index: SearchIndex, like: SearchIndex, query: Query, ranked: list[Ranked]
) -> list[Ranked]:
    """``ranked`` scored as rows of ``like`` (best first again)."""
    if index.author is None:
        raise ValueError(f"{index.fts_table}: rank_like needs the author column")
    found = {
        int(rid): (str(text), author)
        for rid, text, author in session.execute(
            select(index.id, index.text, index.author).where(
                in_values(session, index.id, [r.id for r in ranked])
            )
        )
    }
    scores = bm25_scores(session, like, query, [found[r.id] for r in ranked])
    rescored = [replace(r, score=round(score, 6)) for r, score in zip(ranked, scores, strict=True)]
    return sorted(rescored, key=lambda r: -r.score)


def _postgresql_page(
    session: Session,
    index: SearchIndex,
    query: Query,
    where: list[ColumnElement[bool]],
    limit: int,
    offset: int,
) -> tuple[list[Ranked], int]:
    vector: ColumnElement[Any] = literal_column(index.vector)
    tsquery = to_tsquery(query)
    match = vector.op("@@")(tsquery)
    rank = func.ts_rank_cd(vector, tsquery)
    rows = session.execute(
        select(index.id, index.thread_id, index.created_at, rank.label("rank"))
        .where(match, *where)
        .order_by(rank.desc(), index.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    total = int(
        session.execute(
            select(func.count()).select_from(index.id.class_).where(match, *where)
        ).scalar_one()
    )
    return [Ranked(r[0], r[1], r[2], round(float(r[3]), 6)) for r in rows], total


def ranked_page(
    session: Session,
    index: SearchIndex,
    query: Query,
    where: list[ColumnElement[bool]],
    *,
    limit: int,
    offset: int = 0,
) -> tuple[list[Ranked], int]:
    """The rows of ``index`` matching ``query`` and ``where``, best first
    (``limit`` from ``offset``), and how many match in all."""
    page = _sqlite_page if session.get_bind().dialect.name == "sqlite" else _postgresql_page
    return page(session, index, query, where, limit, offset)


def _snippets(session: Session, index: SearchIndex, query: Query, ids: list[int]) -> dict[int, str]:
    """Each row's text with the matched words between MARK_START and MARK_END."""
    if not ids:
        return {}
    if session.get_bind().dialect.name == "sqlite":
        fts: ColumnElement[Any] = literal_column(index.fts_table)
        rowid: ColumnElement[Any] = literal_column(f"{index.fts_table}.rowid")
        match = fts.op("MATCH")(bindparam("fts_query", to_fts5(query)))
        marked = func.snippet(fts, 0, MARK_START, MARK_END, "…", SNIPPET_WORDS)
        stmt: Select[Any] = (
            select(rowid, marked)
            .select_from(table(index.fts_table))
            .where(match, in_values(session, rowid, ids))
        )
    else:
        headline = func.ts_headline(
            literal_column("'simple'::regconfig"),
            index.text,
            to_tsquery(query),
            case(
                (
                    func.length(index.text) <= WHOLE_TEXT_CHARS,
                    bindparam("headline_whole", _HEADLINE_WHOLE),
                ),
                else_=bindparam("headline_fragments", _HEADLINE_FRAGMENTS),
            ),
        )
        stmt = select(index.id, headline).where(in_values(session, index.id, ids))
    return {int(rid): str(text or "") for rid, text in session.execute(stmt)}


def index_hits(
    session: Session,
    index: SearchIndex,
    query: Query,
    ranked: list[Ranked],
    details: Mapping[int, tuple[str, str | None, str | None]],
    *,
    kind: str,
) -> list[SearchHit]:
    """Results of ``kind`` from ranked rows of ``index``, in their order, with
    highlighted snippets and the matched terms; ``details`` gives each row's
    (text, author, channel). A ``message`` hit has its ``message_id``, a
    ``note`` hit its ``note_id``."""
    snippets = _snippets(session, index, query, [r.id for r in ranked])
    hits: list[SearchHit] = []
    for r in ranked:
        text, author, channel = details[r.id]
        hits.append(
            SearchHit(
                kind=kind,
                message_id=r.id if kind == "message" else None,
                note_id=r.id if kind == "note" else None,
                thread_id=r.thread_id,
                author=author,
                created_at=r.created_at,
                snippet=split_snippet(snippets.get(r.id) or text),
                score=r.score,
                matched=evaluate(query, text, author).terms,
                channel=channel,
            )
        )
    return hits


def _message_hits(session: Session, query: Query, ranked: list[Ranked]) -> list[SearchHit]:
    details = (
        {
            int(mid): (text, handle, channel)
            for mid, text, handle, channel in session.execute(
                select(Message.id, Message.text, Identity.handle, Channel.name)
                .join(Channel, Channel.id == Message.channel_id)
                .outerjoin(Identity, Identity.id == Message.author_identity_id)
                .where(in_values(session, Message.id, [r.id for r in ranked]))
            )
        }
        if ranked
        else {}
    )
    return index_hits(session, MESSAGE_INDEX, query, ranked, details, kind="message")


def search_messages(
    session: Session,
    query: str | Query,
    filters: SearchFilters | None = None,
    *,
    limit: int = 20,
    offset: int = 0,
) -> SearchPage:
    """The messages matching ``query`` (text or parsed), best first, merged
    by score with the hits of the other domains' sources (internal notes).

    Raises `QuerySyntaxError` / `QueryNotSearchable` (with the position) for a
    query that cannot run, `UnknownSearchChannel`, and
    `SearchFilterUnavailable` for a thread filter nobody registered."""
    source = query if isinstance(query, str) else to_text(query)
    parsed = parse(query) if isinstance(query, str) else query
    check_searchable(parsed, source)
    filters = filters or SearchFilters()
    where = search_conditions(session, filters, MESSAGE_INDEX)
    sources = hooks.search_sources()
    if not sources:
        ranked, total = ranked_page(
            session, MESSAGE_INDEX, parsed, where, limit=limit, offset=offset
        )
        results = _message_hits(session, parsed, ranked)
        return SearchPage(query=to_text(parsed), results=results, total=total)
    # Enough of each to merge the asked page; snippets only for the page.
    ranked, total = ranked_page(session, MESSAGE_INDEX, parsed, where, limit=limit + offset)
    others: list[SearchHit] = []
    for extra in sources:
        more, count = extra(session, parsed, filters, limit + offset)
        others.extend(more)
        total += count
    # Each list is best first: merge by score keeping each one's order (its
    # database order breaks the ties of rounded scores); messages first on a tie.
    others.sort(key=lambda h: -h.score)
    mine: list[Ranked | SearchHit] = list(ranked)
    theirs: list[Ranked | SearchHit] = list(others)
    merged = heapq.merge(mine, theirs, key=lambda h: -h.score)
    shown = list(itertools.islice(merged, offset, offset + limit))
    messages = {
        h.message_id: h
        for h in _message_hits(session, parsed, [h for h in shown if isinstance(h, Ranked)])
    }
    results = [messages[h.id] if isinstance(h, Ranked) else h for h in shown]
    return SearchPage(query=to_text(parsed), results=results, total=total)


def match_message_ids(
    session: Session, query: str | Query, filters: SearchFilters | None = None
) -> list[int]:
    """Every message matching ``query`` (ids, ascending), from the index: for
    listening queries run over history and for checking the index."""
    parsed = parse(query) if isinstance(query, str) else query
    check_searchable(parsed, query if isinstance(query, str) else None)
    where = search_conditions(session, filters or SearchFilters(), MESSAGE_INDEX)
    if session.get_bind().dialect.name == "sqlite":
        rowid: ColumnElement[Any] = literal_column("message_fts.rowid")
        match = literal_column("message_fts").op("MATCH")(bindparam("fts_query", to_fts5(parsed)))
        stmt = select(rowid).select_from(table("message_fts")).where(match)
        if where:
            stmt = stmt.join(Message, Message.id == rowid).where(*where)
    else:
        vector: ColumnElement[Any] = literal_column("message.search_vector")
        stmt = select(Message.id).where(vector.op("@@")(to_tsquery(parsed)), *where)
    return sorted(int(i) for i in session.execute(stmt).scalars())
