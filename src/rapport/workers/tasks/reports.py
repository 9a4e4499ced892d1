"""Reports: compute the report and write it as JSON (e.g. a nightly export)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from rapport.reports.summary import ReportFilter, compute_report
from rapport.storage.engine import session_scope
from rapport.workers.app import celery_app
from rapport.workers.base import RapportTask


def do_render_report_file(path: Path, flt: ReportFilter) -> dict[str, Any]:
    """The contract's report for ``flt``, written atomically to ``path``
    (idempotent: running it again rewrites the same file)."""
    with session_scope() as session:
        document = compute_report(session, flt).model_dump(mode="json")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)
    return {"path": str(path), "messages": document["messages"]}


@celery_app.task(bind=True, base=RapportTask, name="rapport.reports.render")
def render_report(
    self: RapportTask,
    path: str,
    since: str | None = None,
    until: str | None = None,
    channel: str | None = None,
) -> dict[str, Any]:
    flt = ReportFilter(
        since=datetime.fromisoformat(since) if since else None,
        until=datetime.fromisoformat(until) if until else None,
        channel=channel,
    )
    return do_render_report_file(Path(path), flt)
