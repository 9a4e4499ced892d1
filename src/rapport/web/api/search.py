"""`GET /api/v1/search`: full-text search over messages and internal notes,
the same service and JSON as `rapport search --json`."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from rapport.conversations.errors import QueryError
from rapport.conversations.schemas import SearchResultsPublic
from rapport.conversations.search import SearchFilters, search_messages
from rapport.web.api import AUTH_ERRORS, NOT_FOUND
from rapport.web.deps import db_session
from rapport.web.security import requires

router = APIRouter(prefix="/api/v1", responses=AUTH_ERRORS)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def search_filters(
    channel: str | None,
    since: datetime | None,
    until: datetime | None,
    status: str | None,
    label: str | None,
) -> SearchFilters:
    asked = (("status", status), ("label", label))
    return SearchFilters(
        channel=channel or None,
        since=_utc(since),
        until=_utc(until),
        threads=tuple((name, value) for name, value in asked if value),
    )


@router.get(
    "/search",
    response_model=SearchResultsPublic,
    responses=NOT_FOUND,
    tags=["search"],
    dependencies=[Depends(requires("search.read"))],
)
def get_search(
    q: str = Query(..., min_length=1, max_length=2000, description="The query (see README)."),
    channel: str | None = Query(None, max_length=100),
    since: datetime | None = Query(None, description="From (ISO 8601, UTC if no offset)."),
    until: datetime | None = Query(None, description="Up to, excluded."),
    status: str | None = Query(
        None, max_length=40, description="Thread status: open, pending, snoozed or resolved."
    ),
    label: str | None = Query(
        None, max_length=100, description="Thread label (an unknown label answers 404)."
    ),
    limit: int = Query(20, ge=1, le=200),
    offset: int = Query(0, ge=0, le=10_000),
    session: Session = Depends(db_session),
) -> SearchResultsPublic | JSONResponse:
    """Messages and internal notes (``kind`` ``note``, ``message_id`` null)
    matching ``q`` (words, "phrases", prefix*, AND/OR/NOT, parentheses), best
    first, with highlighted snippets. A malformed query answers 422 with the
    1-based ``position`` of the error; an unknown status 422, an unknown
    label or channel 404."""
    filters = search_filters(channel, since, until, status, label)
    try:
        page = search_messages(session, q, filters, limit=limit, offset=offset)
    except QueryError as exc:
        return JSONResponse({"detail": str(exc), "position": exc.position}, status_code=422)
    return SearchResultsPublic.from_page(page)
