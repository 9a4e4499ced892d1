"""Read API of the network and knowledge domains:
`GET /api/v1/network`, `GET /api/v1/network/export`, `GET /api/v1/kb/search`,
`GET /api/v1/kb/entries`. The same query functions as the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from rapport.knowledge.models import APPROVED, CANDIDATE
from rapport.knowledge.queries import list_entries, search
from rapport.network.export import export_graph
from rapport.network.queries import network_report
from rapport.storage.engine import session_scope

router = APIRouter(tags=["network", "knowledge"])

MEDIA = {"graphml": "application/graphml+xml", "gexf": "application/gexf+xml"}


def _session() -> Iterator[Session]:
    with session_scope() as session:
        yield session


@router.get("/api/v1/network")
def get_network(
    top: int = Query(20, ge=1, le=500), session: Session = Depends(_session)
) -> dict[str, Any]:
    """The analysed conversation graph (what `rapport network --json` prints)."""
    return network_report(session, top=top)


@router.get("/api/v1/network/export")
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


@router.get("/api/v1/kb/search")
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


@router.get("/api/v1/kb/entries")
def get_kb_entries(
    status: str | None = Query(None),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
    session: Session = Depends(_session),
) -> dict[str, Any]:
    entries, counts = list_entries(session, status=status, limit=limit, offset=offset)
    return {"entries": [e.model_dump(mode="json") for e in entries], "counts": counts}
