"""API of the network and knowledge domains: `GET /api/v1/network`,
`GET /api/v1/network/export`, `GET /api/v1/kb/search`, `GET /api/v1/kb/entries`,
and reviewing harvested answers (`POST /api/v1/kb/entries/{id}/approve|reject`).
The same query functions as the CLI."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from rapport.knowledge.models import APPROVED, CANDIDATE
from rapport.knowledge.queries import list_entries, search
from rapport.knowledge.schemas import EntryPublic
from rapport.knowledge.service import do_approve, do_reject
from rapport.network.export import export_graph
from rapport.network.queries import network_report
from rapport.storage.engine import session_scope
from rapport.web.api import AUTH_ERRORS, NOT_FOUND
from rapport.web.deps import db_session as _session
from rapport.web.security import Caller, requires

router = APIRouter(tags=["network", "knowledge"], responses=AUTH_ERRORS)

MEDIA = {"graphml": "application/graphml+xml", "gexf": "application/gexf+xml"}
READ_NETWORK = [Depends(requires("network.read"))]
READ_KB = [Depends(requires("knowledge.read"))]


class Review(BaseModel):
    note: str | None = Field(default=None, max_length=500)


@router.get("/api/v1/network", dependencies=READ_NETWORK)
def get_network(
    top: int = Query(20, ge=1, le=500), session: Session = Depends(_session)
) -> dict[str, Any]:
    """The analysed conversation graph (what `rapport network --json` prints)."""
    return network_report(session, top=top)


@router.get(
    "/api/v1/network/export",
    dependencies=READ_NETWORK,
    responses={200: {"content": {m: {} for m in MEDIA.values()}}},
)
def get_network_export(
    format: str = Query("graphml", pattern="^(graphml|gexf)$"),
    session: Session = Depends(_session),
) -> Response:
    """The graph for Gephi."""
    data = export_graph(network_report(session), format)
    return Response(
        data,
        media_type=MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="rapport-network.{format}"'},
    )


@router.get("/api/v1/kb/search", dependencies=READ_KB)
def get_kb_search(
    q: str = Query(..., min_length=1),
    limit: int = Query(5, ge=1, le=100),
    approved_only: bool = Query(False),
    session: Session = Depends(_session),
) -> dict[str, Any]:
    """Knowledge-base entries answering ``q`` (what `rapport kb search --json` prints)."""
    statuses = (APPROVED,) if approved_only else (APPROVED, CANDIDATE)
    results = search(session, q, limit=limit, statuses=statuses)
    return {"query": q, "results": [r.model_dump(mode="json") for r in results]}


@router.get("/api/v1/kb/entries", dependencies=READ_KB)
def get_kb_entries(
    status: str | None = Query(None),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=10_000_000),
    session: Session = Depends(_session),
) -> dict[str, Any]:
    entries, counts = list_entries(session, status=status, limit=limit, offset=offset)
    return {"entries": [e.model_dump(mode="json") for e in entries], "counts": counts}


@router.post(
    "/api/v1/kb/entries/{entry_id}/approve", response_model=EntryPublic, responses=NOT_FOUND
)
def approve_entry(
    review: Review,
    entry_id: int = Path(..., ge=1, le=2**62),
    caller: Caller = Depends(requires("knowledge.write")),
) -> EntryPublic:
    """Approve a harvested answer: it feeds suggested answers."""
    with session_scope(write=True) as session:
        return do_approve(session, [entry_id], actor=caller.actor, note=review.note)[0]


@router.post(
    "/api/v1/kb/entries/{entry_id}/reject", response_model=EntryPublic, responses=NOT_FOUND
)
def reject_entry(
    review: Review,
    entry_id: int = Path(..., ge=1, le=2**62),
    caller: Caller = Depends(requires("knowledge.write")),
) -> EntryPublic:
    """Reject a harvested answer: kept, so re-harvesting does not bring it back."""
    with session_scope(write=True) as session:
        return do_reject(session, [entry_id], actor=caller.actor, note=review.note)[0]
