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
engagement domain owns thread status and labels), ``on_search(name, source)``
adds hits of another kind (internal notes).
"""

from __future__ import annotations

from dataclasses import dataclass
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
from sqlalchemy.orm import Session

from rapport.conversations import hooks
from rapport.conversations.errors import SearchFilterUnavailable, UnknownSearchChannel
from rapport.conversations.models import Channel, Identity, Message
from rapport.conversations.querylang import (
    Query,
    check_searchable,
    evaluate,
    parse,
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
    since: datetime | None = None
    #: Excluded: messages created before this instant.
    until: datetime | None = None
    #: (filter name, value) pairs for filters other domains register (status, label).
    threads: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SearchHit:
    """One result: a message (or, from another domain's source, a note...)."""

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


def _conditions(session: Session, filters: SearchFilters) -> list[ColumnElement[bool]]:
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
        where.append(Message.channel_id == channel_id)
    if filters.since is not None:
        where.append(Message.created_at >= filters.since)
    if filters.until is not None:
        where.append(Message.created_at < filters.until)
    for name, value in filters.threads:
        build = hooks.search_thread_filter(name)
        if build is None:
            owner = THREAD_FILTER_OWNERS.get(name, "another")
            raise SearchFilterUnavailable(
                f"--{name} needs the {owner} domain (thread {name}), which is not installed yet"
            )
        where.append(build(session, value))
    return where


@dataclass(frozen=True)
class _Ranked:
    message_id: int
    thread_id: int
    created_at: datetime
    score: float


def _sqlite_page(
    session: Session, query: Query, where: list[ColumnElement[bool]], limit: int, offset: int
) -> tuple[list[_Ranked], int, dict[int, str]]:
    fts: ColumnElement[Any] = literal_column("message_fts")
    rowid: ColumnElement[Any] = literal_column("message_fts.rowid")
    match = fts.op("MATCH")(bindparam("fts_query", to_fts5(query)))
    rank = func.bm25(fts, 1.0, 0.5)
    if where:
        # The index first, once (materialized), then the filters by primary
        # key: left to itself the planner may scan messages by channel or
        # time and run the MATCH once per message.
        hits = (
            select(rowid.label("id"), rank.label("rank"))
            .select_from(table("message_fts"))
            .where(match)
            .cte("hits")
            .prefix_with("MATERIALIZED")
        )
        page: Select[Any] = (
            select(Message.id, Message.thread_id, Message.created_at, hits.c.rank)
            .select_from(hits)
            .join(Message, Message.id == hits.c.id)
            .where(*where)
            .order_by(hits.c.rank, Message.id.desc())
        )
        counted = (
            select(func.count())
            .select_from(hits)
            .join(Message, Message.id == hits.c.id)
            .where(*where)
        )
    else:
        page = (
            select(Message.id, Message.thread_id, Message.created_at, rank.label("rank"))
            .select_from(table("message_fts"))
            .join(Message, Message.id == rowid)
            .where(match)
            .order_by(rank, Message.id.desc())
        )
        counted = select(func.count()).select_from(table("message_fts")).where(match)
    rows = session.execute(page.limit(limit).offset(offset)).all()
    total = int(session.execute(counted).scalar_one())
    ranked = [_Ranked(r[0], r[1], r[2], round(-float(r[3]), 6)) for r in rows]
    snippets: dict[int, str] = {}
    if ranked:
        marked = func.snippet(fts, 0, MARK_START, MARK_END, "…", SNIPPET_WORDS)
        snippets = {
            int(mid): str(text or "")
            for mid, text in session.execute(
                select(rowid, marked)
                .select_from(table("message_fts"))
                .where(match, in_values(session, rowid, [r.message_id for r in ranked]))
            )
        }
    return ranked, total, snippets


def _postgresql_page(
    session: Session, query: Query, where: list[ColumnElement[bool]], limit: int, offset: int
) -> tuple[list[_Ranked], int, dict[int, str]]:
    vector: ColumnElement[Any] = literal_column("message.search_vector")
    tsquery = to_tsquery(query)
    match = vector.op("@@")(tsquery)
    rank = func.ts_rank_cd(vector, tsquery)
    rows = session.execute(
        select(Message.id, Message.thread_id, Message.created_at, rank.label("rank"))
        .where(match, *where)
        .order_by(rank.desc(), Message.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    total = int(
        session.execute(select(func.count()).select_from(Message).where(match, *where)).scalar_one()
    )
    ranked = [_Ranked(r[0], r[1], r[2], round(float(r[3]), 6)) for r in rows]
    snippets: dict[int, str] = {}
    if ranked:
        headline = func.ts_headline(
            literal_column("'simple'::regconfig"),
            Message.text,
            to_tsquery(query),
            case(
                (
                    func.length(Message.text) <= WHOLE_TEXT_CHARS,
                    bindparam("headline_whole", _HEADLINE_WHOLE),
                ),
                else_=bindparam("headline_fragments", _HEADLINE_FRAGMENTS),
            ),
        )
        snippets = {
            int(mid): str(text or "")
            for mid, text in session.execute(
                select(Message.id, headline).where(
                    in_values(session, Message.id, [r.message_id for r in ranked])
                )
            )
        }
    return ranked, total, snippets


def search_messages(
    session: Session,
    query: str | Query,
    filters: SearchFilters | None = None,
    *,
    limit: int = 20,
    offset: int = 0,
) -> SearchPage:
    """The messages matching ``query`` (text or parsed), best first.

    Raises `QuerySyntaxError` / `QueryNotSearchable` (with the position) for a
    query that cannot run, `UnknownSearchChannel`, and
    `SearchFilterUnavailable` for a thread filter nobody registered."""
    source = query if isinstance(query, str) else to_text(query)
    parsed = parse(query) if isinstance(query, str) else query
    check_searchable(parsed, source)
    filters = filters or SearchFilters()
    where = _conditions(session, filters)
    sources = hooks.search_sources()
    # With other sources, take enough of each to merge the asked page.
    take, skip = (limit + offset, 0) if sources else (limit, offset)
    page = _sqlite_page if session.get_bind().dialect.name == "sqlite" else _postgresql_page
    ranked, total, snippets = page(session, parsed, where, take, skip)
    details = {
        int(mid): (text, handle, channel)
        for mid, text, handle, channel in session.execute(
            select(Message.id, Message.text, Identity.handle, Channel.name)
            .join(Channel, Channel.id == Message.channel_id)
            .outerjoin(Identity, Identity.id == Message.author_identity_id)
            .where(in_values(session, Message.id, [r.message_id for r in ranked]))
        )
    }
    hits: list[SearchHit] = []
    for r in ranked:
        text, handle, channel = details[r.message_id]
        hits.append(
            SearchHit(
                kind="message",
                message_id=r.message_id,
                thread_id=r.thread_id,
                author=handle,
                created_at=r.created_at,
                snippet=split_snippet(snippets.get(r.message_id) or text),
                score=r.score,
                matched=evaluate(parsed, text, handle).terms,
                channel=channel,
            )
        )
    if sources:
        for extra in sources:
            more, count = extra(session, parsed, filters, limit + offset)
            hits.extend(more)
            total += count
        hits.sort(key=lambda h: (-h.score, -h.created_at.timestamp()))
        hits = hits[offset : offset + limit]
    return SearchPage(query=to_text(parsed), results=hits, total=total)


def match_message_ids(
    session: Session, query: str | Query, filters: SearchFilters | None = None
) -> list[int]:
    """Every message matching ``query`` (ids, ascending), from the index: for
    listening queries run over history and for checking the index."""
    parsed = parse(query) if isinstance(query, str) else query
    check_searchable(parsed, query if isinstance(query, str) else None)
    where = _conditions(session, filters or SearchFilters())
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
