"""The FastAPI application (`rapport serve`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

import rapport
from rapport.errors import NotFoundError, RapportError
from rapport.reports.summary import Report, ReportFilter, compute_report
from rapport.storage.engine import session_scope
from rapport.web import network as network_api
from rapport.web import webhooks

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def db_session() -> Iterator[Session]:
    with session_scope() as session:
        yield session


def create_app() -> FastAPI:
    from rapport import pipeline

    pipeline.install()
    app = FastAPI(
        title="Rapport",
        version=rapport.__version__,
        description="Social CRM: listen, understand, decide, respond, relate.",
    )

    app.include_router(webhooks.router)
    app.include_router(network_api.router)

    @app.exception_handler(NotFoundError)
    async def _not_found(_: Request, exc: NotFoundError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(RapportError)
    async def _refused(_: Request, exc: RapportError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.get("/healthz", tags=["meta"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/v1/reports/summary", response_model=Report, tags=["reports"])
    def report_summary(
        since: datetime | None = Query(None),
        until: datetime | None = Query(None),
        channel: str | None = Query(None),
        session: Session = Depends(db_session),
    ) -> Report:
        """The listening/engagement report of the contract."""
        return compute_report(session, ReportFilter(since=since, until=until, channel=channel))

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request, session: Session = Depends(db_session)) -> HTMLResponse:
        report = compute_report(session)
        brands = sorted(report.brands.items(), key=lambda kv: -(kv[1].inbound + kv[1].outbound))
        return TEMPLATES.TemplateResponse(
            request, "home.html", {"report": report, "brands": brands}
        )

    return app
