"""The conversations service: every write to messages, threads, identities,
accounts, import batches and quarantine goes through these functions."""

from __future__ import annotations

import contextlib
import hashlib
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timezone
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session
from tenacity import (
    retry,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from rapport.conversations.errors import IngestError
from rapport.conversations.hooks import StoredBatch, run_batch_hooks, run_merge_hooks
from rapport.conversations.importers.records import ParsedMessage, Rejected
from rapport.conversations.importers.registry import OpenedSource, open_source
from rapport.conversations.models import (
    OUTBOUND,
    Account,
    Channel,
    Identity,
    ImportBatch,
    Message,
    MessageMention,
    PendingReference,
    QuarantinedRow,
    Thread,
)
from rapport.conversations.threads import group_components
from rapport.settings import get_settings
from rapport.storage.base import utcnow
from rapport.storage.bulk import (
    allocate_ids,
    bulk_insert,
    db_json,
    db_timestamp,
    in_values,
    timestamp_writer,
)
from rapport.storage.engine import get_engine, session_scope

#: PostgreSQL advisory lock key serialising batch stores across processes.
STORE_LOCK_KEY = 7_215_001


def handle_key(handle: str) -> str:
    """How handles are matched: case-folded, without a leading `@`."""
    return handle.strip().lstrip("@").casefold()


class _BoundedCache(OrderedDict[Any, int]):
    """A least-recently-used map with a size bound (constant memory)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def put(self, key: Any, value: int) -> None:
        self[key] = value
        self.move_to_end(key)
        if len(self) > self.limit:
            self.popitem(last=False)


@dataclass
class StoreCache:
    """Lookups that stay valid across the batches of one import run."""

    channels: dict[str, int] = field(default_factory=dict)
    identities: _BoundedCache = field(default_factory=lambda: _BoundedCache(200_000))
    accounts: set[int] = field(default_factory=set)

    def clear(self) -> None:
        self.channels.clear()
        self.identities.clear()
        self.accounts.clear()


@dataclass
class StoreResult:
    inserted: int = 0
    duplicates: int = 0
    message_ids: list[int] = field(default_factory=list)
    thread_ids: set[int] = field(default_factory=set)


# --------------------------------------------------------------------------
# channels, identities, accounts


def do_ensure_channel(session: Session, name: str, kind: str = "import") -> int:
    """The id of channel ``name``, created if new."""
    name = name.strip()
    if not name or len(name) > 100 or ":" in name:
        raise IngestError(f"bad channel name {name!r} (1-100 characters, no ':')")
    existing = session.execute(select(Channel.id).where(Channel.name == name)).scalar_one_or_none()
    if existing is not None:
        return existing
    channel = Channel(name=name, kind=kind)
    session.add(channel)
    session.flush()
    return channel.id


def _resolve_identities(
    session: Session,
    channel_id: int,
    authors: dict[str, str | None],
    outbound_keys: set[str],
    cache: StoreCache,
    new_identity_ids: list[int],
    new_account_ids: list[int],
) -> dict[str, int]:
    """Identity ids for ``authors`` (handle key → display handle), creating the
    missing ones, and our accounts for authors of outbound messages."""
    ids: dict[str, int] = {}
    missing: list[str] = []
    for key in authors:
        cached = cache.identities.get((channel_id, key))
        if cached is not None:
            ids[key] = cached
        else:
            missing.append(key)
    if missing:
        rows = session.execute(
            select(Identity.handle_key, Identity.id).where(
                Identity.channel_id == channel_id, in_values(session, Identity.handle_key, missing)
            )
        )
        for key, ident in rows:
            ids[key] = ident
    to_create = [k for k in missing if k not in ids]
    if to_create:
        new_ids = allocate_ids(session, Identity.__table__, len(to_create))  # type: ignore[arg-type]
        now = db_timestamp(session, utcnow())
        rows_out = []
        for ident, key in zip(new_ids, to_create, strict=True):
            handle = authors[key] or key
            rows_out.append((ident, channel_id, handle[:255], key[:255], now))
            ids[key] = ident
        bulk_insert(
            session,
            Identity.__table__,  # type: ignore[arg-type]
            ("id", "channel_id", "handle", "handle_key", "created_at"),
            rows_out,
        )
    for key in missing:
        cache.identities.put((channel_id, key), ids[key])
    created = set(to_create)
    # Our accounts: authors of outbound messages.
    candidate = [ids[k] for k in outbound_keys if ids[k] not in cache.accounts]
    if candidate:
        known = set(
            session.execute(
                select(Account.identity_id).where(
                    in_values(session, Account.identity_id, candidate)
                )
            ).scalars()
        )
        fresh = [i for i in candidate if i not in known]
        if fresh:
            acc_ids = allocate_ids(session, Account.__table__, len(fresh))  # type: ignore[arg-type]
            now = db_timestamp(session, utcnow())
            bulk_insert(
                session,
                Account.__table__,  # type: ignore[arg-type]
                ("id", "identity_id", "created_at"),
                [(a, i, now) for a, i in zip(acc_ids, fresh, strict=True)],
            )
            new_account_ids.extend(fresh)
        cache.accounts.update(candidate)
    account_set = set(new_account_ids)
    new_identity_ids.extend(ids[k] for k in to_create if k in created and ids[k] not in account_set)
    return ids


# --------------------------------------------------------------------------
# the batch writer


def _lock_for_store(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": STORE_LOCK_KEY})


def do_store_messages(
    session: Session,
    messages: Sequence[ParsedMessage],
    *,
    default_channel: str,
    import_batch_id: int | None = None,
    cache: StoreCache | None = None,
    channel_kind: str = "import",
) -> StoreResult:
    """Store ``messages`` once each (by channel and external id), thread them,
    attach authors, and run the downstream hooks, all in ``session``'s
    transaction. Messages already stored count as duplicates."""
    cache = cache or StoreCache()
    _lock_for_store(session)
    result = StoreResult()
    by_channel: dict[str, list[ParsedMessage]] = defaultdict(list)
    for msg in messages:
        by_channel[msg.channel or default_channel].append(msg)
    new_identity_ids: list[int] = []
    new_account_ids: list[int] = []
    for channel_name, group in by_channel.items():
        channel_id = cache.channels.get(channel_name)
        if channel_id is None:
            channel_id = do_ensure_channel(session, channel_name, channel_kind)
            cache.channels[channel_name] = channel_id
        _store_channel_group(
            session,
            channel_id,
            group,
            import_batch_id,
            cache,
            result,
            new_identity_ids,
            new_account_ids,
        )
    if result.message_ids:
        run_batch_hooks(
            session,
            StoredBatch(
                message_ids=result.message_ids,
                thread_ids=result.thread_ids,
                new_identity_ids=new_identity_ids,
                new_account_identity_ids=new_account_ids,
            ),
        )
    return result


def _store_channel_group(
    session: Session,
    channel_id: int,
    group: list[ParsedMessage],
    import_batch_id: int | None,
    cache: StoreCache,
    result: StoreResult,
    new_identity_ids: list[int],
    new_account_ids: list[int],
) -> None:
    # 1. Repeats inside the batch: the first occurrence wins.
    unique: dict[str, ParsedMessage] = {}
    for msg in group:
        if msg.external_id in unique:
            result.duplicates += 1
        else:
            unique[msg.external_id] = msg

    # 2. Stored messages among the batch ids (duplicates) and its references.
    refs: set[str] = set()
    for msg in unique.values():
        if msg.parent_external_id:
            refs.add(msg.parent_external_id)
        refs.update(msg.reply_external_ids)
    lookup = list(set(unique) | refs)
    stored: dict[str, int] = {
        ext: thread_id
        for ext, thread_id in session.execute(
            select(Message.external_id, Message.thread_id).where(
                Message.channel_id == channel_id, in_values(session, Message.external_id, lookup)
            )
        )
    }
    fresh = [m for ext, m in unique.items() if ext not in stored]
    result.duplicates += len(unique) - len(fresh)
    if not fresh:
        return
    fresh_ids = {m.external_id for m in fresh}

    # 3. Stored messages that were waiting for one of the new ones.
    # (pending id, target ext, source thread)
    pending: list[tuple[int, str, int]] = list(
        session.execute(
            select(PendingReference.id, PendingReference.target_external_id, Message.thread_id)
            .join(Message, Message.id == PendingReference.source_message_id)
            .where(
                PendingReference.channel_id == channel_id,
                in_values(session, PendingReference.target_external_id, list(fresh_ids)),
            )
        )
    )

    # 4. Components.
    links: list[tuple[str, str]] = []
    stored_links: list[tuple[str, int]] = []
    dangling: list[tuple[str, str]] = []  # (new ext, missing target ext)
    for msg in fresh:
        targets = [msg.parent_external_id] if msg.parent_external_id else []
        targets.extend(msg.reply_external_ids)
        for target in targets:
            if target == msg.external_id:
                continue
            if target in fresh_ids:
                links.append((msg.external_id, target))
            elif target in stored:
                stored_links.append((msg.external_id, stored[target]))
            else:
                dangling.append((msg.external_id, target))
    stored_links.extend((target, thread_id) for _, target, thread_id in pending)
    components = group_components([m.external_id for m in fresh], links, stored_links)

    # 5. Authors.
    authors: dict[str, str | None] = {}
    outbound_keys: set[str] = set()
    for msg in fresh:
        if msg.author:
            key = handle_key(msg.author)
            if key not in authors:
                authors[key] = msg.author.strip().lstrip("@")
            if msg.direction == OUTBOUND:
                outbound_keys.add(key)
    identity_ids = _resolve_identities(
        session, channel_id, authors, outbound_keys, cache, new_identity_ids, new_account_ids
    )
    names = {handle_key(m.author): m.author_name for m in fresh if m.author and m.author_name}
    for key, name in names.items():
        session.execute(
            update(Identity)
            .where(Identity.id == identity_ids[key], Identity.display_name.is_(None))
            .values(display_name=name[:255])
        )

    # 6. Threads: new ones, and merges of stored ones a message now links.
    by_ext = {m.external_id: m for m in fresh}
    thread_of: dict[str, int] = {}
    new_components = [c for c in components if not c.stored_thread_ids]
    thread_ids = allocate_ids(session, Thread.__table__, len(new_components))  # type: ignore[arg-type]
    now = utcnow()
    stamp = timestamp_writer(session)
    thread_rows = []
    for thread_id, comp in zip(thread_ids, new_components, strict=True):
        stamps = [by_ext[e].created_at for e in comp.new_external_ids]
        thread_rows.append(
            (
                thread_id,
                channel_id,
                stamp(min(stamps)),
                stamp(max(stamps)),
                len(stamps),
                stamp(now),
            )
        )
        for ext in comp.new_external_ids:
            thread_of[ext] = thread_id
    bulk_insert(
        session,
        Thread.__table__,  # type: ignore[arg-type]
        ("id", "channel_id", "first_message_at", "last_message_at", "message_count", "created_at"),
        thread_rows,
    )
    grown: set[int] = set()
    for comp in components:
        if not comp.stored_thread_ids:
            continue
        survivor = min(comp.stored_thread_ids)
        absorbed = sorted(comp.stored_thread_ids - {survivor})
        if absorbed:
            _merge_threads(session, survivor, absorbed)
        grown.add(survivor)
        for ext in comp.new_external_ids:
            thread_of[ext] = survivor

    # 7. Messages, mentions, references.
    message_ids = allocate_ids(session, Message.__table__, len(fresh))  # type: ignore[arg-type]
    ingested = stamp(now)
    message_rows = []
    mention_rows: list[tuple[int, str]] = []
    id_of: dict[str, int] = {}
    for mid, msg in zip(message_ids, fresh, strict=True):
        id_of[msg.external_id] = mid
        author_id = identity_ids[handle_key(msg.author)] if msg.author else None
        message_rows.append(
            (
                mid,
                channel_id,
                msg.external_id,
                author_id,
                msg.direction,
                stamp(msg.created_at),
                msg.text,
                msg.raw,
                msg.parent_external_id,
                thread_of[msg.external_id],
                import_batch_id,
                db_json(msg.meta),
                ingested,
            )
        )
        mention_rows.extend((mid, handle[:255]) for handle in msg.mentions())
    bulk_insert(
        session,
        Message.__table__,  # type: ignore[arg-type]
        (
            "id",
            "channel_id",
            "external_id",
            "author_identity_id",
            "direction",
            "created_at",
            "text",
            "raw",
            "parent_external_id",
            "thread_id",
            "import_batch_id",
            "meta",
            "ingested_at",
        ),
        message_rows,
    )
    bulk_insert(
        session,
        MessageMention.__table__,  # type: ignore[arg-type]
        ("message_id", "handle_key"),
        mention_rows,
    )
    if dangling:
        ref_ids = allocate_ids(session, PendingReference.__table__, len(dangling))  # type: ignore[arg-type]
        bulk_insert(
            session,
            PendingReference.__table__,  # type: ignore[arg-type]
            ("id", "channel_id", "source_message_id", "target_external_id"),
            [
                (rid, channel_id, id_of[src], target[:255])
                for rid, (src, target) in zip(ref_ids, dangling, strict=True)
            ],
        )
    if pending:
        resolved = [pid for pid, _, _ in pending]
        session.execute(
            delete(PendingReference).where(in_values(session, PendingReference.id, resolved))
        )

    # 8. Stored threads that grew: recount from their messages.
    if grown:
        _refresh_thread_stats(session, sorted(grown))

    result.inserted += len(fresh)
    result.message_ids.extend(message_ids)
    result.thread_ids.update(thread_ids)
    result.thread_ids.update(grown)


def _refresh_thread_stats(session: Session, thread_ids: list[int]) -> None:
    stats = (
        select(
            Message.thread_id,
            func.count(),
            func.min(Message.created_at),
            func.max(Message.created_at),
        )
        .where(in_values(session, Message.thread_id, thread_ids))
        .group_by(Message.thread_id)
    )
    for thread_id, count, first, last in session.execute(stats).all():
        session.execute(
            update(Thread)
            .where(Thread.id == thread_id)
            .values(message_count=count, first_message_at=first, last_message_at=last)
        )


def _merge_threads(session: Session, survivor: int, absorbed: list[int]) -> None:
    """Fold ``absorbed`` threads into ``survivor``: a message linked them."""
    session.execute(
        update(Message).where(Message.thread_id.in_(absorbed)).values(thread_id=survivor)
    )
    run_merge_hooks(session, survivor, absorbed)
    session.execute(delete(Thread).where(Thread.id.in_(absorbed)))


# --------------------------------------------------------------------------
# quarantine


def _fingerprint(source: str, row: Rejected) -> str:
    digest = hashlib.sha256()
    digest.update(source.encode("utf-8", "surrogateescape"))
    digest.update(b"\x00")
    digest.update(str(row.line).encode())
    digest.update(b"\x00")
    digest.update(
        row.raw_bytes if row.raw_bytes is not None else row.raw.encode("utf-8", "surrogatepass")
    )
    return digest.hexdigest()


def do_quarantine(
    session: Session, source: str, rows: Sequence[Rejected], import_batch_id: int | None = None
) -> int:
    """Keep ``rows`` aside with their reasons; a row already kept is not kept twice.
    Returns how many rows were given (all of them are accounted for)."""
    if not rows:
        return 0
    prints = {_fingerprint(source, r): r for r in rows}
    known: set[str] = set()
    known.update(
        session.execute(
            select(QuarantinedRow.fingerprint).where(
                in_values(session, QuarantinedRow.fingerprint, list(prints))
            )
        ).scalars()
    )
    for fp, row in prints.items():
        if fp in known:
            continue
        raw, exact = _storable_text(row.raw)
        reason = _storable_text(row.reason)[0]
        field_name = _storable_text(row.field)[0] if row.field is not None else None
        session.add(
            QuarantinedRow(
                fingerprint=fp,
                import_batch_id=import_batch_id,
                source=source,
                line=row.line,
                field=field_name,
                reason=reason,
                raw=raw,
                raw_bytes=row.raw_bytes if row.raw_bytes is not None else exact,
            )
        )
    session.flush()
    return len(rows)


# --------------------------------------------------------------------------
# importing files


@dataclass
class IngestSummary:
    read: int = 0
    inserted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    batch_ids: list[int] = field(default_factory=list)

    def add(self, other: IngestSummary) -> None:
        self.read += other.read
        self.inserted += other.inserted
        self.duplicates += other.duplicates
        self.quarantined += other.quarantined
        self.batch_ids.extend(other.batch_ids)

    def contract(self) -> dict[str, int]:
        """The `--json` summary of the contract."""
        return {
            "read": self.read,
            "inserted": self.inserted,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
        }


#: Called with (bytes read so far, total bytes) as an import advances.
Progress = Callable[[int, int], None]


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, OperationalError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def _batched(records: Iterable[ParsedMessage | Rejected], size: int) -> Iterator[list[Any]]:
    iterator = iter(records)
    while batch := list(islice(iterator, size)):
        yield batch


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _split_storable(
    records: Sequence[ParsedMessage | Rejected],
) -> tuple[list[ParsedMessage], list[Rejected]]:
    """Messages to store, and rows to quarantine: the rejects, plus messages
    holding text no database can store (NUL characters, lone surrogates)."""
    good: list[ParsedMessage] = []
    bad: list[Rejected] = []
    for r in records:
        if isinstance(r, Rejected):
            bad.append(r)
            continue
        problem = r.unstorable()
        if problem is None:
            good.append(r)
        else:
            bad.append(Rejected(r.line, problem[1], r.raw, field=problem[0]))
    return good, bad


def _storable_text(value: str) -> tuple[str, bytes | None]:
    """``value`` as text every database stores, and the exact bytes when
    that needed escaping (NUL characters, undecodable bytes, lone surrogates)."""
    if "\x00" not in value:
        try:
            value.encode("utf-8")
            return value, None
        except UnicodeEncodeError:
            pass
    exact = value.encode("utf-8", "surrogatepass")
    with contextlib.suppress(UnicodeEncodeError):
        exact = value.encode("utf-8", "surrogateescape")
    shown = value.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
    return shown, exact


def do_start_import(source: str, format_name: str, channel: str, sha256: str | None) -> int:
    with session_scope(write=True) as session:
        batch = ImportBatch(source=source, format=format_name, channel_name=channel, sha256=sha256)
        session.add(batch)
        session.flush()
        return batch.id


def do_store_records(
    records: Sequence[ParsedMessage | Rejected],
    *,
    source: str,
    channel: str,
    import_batch_id: int | None,
    cache: StoreCache,
    channel_kind: str = "import",
    before_commit: Callable[[Session, IngestSummary], None] | None = None,
) -> IngestSummary:
    """Store one batch of parsed records (messages and rejects) in its own
    transaction, retried on a dropped connection; the import batch's
    counters move in the same transaction. ``before_commit`` runs last in
    that transaction (a distributed import marks its chunk done there, so a
    redelivered chunk is recognised)."""

    @retry(
        retry=retry_if_exception(_is_transient),
        stop=stop_after_attempt(6),
        wait=wait_exponential_jitter(multiplier=0.2, max=5),
        reraise=True,
    )
    def attempt() -> IngestSummary:
        try:
            with session_scope(write=True) as session:
                good, bad = _split_storable(records)
                stored = do_store_messages(
                    session,
                    good,
                    default_channel=channel,
                    import_batch_id=import_batch_id,
                    cache=cache,
                    channel_kind=channel_kind,
                )
                quarantined = do_quarantine(session, source, bad, import_batch_id)
                part = IngestSummary(
                    read=len(records),
                    inserted=stored.inserted,
                    duplicates=stored.duplicates,
                    quarantined=quarantined,
                )
                if import_batch_id is not None:
                    session.execute(
                        update(ImportBatch)
                        .where(ImportBatch.id == import_batch_id)
                        .values(
                            read=ImportBatch.read + part.read,
                            inserted=ImportBatch.inserted + part.inserted,
                            duplicates=ImportBatch.duplicates + part.duplicates,
                            quarantined=ImportBatch.quarantined + part.quarantined,
                        )
                    )
                if before_commit is not None:
                    before_commit(session, part)
                return part
        except BaseException:
            cache.clear()
            raise

    part = attempt()
    _statistics.stored(part.inserted)
    return part


class _PlannerStatistics:
    """ANALYZE (PostgreSQL) while a large import grows the tables, on a
    doubling schedule: after ``min_rows`` stored rows, then each time the rows
    stored by this process since the last ANALYZE reach those before it. A
    planner that still believes the tables empty picks plans (a hash join of
    every identity against a batch) whose cost grows with the table, which
    makes a long import quadratic; autovacuum may be off or minutes behind.
    Per process: every worker of a distributed import keeps its own count."""

    def __init__(self) -> None:
        self.since = 0
        self.before = 0

    def stored(self, inserted: int) -> None:
        if inserted <= 0:
            return
        self.since += inserted
        if self.since < max(get_settings().ingest_analyze_min_rows, self.before):
            return
        engine = get_engine()
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("ANALYZE")
        self.before += self.since
        self.since = 0


_statistics = _PlannerStatistics()


def do_finish_import(batch_id: int, status: str = "done") -> None:
    with session_scope(write=True) as session:
        session.execute(
            update(ImportBatch)
            .where(ImportBatch.id == batch_id)
            .values(status=status, finished_at=utcnow())
        )


def do_ingest_source(
    opened: OpenedSource, *, batch_size: int | None = None, progress: Progress | None = None
) -> IngestSummary:
    """Import one opened source batch by batch; each batch commits on its own,
    so a killed import resumes by simply running again."""
    batch_size = batch_size or get_settings().ingest_batch_size
    source = str(opened.path)
    batch_id = do_start_import(source, opened.format_name, opened.channel, sha256_file(opened.path))
    summary = IngestSummary(batch_ids=[batch_id])
    cache = StoreCache()
    status = "failed"
    try:
        for records in _batched(opened.records, batch_size):
            summary.add(
                do_store_records(
                    records,
                    source=source,
                    channel=opened.channel,
                    import_batch_id=batch_id,
                    cache=cache,
                )
            )
            if progress:
                progress(opened.reader.bytes_read, opened.size)
        status = "done"
    finally:
        opened.close()
        do_finish_import(batch_id, status)
    if summary.inserted:
        refresh_planner_statistics()
    return summary


def refresh_planner_statistics() -> None:
    """Let the query planner see what a bulk import just added (PostgreSQL's
    autovacuum would, minutes later; reports right after an import need it now)."""
    engine = get_engine()
    if engine.dialect.name == "postgresql":
        # VACUUM too: it marks the new pages all-visible, which is what lets
        # the report's queries read from indexes alone (docs/PERFORMANCE.md).
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(
                "VACUUM (ANALYZE) message, message_mention, thread, identity, pending_reference"
            )
        return
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA optimize")
        conn.commit()


def do_ingest_files(
    paths: Sequence[Path],
    *,
    fmt: str | None = None,
    channel: str | None = None,
    mapping: str | None = None,
    assume_tz: timezone | None = None,
    batch_size: int | None = None,
    progress: Callable[[Path], Progress] | None = None,
) -> IngestSummary:
    """Import every file; all are checked (exists, format, header) before any
    row is written, so a bad path refuses the whole command."""
    if not paths:
        raise IngestError("no file given")
    opened: list[OpenedSource] = []
    try:
        for path in paths:
            opened.append(
                open_source(path, fmt, channel=channel, mapping=mapping, assume_tz=assume_tz)
            )
    except BaseException:
        for source in opened:
            source.close()
        raise
    total = IngestSummary()
    for index, source in enumerate(opened):
        try:
            total.add(
                do_ingest_source(
                    source,
                    batch_size=batch_size,
                    progress=progress(source.path) if progress else None,
                )
            )
        except BaseException:
            for rest in opened[index + 1 :]:
                rest.close()
            raise
    return total


# --------------------------------------------------------------------------
# erasure (called by relationships' `do_erase_person`)


def do_redact_messages(session: Session, message_ids: Sequence[int]) -> int:
    """Blank the text, raw payload and parsed extras of ``message_ids`` and drop
    their mentions. The rows stay (channel, direction, time, thread, external
    id), so counts, threads and re-import deduplication are unchanged."""
    ids = list(message_ids)
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        session.execute(
            update(Message)
            .where(in_values(session, Message.id, chunk))
            .values(text="", raw="", meta={})
        )
        session.execute(
            delete(MessageMention).where(in_values(session, MessageMention.message_id, chunk))
        )
    return len(ids)


def do_scrub_messages(
    session: Session, message_ids: Sequence[int], pattern: Any, replacement: str
) -> int:
    """Replace ``pattern`` (a compiled regex of a person's handles, emails,
    phones) in the text and raw payload of ``message_ids``; returns how many
    messages changed."""
    changed = 0
    ids = list(message_ids)
    for start in range(0, len(ids), 2000):
        rows = session.execute(
            select(Message.id, Message.text, Message.raw).where(
                in_values(session, Message.id, ids[start : start + 2000])
            )
        ).all()
        for mid, text_, raw in rows:
            new_text, new_raw = pattern.sub(replacement, text_), pattern.sub(replacement, raw)
            if new_text != text_ or new_raw != raw:
                session.execute(
                    update(Message).where(Message.id == mid).values(text=new_text, raw=new_raw)
                )
                changed += 1
    return changed


def do_erase_identities(session: Session, identity_ids: Sequence[int]) -> int:
    """Replace handles and display names of ``identity_ids`` by `erased-<id>`,
    and the mentions of those handles in other messages."""
    rows = session.execute(
        select(Identity.id, Identity.channel_id, Identity.handle_key).where(
            in_values(session, Identity.id, list(identity_ids))
        )
    ).all()
    for ident, channel_id, key in rows:
        erased = f"erased-{ident}"
        mentioning = list(
            session.execute(
                select(MessageMention.message_id)
                .join(Message, Message.id == MessageMention.message_id)
                .where(MessageMention.handle_key == key, Message.channel_id == channel_id)
            ).scalars()
        )
        if mentioning:
            session.execute(
                update(MessageMention)
                .where(
                    MessageMention.handle_key == key,
                    in_values(session, MessageMention.message_id, mentioning),
                )
                .values(handle_key=erased)
            )
        session.execute(
            update(Identity)
            .where(Identity.id == ident)
            .values(handle=erased, handle_key=erased, display_name=None)
        )
    return len(rows)


def do_purge_quarantine(session: Session, pattern: Any) -> int:
    """Delete quarantined rows whose raw text (or bytes) matches ``pattern``."""
    doomed: list[int] = []
    last = 0
    while True:
        rows = session.execute(
            select(QuarantinedRow.id, QuarantinedRow.raw, QuarantinedRow.raw_bytes)
            .where(QuarantinedRow.id > last)
            .order_by(QuarantinedRow.id)
            .limit(5000)
        ).all()
        if not rows:
            break
        for qid, raw, raw_bytes in rows:
            data = raw or ""
            if raw_bytes:
                data += "\n" + raw_bytes.decode("utf-8", "replace")
            if pattern.search(data):
                doomed.append(int(qid))
        last = int(rows[-1][0])
    for start in range(0, len(doomed), 5000):
        session.execute(
            delete(QuarantinedRow).where(
                in_values(session, QuarantinedRow.id, doomed[start : start + 5000])
            )
        )
    return len(doomed)
