"""Reading channels: configuration (secrets masked) and health."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from rapport.channels import credentials
from rapport.channels.errors import ChannelNotFound, CredentialsError
from rapport.channels.models import ChannelConnector
from rapport.channels.registry import get_type
from rapport.channels.schemas import ChannelHealth, ChannelPublic
from rapport.conversations import queries as conversation_queries
from rapport.conversations.models import Channel
from rapport.scheduling import queries as schedule_queries
from rapport.storage.base import utcnow


def _health(row: ChannelConnector) -> ChannelHealth:
    now = utcnow()
    if not row.enabled:
        status = "disabled"
    elif row.backoff_until is not None and row.backoff_until > now:
        status = "backing-off"
    elif row.consecutive_failures:
        status = "failing"
    elif row.last_poll_at is None and not row.webhooks_accepted and not row.sent_total:
        status = "new"
    else:
        status = "ok"
    return ChannelHealth(
        status=status,
        last_poll_at=row.last_poll_at,
        last_success_at=row.last_success_at,
        last_error=row.last_error,
        last_error_at=row.last_error_at,
        consecutive_failures=row.consecutive_failures,
        backoff_until=row.backoff_until,
        polls=row.polls,
        fetched=row.fetched_total,
        inserted=row.inserted_total,
        duplicates=row.duplicates_total,
        quarantined=row.quarantined_total,
        webhooks_accepted=row.webhooks_accepted,
        webhooks_refused=row.webhooks_refused,
        sent=row.sent_total,
        send_failures=row.send_failures,
    )


def _public(
    session: Session, channel: Channel, row: ChannelConnector | None, counts: dict[str, int]
) -> ChannelPublic:
    if row is None:
        return ChannelPublic(
            name=channel.name,
            kind=channel.kind,
            live=False,
            messages=counts.get(channel.name, 0),
            created_at=channel.created_at,
        )
    ctype = get_type(row.kind)
    try:
        secret_names = sorted(credentials.decrypt(row.secrets, what=f"channel {channel.name!r}"))
    except CredentialsError:
        secret_names = ["(undecryptable: the key changed)"]
    next_poll = None
    if ctype.pollable:
        from rapport.channels.service import poll_job_name
        from rapport.scheduling.errors import JobNotFound

        try:
            next_poll = schedule_queries.get_job(session, poll_job_name(channel.name)).next_run_at
        except JobNotFound:
            next_poll = None
    return ChannelPublic(
        name=channel.name,
        kind=row.kind,
        live=True,
        enabled=row.enabled,
        config=row.config,
        secrets=secret_names,
        poll_interval_seconds=row.poll_interval_seconds if ctype.pollable else None,
        next_poll_at=next_poll,
        cursor=row.cursor,
        webhook_path=f"/api/v1/channels/{channel.name}/webhook" if ctype.receives else None,
        messages=counts.get(channel.name, 0),
        created_at=row.created_at,
        health=_health(row),
    )


def list_channels(session: Session, *, live_only: bool = False) -> list[ChannelPublic]:
    """Every channel: live ones with their health, imported history too
    (unless ``live_only``)."""
    rows = session.execute(
        select(Channel, ChannelConnector)
        .outerjoin(ChannelConnector, ChannelConnector.channel_id == Channel.id)
        .order_by(Channel.name)
    ).all()
    counts = conversation_queries.channel_message_counts(session)
    return [
        _public(session, channel, row, counts)
        for channel, row in rows
        if row is not None or not live_only
    ]


def get_channel(session: Session, name: str) -> ChannelPublic:
    row = session.execute(
        select(Channel, ChannelConnector)
        .outerjoin(ChannelConnector, ChannelConnector.channel_id == Channel.id)
        .where(Channel.name == name)
    ).one_or_none()
    if row is None:
        raise ChannelNotFound(f"no channel named {name!r} (see `rapport channels list`)")
    counts = conversation_queries.channel_message_counts(session)
    return _public(session, row[0], row[1], counts)


#: Option names under which connectors keep the handle or address we speak as.
OWN_HANDLE_OPTIONS = ("handle", "from_address", "from_number", "username")


def own_handles(session: Session) -> dict[str, str]:
    """Channel name → the handle our account has there (as configured on the
    live connector), for channels that name one."""
    out: dict[str, str] = {}
    for name, config in session.execute(
        select(Channel.name, ChannelConnector.config).join(
            ChannelConnector, ChannelConnector.channel_id == Channel.id
        )
    ):
        for option in OWN_HANDLE_OPTIONS:
            value = (config or {}).get(option)
            if isinstance(value, str) and value.strip():
                out[str(name)] = value.strip().lstrip("@")
                break
    return out
