"""/api/v1/reports: the contract report and the dashboards' series."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from rapport.reports.summary import Report, ReportFilter, compute_report
from rapport.reports.timeseries import (
    Bucket,
    SentimentSeries,
    SeriesRange,
    VolumeSeries,
    sentiment_over_time,
    volume_over_time,
)
from rapport.web.api import AUTH_ERRORS, BAD_INPUT
from rapport.web.deps import db_session
from rapport.web.security import requires

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])


def as_utc(value: datetime | None) -> datetime | None:
    """A query datetime without an offset is read as UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def series_range(
    bucket: Bucket = Query("day", description="hour, day or week (UTC; weeks start Monday)"),
    since: datetime | None = Query(
        None, description="From (inclusive); default: 60 days before the last message"
    ),
    until: datetime | None = Query(None, description="To (exclusive)"),
    channel: str | None = Query(None, max_length=100),
) -> SeriesRange:
    return SeriesRange(bucket=bucket, since=as_utc(since), until=as_utc(until), channel=channel)


@router.get("/summary", response_model=Report, responses=BAD_INPUT)
def report_summary(
    since: datetime | None = Query(None),
    until: datetime | None = Query(None),
    channel: str | None = Query(None),
    session: Session = Depends(db_session),
) -> Report:
    """The listening/engagement report of the contract (public: aggregate
    counts per brand account, nothing about any person)."""
    return compute_report(
        session, ReportFilter(since=as_utc(since), until=as_utc(until), channel=channel)
    )


@router.get(
    "/volume",
    response_model=VolumeSeries,
    responses=AUTH_ERRORS,
    dependencies=[Depends(requires("reports.read"))],
)
def report_volume(
    rng: SeriesRange = Depends(series_range), session: Session = Depends(db_session)
) -> VolumeSeries:
    """Messages per bucket and channel, inbound and outbound."""
    return volume_over_time(session, rng)


@router.get(
    "/sentiment",
    response_model=SentimentSeries,
    responses=AUTH_ERRORS,
    dependencies=[Depends(requires("reports.read"))],
)
def report_sentiment(
    rng: SeriesRange = Depends(series_range), session: Session = Depends(db_session)
) -> SentimentSeries:
    """Inbound sentiment per bucket and channel, from the stored analysis."""
    return sentiment_over_time(session, rng)
