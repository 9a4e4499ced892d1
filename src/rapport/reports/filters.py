"""The filter every insight takes (range, channel, brand, topic, listening
query), resolved once against the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from rapport.conversations.models import Channel
from rapport.reports.buckets import floor_hour, normalise_brand
from rapport.reports.errors import QueryNotFound
from rapport.reports.models import ALL_MESSAGES, ListeningQuery

HOUR = timedelta(hours=1)


class InsightFilter(BaseModel):
    """Which messages an insight looks at. Buckets hold whole UTC hours, so
    `since` is rounded down and `until` (exclusive) up to the hour."""

    since: datetime | None = None
    until: datetime | None = None
    channel: str | None = Field(None, max_length=100)
    brand: str | None = Field(None, max_length=255)
    topic: str | None = Field(None, max_length=300)
    #: A listening query's name.
    query: str | None = Field(None, max_length=100)


@dataclass(frozen=True)
class Resolved:
    """A filter with names turned into ids; ``empty`` when it can match nothing
    (an unknown channel): the insight is then empty, not an error."""

    since: datetime | None
    until: datetime | None
    channel_id: int | None
    brand: str | None
    topic: str | None
    query_id: int
    empty: bool = False

    def where(self, table: Any) -> list[Any]:
        """Conditions on a bucket table (`insight_bucket`, `insight_topic_bucket`)."""
        conds: list[Any] = [table.query_id == self.query_id]
        if self.since is not None:
            conds.append(table.hour >= self.since)
        if self.until is not None:
            conds.append(table.hour < self.until)
        if self.channel_id is not None:
            conds.append(table.channel_id == self.channel_id)
        if self.brand is not None:
            conds.append(table.brand == self.brand)
        if self.topic is not None and hasattr(table, "topic"):
            conds.append(table.topic == self.topic)
        return conds


def ceil_hour(when: datetime) -> datetime:
    floor = floor_hour(when)
    if floor == when:
        return floor
    try:
        return floor + HOUR
    except OverflowError:  # the last hour of year 9999: nothing is later anyway
        return floor


def resolve(session: Session, flt: InsightFilter) -> Resolved:
    since = floor_hour(flt.since) if flt.since is not None else None
    until = ceil_hour(flt.until) if flt.until is not None else None
    empty = since is not None and until is not None and until <= since
    channel_id = None
    if flt.channel:
        channel_id = session.execute(
            select(Channel.id).where(Channel.name == flt.channel)
        ).scalar_one_or_none()
        empty = empty or channel_id is None
    query_id = ALL_MESSAGES
    if flt.query:
        found = session.execute(
            select(ListeningQuery.id).where(ListeningQuery.name == flt.query)
        ).scalar_one_or_none()
        if found is None:
            raise QueryNotFound(
                f"no listening query named {flt.query!r} (see `rapport listen list`)"
            )
        query_id = int(found)
    return Resolved(
        since=since,
        until=until,
        channel_id=channel_id,
        brand=normalise_brand(flt.brand) if flt.brand else None,
        topic=flt.topic or None,
        query_id=query_id,
        empty=empty,
    )
