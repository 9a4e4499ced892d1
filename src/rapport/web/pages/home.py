"""/: the listening report at a glance (public: aggregate figures only)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from rapport.reports.summary import compute_report
from rapport.web.deps import db_session
from rapport.web.security import Caller, current_caller
from rapport.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(
    request: Request,
    session: Session = Depends(db_session),
    caller: Caller | None = Depends(current_caller),
) -> HTMLResponse:
    report = compute_report(session)
    brands = sorted(report.brands.items(), key=lambda kv: -(kv[1].inbound + kv[1].outbound))
    return render(request, "home.html", {"report": report, "brands": brands}, caller=caller)
