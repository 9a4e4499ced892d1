"""API of the insights: `/api/v1/insights/...` (trends, alerts, share of
voice, response metrics, perception gap, social to sales, the believed
ranking), `/api/v1/listening/queries` and `/api/v1/alerts/rules`. The same
query functions as the CLI, the dashboards and the HTML report. Every read
answers `?format=csv` too (`&table=NAME` for a report's other tables)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.orm import Session

from rapport.reports import listening, perception, response, service, social_sales
from rapport.reports.alerts import (
    AlertsResult,
    RuleSpec,
    alerts_tables,
    compute_alerts,
    effective_rules,
    rules_table,
)
from rapport.reports.csvexport import CsvTable, pick, to_csv
from rapport.reports.errors import InsightsError
from rapport.reports.filters import InsightFilter
from rapport.reports.summary import ReportFilter
from rapport.reports.timeseries import Bucket
from rapport.reports.trends import Trends, compute_trends, trends_tables
from rapport.storage.engine import session_scope
from rapport.web.api import AUTH_ERRORS, NOT_FOUND
from rapport.web.api.reports import as_utc
from rapport.web.deps import db_session
from rapport.web.security import Caller, requires

router = APIRouter(tags=["insights"], responses=AUTH_ERRORS)
READ = [Depends(requires("insights.read"))]
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with ?format=csv"}
}
Format = Literal["json", "csv"]
FORMAT = Query("json", description="json, or csv for the report's table")
TABLE = Query(None, max_length=50, description="With format=csv: which table (default the first)")
NAME = Path(..., min_length=1, max_length=100)


def _csv(tables: list[CsvTable], table: str | None, name: str) -> Response:
    chosen = pick(tables, table)
    return Response(
        to_csv(chosen),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="rapport-{name}-{chosen.name}.csv"'},
    )


def insight_filter(
    since: datetime | None = Query(None, description="From (inclusive; rounded down to the hour)"),
    until: datetime | None = Query(None, description="To (exclusive; rounded up to the hour)"),
    channel: str | None = Query(None, max_length=100),
    brand: str | None = Query(None, max_length=255),
    topic: str | None = Query(None, max_length=300),
    query: str | None = Query(None, max_length=100, description="A listening query's name"),
) -> InsightFilter:
    return InsightFilter(
        since=as_utc(since),
        until=as_utc(until),
        channel=channel,
        brand=brand,
        topic=topic,
        query=query,
    )


# ----------------------------------------------------------------- insights


@router.get(
    "/api/v1/insights/trends",
    dependencies=READ,
    response_model=Trends,
    responses={**CSV_RESPONSE, **NOT_FOUND},
)
def get_trends(
    by: Bucket = Query("day"),
    top: int = Query(5, ge=0, le=50, description="Top topics per bucket"),
    flt: InsightFilter = Depends(insight_filter),
    format: Format = FORMAT,
    table: str | None = TABLE,
    session: Session = Depends(db_session),
) -> Any:
    """Volume, sentiment mix and top topics per bucket (`rapport insights trends`)."""
    result = compute_trends(session, flt, by=by, top_topics=top)
    return _csv(trends_tables(result), table, "trends") if format == "csv" else result


@router.get(
    "/api/v1/insights/alerts",
    dependencies=READ,
    response_model=AlertsResult,
    responses=CSV_RESPONSE,
)
def get_alerts(
    since: datetime | None = Query(None),
    until: datetime | None = Query(None),
    format: Format = FORMAT,
    table: str | None = TABLE,
    session: Session = Depends(db_session),
) -> Any:
    """Spike alerts with reasons and example messages (`rapport alerts`)."""
    result = compute_alerts(session, since=as_utc(since), until=as_utc(until))
    return _csv(alerts_tables(result), table, "alerts") if format == "csv" else result


@router.get(
    "/api/v1/insights/share-of-voice",
    dependencies=READ,
    response_model=listening.ShareOfVoice,
    responses=CSV_RESPONSE,
)
def get_share_of_voice(
    by: Bucket = Query("day"),
    flt: InsightFilter = Depends(insight_filter),
    format: Format = FORMAT,
    table: str | None = TABLE,
    session: Session = Depends(db_session),
) -> Any:
    """Share of voice between brand and competitor listening queries."""
    result = listening.share_of_voice(session, flt, by=by)
    return (
        _csv(listening.share_tables(result), table, "share-of-voice") if format == "csv" else result
    )


@router.get(
    "/api/v1/insights/response",
    dependencies=READ,
    response_model=response.ResponseMetrics,
    responses=CSV_RESPONSE,
)
def get_response(
    since: datetime | None = Query(None),
    until: datetime | None = Query(None),
    channel: str | None = Query(None, max_length=100),
    format: Format = FORMAT,
    table: str | None = TABLE,
    session: Session = Depends(db_session),
) -> Any:
    """First response time, coverage and talk/listen ratio per channel and account."""
    flt = ReportFilter(since=as_utc(since), until=as_utc(until), channel=channel)
    result = response.compute_response(session, flt)
    return _csv(response.response_tables(result), table, "response") if format == "csv" else result


@router.get(
    "/api/v1/insights/perception-gap",
    dependencies=READ,
    response_model=perception.PerceptionGap,
    responses=CSV_RESPONSE,
)
def get_perception_gap(
    since: datetime | None = Query(None),
    until: datetime | None = Query(None),
    channel: str | None = Query(None, max_length=100),
    examples: int = Query(5, ge=0, le=50),
    format: Format = FORMAT,
    table: str | None = TABLE,
    session: Session = Depends(db_session),
) -> Any:
    """Why customers engage against why the company believes they do."""
    result = perception.compute_perception_gap(
        session, since=as_utc(since), until=as_utc(until), channel=channel, examples=examples
    )
    if format == "csv":
        return _csv(perception.perception_tables(result), table, "perception-gap")
    return result


class BeliefIn(BaseModel):
    """Reasons, most important first (a subset of the six)."""

    ranking: list[str] = Field(min_length=1, max_length=6)


@router.put("/api/v1/insights/belief", response_model=perception.Belief)
def put_belief(
    body: BeliefIn = Body(...),
    caller: Caller = Depends(requires("insights.belief")),
) -> perception.Belief:
    """Record why the company believes customers engage (managers)."""
    with session_scope(write=True) as session:
        service.do_set_belief(session, body.ranking, actor=caller.actor)
        belief = perception.stored_belief(session)
    assert belief is not None
    return belief


@router.get(
    "/api/v1/insights/social-sales",
    dependencies=READ,
    response_model=social_sales.SocialToSales,
    responses=CSV_RESPONSE,
)
def get_social_sales(
    window_days: int = Query(90, ge=1, le=3650),
    format: Format = FORMAT,
    table: str | None = TABLE,
    session: Session = Depends(db_session),
) -> Any:
    """Engaged vs other customers, revenue after resolved vs unresolved complaints
    (correlation, not cause)."""
    result = social_sales.compute_social_to_sales(session, window_days=window_days)
    if format == "csv":
        return _csv(social_sales.social_sales_tables(result), table, "social-sales")
    return result


# ----------------------------------------------------------------- listening


class QueryList(BaseModel):
    queries: list[listening.QueryPublic]


@router.get(
    "/api/v1/listening/queries",
    dependencies=READ,
    response_model=QueryList,
    responses=CSV_RESPONSE,
)
def get_queries(format: Format = FORMAT, session: Session = Depends(db_session)) -> Any:
    """Saved listening queries and their match counts."""
    found = listening.list_queries(session)
    return (
        _csv([listening.queries_table(found)], None, "listening")
        if format == "csv"
        else QueryList(queries=found)
    )


@router.post("/api/v1/listening/queries", response_model=listening.QueryPublic, status_code=201)
def post_query(
    body: listening.QueryCreate = Body(...),
    caller: Caller = Depends(requires("listening.write")),
) -> listening.QueryPublic:
    """Save a listening query and tag every stored message it matches (an invalid
    query is refused with 422 and the position of the error)."""
    with session_scope(write=True) as session:
        return listening.do_add_query(session, body, actor=caller.actor)


@router.get(
    "/api/v1/listening/queries/{name}",
    dependencies=READ,
    response_model=listening.ListenRun,
    responses={**CSV_RESPONSE, **NOT_FOUND},
)
def get_query_run(
    name: str = NAME,
    by: Bucket = Query("day"),
    since: datetime | None = Query(None),
    until: datetime | None = Query(None),
    channel: str | None = Query(None, max_length=100),
    limit: int = Query(20, ge=0, le=500),
    format: Format = FORMAT,
    table: str | None = TABLE,
    session: Session = Depends(db_session),
) -> Any:
    """A query's trend and newest matches, with the terms that matched (`listen run`)."""
    flt = InsightFilter(since=as_utc(since), until=as_utc(until), channel=channel)
    run = listening.run_query(session, name, flt, by=by, examples=limit)
    return _csv(listening.run_tables(run), table, f"listen-{name}") if format == "csv" else run


@router.delete("/api/v1/listening/queries/{name}", status_code=204, responses=NOT_FOUND)
def delete_query(
    name: str = NAME, caller: Caller = Depends(requires("listening.write"))
) -> Response:
    """Remove a listening query and its tags."""
    with session_scope(write=True) as session:
        listening.do_remove_query(session, name, actor=caller.actor)
    return Response(status_code=204)


# ----------------------------------------------------------------- alert rules


class RuleList(BaseModel):
    rules: list[RuleSpec]


@router.get(
    "/api/v1/alerts/rules", dependencies=READ, response_model=RuleList, responses=CSV_RESPONSE
)
def get_rules(format: Format = FORMAT, session: Session = Depends(db_session)) -> Any:
    """The alert rules in force (defaults and stored ones)."""
    rules = effective_rules(session)
    return (
        _csv([rules_table(rules)], None, "alert-rules")
        if format == "csv"
        else RuleList(rules=rules)
    )


class RuleIn(BaseModel):
    kind: Literal["volume", "negative", "velocity"]
    scope: str = Field("all", max_length=400)
    bucket: Literal["hour", "day"] = "hour"
    baseline_days: int = Field(7, ge=1, le=90)
    threshold: float = Field(5.0, gt=0, le=1000)
    min_count: int = Field(20, ge=1, le=10_000_000)
    notify_channel: str | None = Field(None, max_length=100)
    notify_to: str | None = Field(None, max_length=255)
    enabled: bool = True


@router.put("/api/v1/alerts/rules/{name}", response_model=RuleSpec, responses=NOT_FOUND)
def put_rule(
    name: str = Path(..., pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"),
    body: RuleIn = Body(...),
    caller: Caller = Depends(requires("alerts.write")),
) -> RuleSpec:
    """Create or replace an alert rule (a default's name overrides that default)."""
    try:
        spec = RuleSpec(name=name, **body.model_dump())
    except ValidationError as exc:
        raise InsightsError(f"rule {name!r}: {exc.errors()[0]['msg']}") from None
    with session_scope(write=True) as session:
        return service.do_set_rule(session, spec, actor=caller.actor)


@router.delete("/api/v1/alerts/rules/{name}", status_code=204, responses=NOT_FOUND)
def delete_rule(name: str = NAME, caller: Caller = Depends(requires("alerts.write"))) -> Response:
    """Remove a stored alert rule."""
    with session_scope(write=True) as session:
        service.do_remove_rule(session, name, actor=caller.actor)
    return Response(status_code=204)
