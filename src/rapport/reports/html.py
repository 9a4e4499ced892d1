"""The self-contained HTML report (`rapport report --html FILE`): every
insight on one page that opens from disk with no server and no network.

Figures come from the same query functions as the CLI, the API and the
dashboards (`build_document`); the charts are drawn by Chart.js and the
UI's insights script, whose sources the caller passes in (the CLI reads them
from the npm-installed front-end assets and the web UI's static folder) and
which are inlined into the file — nothing is fetched when it is viewed.
Without them the report still holds every table, and says so.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel
from sqlalchemy.orm import Session

from rapport.reports.alerts import Alert, AlertsResult, compute_alerts
from rapport.reports.filters import InsightFilter
from rapport.reports.listening import QueryPublic, ShareOfVoice, list_queries, share_of_voice
from rapport.reports.perception import PerceptionGap, compute_perception_gap
from rapport.reports.response import ResponseMetrics, compute_response
from rapport.reports.social_sales import SocialToSales, compute_social_to_sales
from rapport.reports.summary import Report, ReportFilter, compute_report
from rapport.reports.timeseries import Bucket
from rapport.reports.trends import Trends, compute_trends
from rapport.storage.base import utcnow

TEMPLATES = Path(__file__).parent / "templates"


class ReportDocument(BaseModel):
    generated_at: datetime
    filter: InsightFilter
    by: Bucket
    summary: Report
    trends: Trends
    alerts: AlertsResult
    queries: list[QueryPublic]
    share_of_voice: ShareOfVoice
    response: ResponseMetrics
    perception: PerceptionGap
    social_sales: SocialToSales


def build_document(
    session: Session, flt: InsightFilter | None = None, *, by: Bucket = "day"
) -> ReportDocument:
    flt = flt or InsightFilter()
    summary_filter = ReportFilter(since=flt.since, until=flt.until, channel=flt.channel)
    return ReportDocument(
        generated_at=utcnow(),
        filter=flt,
        by=by,
        summary=compute_report(session, summary_filter),
        trends=compute_trends(session, flt, by=by),
        alerts=compute_alerts(session, since=flt.since, until=flt.until),
        queries=list_queries(session),
        share_of_voice=share_of_voice(session, flt, by=by),
        response=compute_response(session, summary_filter),
        perception=compute_perception_gap(
            session, since=flt.since, until=flt.until, channel=flt.channel
        ),
        social_sales=compute_social_to_sales(session),
    )


def _alerts_per_bucket(trends: Trends, alerts: list[Alert]) -> list[int]:
    starts = [b.start for b in trends.buckets]
    counts = [0] * len(starts)
    for a in alerts:
        for i, start in enumerate(starts):
            end = starts[i + 1] if i + 1 < len(starts) else None
            if a.start < (end or a.end) and a.end > start:
                counts[i] += 1
    return counts


def chart_data(
    trends: Trends,
    alerts: list[Alert] | None = None,
    sov: ShareOfVoice | None = None,
    perception: PerceptionGap | None = None,
) -> dict[str, Any]:
    """What the insights charts draw (`static/insights.js`), for the
    dashboards and the HTML report alike."""
    data: dict[str, Any] = {
        "trend": {
            "by": trends.by,
            "labels": [b.start.isoformat() for b in trends.buckets],
            "messages": [b.messages for b in trends.buckets],
            "negative": [b.sentiment.negative for b in trends.buckets],
            "neutral": [b.sentiment.neutral for b in trends.buckets],
            "positive": [b.sentiment.positive for b in trends.buckets],
            "unanalysed": [b.messages - b.analysed for b in trends.buckets],
            "negative_share": [b.negative_share for b in trends.buckets],
            "alerts": _alerts_per_bucket(trends, alerts or []),
        }
    }
    if sov is not None:
        data["sov"] = {
            "by": sov.by,
            "labels": [b.isoformat() for b in sov.buckets],
            "series": [{"query": s.query, "kind": s.kind, "share": s.share} for s in sov.series],
        }
    if perception is not None:
        data["perception"] = {
            "labels": [g.label for g in perception.gap],
            "actual": [g.actual_share for g in perception.gap],
            "believed": [g.believed_share for g in perception.gap] if perception.believed else None,
        }
    return data


def script_json(value: Any) -> str:
    """JSON safe inside <script type="application/json">."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _inline_script(source: str) -> str:
    """A script's source, safe inside an inline <script> element."""
    return source.replace("</script", "<\\/script")


def render_html(doc: ReportDocument, *, scripts: list[str] | None = None) -> str:
    """The report as one HTML file; ``scripts`` (Chart.js, then the insights
    script) are inlined — without them the charts are left out."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda v: "—" if v is None else f"{v * 100:.1f} %"
    env.filters["num"] = lambda v: "—" if v is None else f"{v:,.0f}"
    env.filters["minutes"] = lambda v: "—" if v is None else f"{v / 60:.1f}"
    env.filters["when"] = lambda v, fmt="%Y-%m-%d %H:%M": "—" if v is None else v.strftime(fmt)
    charts = chart_data(doc.trends, doc.alerts.alerts, doc.share_of_voice, doc.perception)
    return env.get_template("report.html").render(
        doc=doc,
        charts_json=script_json(charts),
        scripts=[_inline_script(s) for s in (scripts or [])],
        with_charts=bool(scripts),
    )
