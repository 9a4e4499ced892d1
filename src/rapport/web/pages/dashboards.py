"""/dashboards: volume and sentiment over time per channel, response time
and talk/listen ratio per brand, the largest topics (analysis) and the
relationships at risk (relationships) — the same query functions as the API."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from rapport.analysis.queries import list_topics
from rapport.conversations.queries import channel_names
from rapport.relationships import queries as relationships
from rapport.reports import inbox_metrics
from rapport.reports.alerts import compute_alerts
from rapport.reports.filters import InsightFilter
from rapport.reports.html import chart_data, script_json
from rapport.reports.listening import share_of_voice
from rapport.reports.response import compute_response
from rapport.reports.social_sales import compute_social_to_sales
from rapport.reports.summary import ReportFilter, compute_report
from rapport.reports.talk_listen import talk_listen
from rapport.reports.timeseries import Bucket, SeriesRange, volume_over_time
from rapport.reports.trends import compute_trends
from rapport.web.deps import db_session
from rapport.web.security import Caller, page_requires
from rapport.web.templating import render

router = APIRouter(include_in_schema=False)
TOP_BRANDS = 12
TOP_TOPICS = 12
TOP_AT_RISK = 10
ALERTS_SHOWN = 30


def _day(value: date) -> datetime:
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def _work(session: Session, channel: str | None) -> dict[str, object]:
    """How the inbox is worked, per channel (the same functions as `rapport metrics`)."""
    flt = inbox_metrics.MetricsFilter(by="channel", channel=channel)
    return {
        "resolution": inbox_metrics.resolution_time(session, flt).groups,
        "reopen": inbox_metrics.reopen_rate(session, flt).groups,
        "pending": inbox_metrics.time_in_pending(session, flt).groups,
        "csat": inbox_metrics.csat(session, flt).groups,
    }


@router.get("/dashboards", response_class=HTMLResponse)
def dashboards_page(
    request: Request,
    since: date | None = Query(None),
    until: date | None = Query(None),
    bucket: Bucket = Query("day"),
    channel: str | None = Query(None, max_length=100),
    session: Session = Depends(db_session),
    caller: Caller = Depends(page_requires("reports.read")),
) -> HTMLResponse:
    channel = channel or None
    until_dt = _day(until) + timedelta(days=1) if until else None
    since_dt = _day(since) if since else None
    rng = SeriesRange(bucket=bucket, since=since_dt, until=until_dt, channel=channel)
    volume = volume_over_time(session, rng)
    report = compute_report(
        session, ReportFilter(since=volume.since, until=volume.until, channel=channel)
    )
    governance = talk_listen(
        session,
        ReportFilter(since=volume.since, until=volume.until, channel=channel),
        report=report,
    )
    brands = sorted(report.brands.items(), key=lambda kv: -(kv[1].inbound + kv[1].outbound))
    top = brands[:TOP_BRANDS]
    charts = {
        "volume": {
            "labels": [b.isoformat() for b in volume.buckets],
            "bucket": volume.bucket,
            "channels": [c.model_dump() for c in volume.channels],
        },
        "response": {
            "labels": [h for h, _ in top],
            "minutes": [
                round(b.median_response_seconds / 60, 1)
                if b.median_response_seconds is not None
                else None
                for _, b in top
            ],
        },
        "talk_listen": {
            "labels": [h for h, _ in top],
            "outbound": [b.outbound for _, b in top],
            "inbound": [b.inbound for _, b in top],
            "ratio": [b.talk_listen_ratio for _, b in top],
            "target": governance.target_outbound_share,
        },
    }
    topics = sorted(list_topics(session, examples=0), key=lambda t: (-t.size, t.scope, t.id))[
        :TOP_TOPICS
    ]
    if topics:
        charts["topics"] = {
            "labels": [f"{t.label} ({t.scope})" for t in topics],
            "sizes": [t.size for t in topics],
        }
    falling = relationships.at_risk_people(session, limit=TOP_AT_RISK)
    names = {
        p.id: p.display_name
        for p in relationships.summaries(
            session, [relationships.get_person(session, h.person_id) for h in falling]
        )
    }
    at_risk = [(h, names.get(h.person_id, str(h.person_id))) for h in falling]
    insight = InsightFilter(since=volume.since, until=volume.until, channel=channel)
    trends = compute_trends(session, insight, by=bucket)
    alerts = compute_alerts(session, since=volume.since, until=volume.until)
    sov = share_of_voice(session, insight, by=bucket)
    response = compute_response(
        session, ReportFilter(since=volume.since, until=volume.until, channel=channel)
    )
    trend_topics: dict[str, list[int]] = {}
    for b in trends.buckets:
        for t in b.top_topics:
            cell = trend_topics.setdefault(t.topic, [0, 0])
            cell[0] += t.messages
            cell[1] += t.negative
    query: dict[str, str] = {"bucket": bucket}
    if volume.since:
        query["since"] = volume.since.isoformat()
    if volume.until:
        query["until"] = volume.until.isoformat()
    if channel:
        query["channel"] = channel
    context = {
        "report": report,
        "brands": top,
        "volume": volume,
        "charts": charts,
        "sentiment_url": "/api/v1/reports/sentiment?" + urlencode(query),
        "form": {
            "since": (volume.since.date().isoformat() if volume.since else ""),
            "until": until.isoformat() if until else "",
            "bucket": bucket,
            "channel": channel or "",
        },
        "channels": channel_names(session),
        "talk_target": governance.target_outbound_share,
        "governance": governance,
        "work": _work(session, channel),
        "topics": topics,
        "at_risk": at_risk,
        "trends": trends,
        "alerts": alerts.alerts[-ALERTS_SHOWN:][::-1],
        "alerts_total": len(alerts.alerts),
        "sov": sov,
        "response_rows": [r for r in response.rows if r.group != "account"]
        + [r for r in response.rows if r.group == "account"][:TOP_BRANDS],
        "response_note": response.engagement,
        "top_topics": sorted(trend_topics.items(), key=lambda kv: -kv[1][0])[:10],
        "sales": compute_social_to_sales(session),
        "insights_json": script_json(chart_data(trends, alerts.alerts, sov)),
        "trend_csv_url": "/api/v1/insights/trends?"
        + urlencode(
            {"by": bucket, "format": "csv", **{k: v for k, v in query.items() if k != "bucket"}}
        ),
        "perception_url": "/api/v1/insights/perception-gap?"
        + urlencode({k: v for k, v in query.items() if k != "bucket"}),
    }
    return render(request, "dashboards.html", context, caller=caller)
