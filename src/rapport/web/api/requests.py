"""/api/v1/requests: what customers asked for on their preference pages."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel
from sqlalchemy.orm import Session

from rapport.preferences.queries import list_requests
from rapport.preferences.schemas import CustomerRequestPublic, CustomerRequestUpdate
from rapport.preferences.service import do_close_request, do_fulfil_request
from rapport.settings import get_settings
from rapport.storage.engine import session_scope
from rapport.storage.vacuum import do_vacuum
from rapport.web.api import AUTH_ERRORS, NOT_FOUND
from rapport.web.deps import db_session
from rapport.web.security import Caller, requires

router = APIRouter(prefix="/api/v1/requests", tags=["customer requests"], responses=AUTH_ERRORS)


class RequestList(BaseModel):
    items: list[CustomerRequestPublic]
    total: int


@router.get("", response_model=RequestList, dependencies=[Depends(requires("requests.read"))])
def customer_requests(
    status: Literal["open", "done", "rejected"] | None = Query(None),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=10_000_000),
    session: Session = Depends(db_session),
) -> RequestList:
    """Exports, erasures and preference changes customers asked for, newest first."""
    items, total = list_requests(session, status=status, limit=limit, offset=offset)
    return RequestList(items=items, total=total)


class Fulfilment(BaseModel):
    request: CustomerRequestPublic
    #: For an export: everything held on the person, to hand over.
    export: dict[str, Any] | None = None


@router.post("/{request_id}/fulfil", response_model=Fulfilment, responses=NOT_FOUND)
def fulfil_request(
    request_id: int = Path(..., ge=1, le=2**62),
    caller: Caller = Depends(requires("requests.write")),
) -> Fulfilment:
    """Carry out an open export or erasure request (relationships service)
    and close it; an erasure then vacuums the database so no trace stays."""
    with session_scope(write=True) as session:
        closed, document = do_fulfil_request(session, request_id, actor=caller.actor)
    if closed.kind == "erasure":
        do_vacuum(wait_seconds=get_settings().web_vacuum_wait_seconds)
    return Fulfilment(request=closed, export=document)


@router.patch("/{request_id}", response_model=CustomerRequestPublic, responses=NOT_FOUND)
def close_request(
    data: CustomerRequestUpdate,
    request_id: int = Path(..., ge=1, le=2**62),
    caller: Caller = Depends(requires("requests.write")),
) -> CustomerRequestPublic:
    """Mark a request done or rejected (a rejection needs a note)."""
    with session_scope(write=True) as session:
        return do_close_request(session, request_id, data, actor=caller.actor)
