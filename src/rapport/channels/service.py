"""The channels service: configure connectors, poll them, receive webhooks,
send replies. Connectors are looked up by channel name; a channel without a
configured connector (imported history) cannot send.

Every message enters through `rapport.conversations.service`
(`do_store_messages`, `do_quarantine`) in the same transaction that moves the
channel's cursor and health counters: a crash leaves both or neither, so a
re-poll fetches again and stores nothing twice.
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from rapport.audit.service import do_record
from rapport.channels import credentials
from rapport.channels.base import (
    Connector,
    ConnectorContext,
    OutboundReply,
    Page,
    Receipt,
    StoredMessage,
)
from rapport.channels.errors import (
    ChannelConfigError,
    ChannelError,
    ChannelNotFound,
    ConnectorFailed,
    NoConnector,
    RateLimited,
    SendFailed,
    SignatureInvalid,
    WebhookRefused,
)
from rapport.channels.models import ChannelConnector
from rapport.channels.registry import ConnectorType, get_type
from rapport.channels.schemas import ChannelCreate, ChannelPublic, PollResult, WebhookResult
from rapport.conversations import queries as conversation_queries
from rapport.conversations.models import Channel
from rapport.conversations.service import (
    StoreCache,
    do_ensure_channel,
    do_quarantine,
    do_store_messages,
)
from rapport.scheduling import service as scheduling
from rapport.scheduling.registry import JobOutcome
from rapport.scheduling.schemas import JobCreate, JobPublic
from rapport.storage.base import utcnow
from rapport.storage.engine import session_scope

log = logging.getLogger(__name__)

POLL_JOB_KIND = "channels.poll"
#: Pages one poll stores at most before yielding to the next channel.
MAX_PAGES_PER_POLL = 20
#: Longest a failing connector waits between attempts.
MAX_BACKOFF_SECONDS = 6 * 3600.0
#: Webhook bodies larger than this are refused (HTTP 413).
MAX_WEBHOOK_BYTES = 1_000_000

_default_transport: Any = None


@contextlib.contextmanager
def using_transport(transport: Any) -> Iterator[None]:
    """Route every connector's HTTP through ``transport`` (an
    ``httpx.MockTransport`` replaying recorded responses, in tests of code
    that reaches connectors indirectly, such as the engagement outbox)."""
    global _default_transport
    previous, _default_transport = _default_transport, transport
    try:
        yield
    finally:
        _default_transport = previous


def poll_job_name(channel: str) -> str:
    return f"{POLL_JOB_KIND}:{channel}"


def quarantine_source(channel: str) -> str:
    return f"channel:{channel}"


# --------------------------------------------------------------------------
# loading and building connectors


@dataclass
class LoadedChannel:
    name: str
    channel_id: int
    row_id: int
    ctype: ConnectorType
    options: Any
    state: dict[str, Any]
    cursor: str | None
    enabled: bool
    interval: float
    backoff_until: datetime | None
    consecutive_failures: int
    state_before: dict[str, Any] = field(default_factory=dict)


def _connector_row(session: Session, name: str) -> tuple[ChannelConnector, Channel] | None:
    row = session.execute(
        select(ChannelConnector, Channel)
        .join(Channel, Channel.id == ChannelConnector.channel_id)
        .where(Channel.name == name)
    ).one_or_none()
    return (row[0], row[1]) if row else None


def _load(session: Session, name: str) -> LoadedChannel:
    found = _connector_row(session, name)
    if found is None:
        exists = session.execute(
            select(Channel.id).where(Channel.name == name)
        ).scalar_one_or_none()
        if exists is not None:
            raise NoConnector(
                f"channel {name!r} has no live connector (imported history): "
                "nothing can be polled or sent through it"
            )
        raise ChannelNotFound(f"no channel named {name!r} (see `rapport channels list`)")
    row, channel = found
    ctype = get_type(row.kind)
    values = {**row.config, **credentials.decrypt(row.secrets, what=f"channel {name!r}")}
    options = ctype.validate(values)
    state = credentials.decrypt(row.state, what=f"channel {name!r} (session state)")
    return LoadedChannel(
        name=channel.name,
        channel_id=channel.id,
        row_id=row.id,
        ctype=ctype,
        options=options,
        state=state,
        cursor=row.cursor,
        enabled=row.enabled,
        interval=row.poll_interval_seconds,
        backoff_until=row.backoff_until,
        consecutive_failures=row.consecutive_failures,
        state_before=dict(state),
    )


def _stored(message: Any) -> StoredMessage:
    return StoredMessage(
        external_id=message.external_id,
        author=message.author,
        text=message.text,
        meta=message.meta,
        created_at=message.created_at,
    )


def _context(loaded: LoadedChannel, session: Session | None, transport: Any) -> ConnectorContext:
    def with_session(fn: Any) -> Any:
        if session is not None:
            return fn(session)
        with session_scope() as own:
            return fn(own)

    def lookup(external_id: str) -> StoredMessage | None:
        found = with_session(
            lambda s: conversation_queries.message_by_external_id(s, loaded.name, external_id)
        )
        return _stored(found) if found else None

    def latest_with(handle: str) -> str | None:
        result: str | None = with_session(
            lambda s: conversation_queries.latest_external_id_by_author(s, loaded.name, handle)
        )
        return result

    return ConnectorContext(
        transport=transport if transport is not None else _default_transport,
        lookup=lookup,
        latest_with=latest_with,
        state=loaded.state,
    )


def build_connector(
    loaded: LoadedChannel, *, session: Session | None = None, transport: Any = None
) -> Connector:
    return loaded.ctype.build(loaded.name, loaded.options, _context(loaded, session, transport))


def _save_state(session: Session, loaded: LoadedChannel) -> None:
    if loaded.state != loaded.state_before:
        session.execute(
            update(ChannelConnector)
            .where(ChannelConnector.id == loaded.row_id)
            .values(state=credentials.encrypt(loaded.state))
        )
        loaded.state_before = dict(loaded.state)


# --------------------------------------------------------------------------
# configuring channels


def _interval(ctype: ConnectorType, options: Any) -> float:
    value = getattr(options, "interval", None)
    return float(value) if value else ctype.default_interval


def _register_poll_job(session: Session, name: str, interval: float, enabled: bool) -> None:
    scheduling.do_register_job(
        session,
        JobCreate(
            name=poll_job_name(name),
            kind=POLL_JOB_KIND,
            interval_seconds=interval,
            payload={"channel": name},
            enabled=enabled,
        ),
    )


def do_add_channel(session: Session, data: ChannelCreate, *, actor: str) -> ChannelPublic:
    """Configure a live connector for channel ``data.name`` (created if new;
    an imported-history channel of that name becomes live)."""
    ctype = get_type(data.kind)
    options = ctype.validate(data.options)
    existing = _connector_row(session, data.name)
    if existing is not None:
        raise ChannelConfigError(
            f"channel {data.name!r} already has a {existing[0].kind} connector; "
            f"remove it first (`rapport channels remove {data.name}`)"
        )
    try:
        channel_id = do_ensure_channel(session, data.name, kind=ctype.kind)
    except ChannelError:
        raise
    except Exception as exc:  # IngestError: a bad channel name
        raise ChannelConfigError(str(exc)) from None
    session.execute(update(Channel).where(Channel.id == channel_id).values(kind=ctype.kind))
    config, secrets = ctype.split(options)
    interval = _interval(ctype, options)
    row = ChannelConnector(
        channel_id=channel_id,
        kind=ctype.kind,
        config=config,
        secrets=credentials.encrypt(secrets),
        enabled=data.enabled,
        poll_interval_seconds=interval,
    )
    session.add(row)
    session.flush()
    if ctype.pollable:
        _register_poll_job(session, data.name, interval, data.enabled)
    do_record(
        session,
        actor,
        "channels.add",
        subject_type="channel",
        subject_id=data.name,
        details={"kind": ctype.kind, "config": config, "secrets": sorted(secrets)},
    )
    from rapport.channels.queries import get_channel

    return get_channel(session, data.name)


def do_remove_channel(session: Session, name: str, *, actor: str) -> None:
    """Remove the channel's connector (credentials, cursor, schedule). Its
    messages stay: the channel goes back to being history."""
    found = _connector_row(session, name)
    if found is None:
        _load(session, name)  # raises the right error
        return
    row, channel = found
    session.delete(row)
    session.execute(update(Channel).where(Channel.id == channel.id).values(kind="import"))
    scheduling.do_remove_job(session, poll_job_name(name))
    do_record(
        session,
        actor,
        "channels.remove",
        subject_type="channel",
        subject_id=name,
        details={"kind": row.kind},
    )


def do_set_enabled(session: Session, name: str, enabled: bool, *, actor: str) -> None:
    found = _connector_row(session, name)
    if found is None:
        _load(session, name)
        return
    row, _channel = found
    row.enabled = enabled
    row.updated_at = utcnow()
    if get_type(row.kind).pollable:
        _register_poll_job(session, name, row.poll_interval_seconds, enabled)
    do_record(
        session,
        actor,
        "channels.enable" if enabled else "channels.disable",
        subject_type="channel",
        subject_id=name,
    )


def do_rotate_credentials(session: Session, *, actor: str) -> int:
    """Re-encrypt every channel's credentials with the first configured key."""
    rows = session.execute(select(ChannelConnector)).scalars().all()
    for row in rows:
        row.secrets = credentials.rotate(row.secrets)
        row.state = credentials.rotate(row.state)
    do_record(session, actor, "channels.rotate_key", details={"channels": len(rows)})
    return len(rows)


# --------------------------------------------------------------------------
# polling


def _backoff(loaded: LoadedChannel, failures: int, now: datetime) -> datetime:
    base = max(loaded.interval, 30.0)
    delay = min(base * 2 ** max(failures - 1, 0), MAX_BACKOFF_SECONDS)
    return now + timedelta(seconds=delay * random.uniform(0.8, 1.2))


def _store_page(session: Session, loaded: LoadedChannel, page: Page) -> tuple[int, int, int]:
    stored = do_store_messages(
        session,
        page.messages,
        default_channel=loaded.name,
        channel_kind=loaded.ctype.kind,
        cache=StoreCache(channels={loaded.name: loaded.channel_id}),
    )
    quarantined = do_quarantine(session, quarantine_source(loaded.name), page.rejected)
    return stored.inserted, stored.duplicates, quarantined


def _record_failure(loaded: LoadedChannel, exc: Exception, now: datetime) -> datetime:
    message = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, RateLimited):
        until = now + timedelta(seconds=max(exc.retry_after, 1.0))
        failures = loaded.consecutive_failures
    else:
        failures = loaded.consecutive_failures + 1
        until = _backoff(loaded, failures, now)
    with session_scope(write=True) as session:
        session.execute(
            update(ChannelConnector)
            .where(ChannelConnector.id == loaded.row_id)
            .values(
                last_poll_at=now,
                last_error=message[:4000],
                last_error_at=now,
                consecutive_failures=failures,
                backoff_until=until,
                polls=ChannelConnector.polls + 1,
            )
        )
        _save_state(session, loaded)
    return until


def do_poll_channel(
    name: str,
    *,
    transport: Any = None,
    force: bool = False,
    now: datetime | None = None,
    max_pages: int = MAX_PAGES_PER_POLL,
) -> PollResult:
    """Poll channel ``name`` once: fetch from its cursor, store each page with
    the cursor it leads to, record health. Never raises for a platform's
    failure: the result (and `channels list`) carries the error, and the
    channel backs off."""
    now = now or utcnow()
    with session_scope() as session:
        loaded = _load(session, name)
    result = PollResult()
    if not loaded.ctype.pollable:
        result.skipped = f"{loaded.ctype.kind} channels receive webhooks; there is nothing to poll"
        return result
    if not loaded.enabled and not force:
        result.skipped = "disabled"
        return result
    if loaded.backoff_until is not None and loaded.backoff_until > now and not force:
        result.skipped = f"backing off until {loaded.backoff_until.isoformat()}"
        result.backoff_until = loaded.backoff_until
        return result
    connector = build_connector(loaded, transport=transport)
    cursor = loaded.cursor
    retry_after: float | None = None
    last_reason: str | None = None
    try:
        for _ in range(max_pages):
            page = connector.poll(cursor)
            result.pages += 1
            with session_scope(write=True) as session:
                inserted, duplicates, quarantined = _store_page(session, loaded, page)
                next_cursor = page.cursor if page.cursor is not None else cursor
                values: dict[str, Any] = {
                    "cursor": next_cursor,
                    "fetched_total": ChannelConnector.fetched_total
                    + len(page.messages)
                    + len(page.rejected),
                    "inserted_total": ChannelConnector.inserted_total + inserted,
                    "duplicates_total": ChannelConnector.duplicates_total + duplicates,
                    "quarantined_total": ChannelConnector.quarantined_total + quarantined,
                }
                if page.rejected:
                    last_reason = f"quarantined: {page.rejected[-1].reason}"
                    values.update(last_error=last_reason[:4000], last_error_at=utcnow())
                session.execute(
                    update(ChannelConnector)
                    .where(ChannelConnector.id == loaded.row_id)
                    .values(**values)
                )
                _save_state(session, loaded)
            cursor = next_cursor
            result.fetched += len(page.messages) + len(page.rejected)
            result.inserted += inserted
            result.duplicates += duplicates
            result.quarantined += quarantined
            if page.retry_after:
                retry_after = page.retry_after
                break
            if not page.has_more:
                break
    except (ConnectorFailed, ChannelError, OSError, ValueError) as exc:
        log.warning("poll of channel %s failed: %s", name, exc)
        result.error = f"{type(exc).__name__}: {exc}"
        result.backoff_until = _record_failure(loaded, exc, now)
        return result
    until = now + timedelta(seconds=retry_after) if retry_after else None
    with session_scope(write=True) as session:
        session.execute(
            update(ChannelConnector)
            .where(ChannelConnector.id == loaded.row_id)
            .values(
                last_poll_at=now,
                last_success_at=utcnow(),
                consecutive_failures=0,
                backoff_until=until,
                polls=ChannelConnector.polls + 1,
            )
        )
    result.backoff_until = until
    return result


def pollable_channels(session: Session) -> list[str]:
    rows = session.execute(
        select(Channel.name, ChannelConnector.kind)
        .join(ChannelConnector, ChannelConnector.channel_id == Channel.id)
        .where(ChannelConnector.enabled.is_(True))
        .order_by(Channel.name)
    )
    return [name for name, kind in rows if get_type(kind).pollable]


def do_poll(
    name: str | None = None, *, transport: Any = None, force: bool = False
) -> dict[str, PollResult]:
    """Poll one channel, or every enabled pollable channel; one channel's
    failure never stops the others."""
    if name is not None:
        return {name: do_poll_channel(name, transport=transport, force=force)}
    with session_scope() as session:
        names = pollable_channels(session)
    results = {}
    for channel in names:
        try:
            results[channel] = do_poll_channel(channel, transport=transport, force=force)
        except ChannelError as exc:  # e.g. credentials that no longer decrypt
            results[channel] = PollResult(error=f"{type(exc).__name__}: {exc}")
    return results


def run_poll_job(job: JobPublic) -> JobOutcome:
    """The scheduler's handler for `channels.poll` jobs."""
    channel = str(job.payload.get("channel") or "")
    result = do_poll_channel(channel)
    summary = f"fetched {result.fetched}, inserted {result.inserted}"
    if result.skipped:
        summary = f"skipped: {result.skipped}"
    return JobOutcome(next_run_at=result.backoff_until, error=result.error, summary=summary)


def do_check_channel(name: str, *, transport: Any = None) -> str:
    """Reach the channel's platform with its credentials (`channels test`)."""
    with session_scope() as session:
        loaded = _load(session, name)
    connector = build_connector(loaded, transport=transport)
    verdict = connector.check()
    with session_scope(write=True) as session:
        _save_state(session, loaded)
    return verdict


# --------------------------------------------------------------------------
# webhooks


def do_receive_webhook(
    name: str, body: bytes, headers: dict[str, str], *, transport: Any = None
) -> WebhookResult:
    """Verify and store one webhook delivery. Raises `SignatureInvalid` (401,
    nothing stored), `PayloadTooLarge` (413), `WebhookRefused` (the channel
    does not take webhooks); a malformed body is quarantined and reported."""
    from rapport.channels.errors import PayloadTooLarge

    if len(body) > MAX_WEBHOOK_BYTES:
        raise PayloadTooLarge(
            f"body of {len(body)} bytes is over the {MAX_WEBHOOK_BYTES} byte limit"
        )
    with session_scope() as session:
        try:
            loaded = _load(session, name)
        except NoConnector:
            raise WebhookRefused(f"channel {name!r} has no live connector", status=404) from None
        except ChannelNotFound:
            raise WebhookRefused(f"no channel named {name!r}", status=404) from None
    if not loaded.ctype.receives:
        raise WebhookRefused(
            f"channel {name!r} ({loaded.ctype.kind}) does not take webhooks", status=404
        )
    if not loaded.enabled:
        raise WebhookRefused(f"channel {name!r} is disabled; deliver again later", status=503)
    connector = build_connector(loaded, transport=transport)
    headers = {k.lower(): v for k, v in headers.items()}
    try:
        page = connector.receive(body, headers)
    except SignatureInvalid:
        with session_scope(write=True) as session:
            session.execute(
                update(ChannelConnector)
                .where(ChannelConnector.id == loaded.row_id)
                .values(webhooks_refused=ChannelConnector.webhooks_refused + 1)
            )
        raise
    result = WebhookResult(channel=name, received=len(page.messages) + len(page.rejected))
    with session_scope(write=True) as session:
        inserted, duplicates, quarantined = _store_page(session, loaded, page)
        values: dict[str, Any] = {
            "webhooks_accepted": ChannelConnector.webhooks_accepted + 1,
            "fetched_total": ChannelConnector.fetched_total + result.received,
            "inserted_total": ChannelConnector.inserted_total + inserted,
            "duplicates_total": ChannelConnector.duplicates_total + duplicates,
            "quarantined_total": ChannelConnector.quarantined_total + quarantined,
        }
        if page.rejected:
            values.update(
                last_error=f"quarantined: {page.rejected[-1].reason}"[:4000], last_error_at=utcnow()
            )
        session.execute(
            update(ChannelConnector).where(ChannelConnector.id == loaded.row_id).values(**values)
        )
    result.inserted, result.duplicates, result.quarantined = inserted, duplicates, quarantined
    result.reasons = [r.reason for r in page.rejected]
    return result


# --------------------------------------------------------------------------
# sending


def do_send(session: Session, reply: OutboundReply, *, transport: Any = None) -> Receipt:
    """Send ``reply`` through its channel's connector.

    Raises `NoConnector` when the channel has no live connector (imported
    history, a read-only feed, a listen-only webhook), `SendFailed` when the
    platform refuses (``retryable`` tells the outbox what to do). Health
    counters move in the caller's transaction.
    """
    try:
        loaded = _load(session, reply.channel)
    except ChannelNotFound:
        raise NoConnector(
            f"no channel named {reply.channel!r}: nothing can be sent through it"
        ) from None
    except ChannelError as exc:
        if isinstance(exc, NoConnector):
            raise
        raise SendFailed(f"channel {reply.channel!r}: {exc}", retryable=False) from None
    if not loaded.ctype.sends:
        raise NoConnector(
            f"channel {reply.channel!r} is a read-only {loaded.ctype.kind} channel: "
            "nothing can be sent through it"
        )
    if not loaded.enabled:
        raise SendFailed(
            f"channel {reply.channel!r} is disabled; enable it to send", retryable=True
        )
    connector = build_connector(loaded, session=session, transport=transport)
    try:
        receipt = connector.send(reply)
    except SendFailed as exc:
        session.execute(
            update(ChannelConnector)
            .where(ChannelConnector.id == loaded.row_id)
            .values(
                send_failures=ChannelConnector.send_failures + 1,
                last_error=f"send: {exc}"[:4000],
                last_error_at=utcnow(),
            )
        )
        _save_state(session, loaded)
        raise
    except ConnectorFailed as exc:
        raise SendFailed(str(exc), retryable=exc.retryable) from None
    session.execute(
        update(ChannelConnector)
        .where(ChannelConnector.id == loaded.row_id)
        .values(sent_total=ChannelConnector.sent_total + 1)
    )
    _save_state(session, loaded)
    return receipt
