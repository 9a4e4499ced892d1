"""/network and /knowledge: the customers' own network (communities,
influencers, brokers, advocates, peer helpers, knowledge flows) and the
knowledge base harvested from good answers."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from rapport.errors import RapportError
from rapport.knowledge.models import APPROVED, CANDIDATE
from rapport.knowledge.queries import list_entries, search
from rapport.knowledge.service import do_approve, do_reject
from rapport.network.errors import EmptyGraphError
from rapport.network.queries import network_report
from rapport.storage.engine import session_scope
from rapport.web.deps import db_session
from rapport.web.security import Caller, page_requires
from rapport.web.templating import render

router = APIRouter(include_in_schema=False)
TOP = 20
STATUSES = ("candidate", "approved", "rejected")


@router.get("/network", response_class=HTMLResponse)
def network_page(
    request: Request,
    session: Session = Depends(db_session),
    caller: Caller = Depends(page_requires("network.read")),
) -> HTMLResponse:
    try:
        report = network_report(session, top=TOP)
    except EmptyGraphError as exc:
        return render(request, "network.html", {"report": None, "empty": str(exc)}, caller=caller)
    chart = {
        "labels": [i["label"] for i in report["top_influencers"]],
        "scores": [i["score"] for i in report["top_influencers"]],
    }
    report.pop("nodes", None)
    report.pop("edges", None)
    return render(
        request, "network.html", {"report": report, "chart": chart, "empty": None}, caller=caller
    )


@router.get("/knowledge", response_class=HTMLResponse)
def knowledge_page(
    request: Request,
    q: str = Query("", max_length=500),
    status: str = Query("candidate", max_length=20),
    session: Session = Depends(db_session),
    caller: Caller = Depends(page_requires("knowledge.read")),
) -> HTMLResponse:
    status = status if status in STATUSES else "candidate"
    results = search(session, q, limit=10, statuses=(APPROVED, CANDIDATE)) if q.strip() else []
    entries, counts = list_entries(session, status=status, limit=50)
    return render(
        request,
        "knowledge.html",
        {"q": q, "results": results, "entries": entries, "counts": counts, "status": status},
        caller=caller,
    )


@router.post("/knowledge/{entry_id}/review", response_class=HTMLResponse)
def review_entry(
    request: Request,
    entry_id: int = Path(..., ge=1, le=2**62),
    decision: str = Form(..., pattern="^(approve|reject)$"),
    note: str = Form("", max_length=500),
    caller: Caller = Depends(page_requires("knowledge.write")),
) -> Response:
    review = do_approve if decision == "approve" else do_reject
    try:
        with session_scope(write=True) as session:
            review(session, [entry_id], actor=caller.actor, note=note or None)
    except RapportError as exc:
        return render(
            request,
            "error.html",
            {"status": 422, "message": str(exc)},
            caller=caller,
            status_code=422,
        )
    return RedirectResponse("/knowledge", status_code=303)
