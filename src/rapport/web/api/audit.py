"""/api/v1/audit: the audit trail (admins only)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy.orm import Session

from rapport.audit.service import AuditEventPublic, list_events
from rapport.web.api import AUTH_ERRORS
from rapport.web.deps import db_session
from rapport.web.security import requires

router = APIRouter(prefix="/api/v1/audit", tags=["audit"], responses=AUTH_ERRORS)


class AuditList(BaseModel):
    events: list[AuditEventPublic]
    total: int


@router.get("", response_model=AuditList, dependencies=[Depends(requires("audit.read"))])
def audit_events(
    action: str | None = Query(None, max_length=100, description="e.g. users.create or users.*"),
    subject_type: str | None = Query(None, max_length=50),
    subject_id: str | None = Query(None, max_length=100),
    actor: str | None = Query(None, max_length=255),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=10_000_000),
    session: Session = Depends(db_session),
) -> AuditList:
    """Who did what to which record, newest first."""
    events, total = list_events(
        session,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        actor=actor,
        limit=limit,
        offset=offset,
    )
    return AuditList(events=events, total=total)
