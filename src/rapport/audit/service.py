"""Recording and reading the audit trail."""

from __future__ import annotations

import getpass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from rapport.audit.models import AuditEvent


class AuditEventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    action: str
    subject_type: str | None
    subject_id: str | None
    details: dict[str, Any]


def cli_actor() -> str:
    """The actor for commands run from a shell: `cli:<os user>`."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def do_record(
    session: Session,
    actor: str,
    action: str,
    *,
    subject_type: str | None = None,
    subject_id: object | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add one audit event in the caller's transaction (it commits or rolls
    back together with the action it describes)."""
    event = AuditEvent(
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=None if subject_id is None else str(subject_id),
        details=details or {},
    )
    session.add(event)
    session.flush()
    return event


def list_events(
    session: Session,
    *,
    action: str | None = None,
    subject_type: str | None = None,
    subject_id: object | None = None,
    actor: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[AuditEventPublic], int]:
    """Events, newest first, and how many match."""
    where: list[ColumnElement[bool]] = []
    if action:
        # `*` is the only wildcard: LIKE's own `%`, `_` and the escape are literal.
        literal = action.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(AuditEvent.action.like(literal.replace("*", "%"), escape="\\"))
    if subject_type:
        where.append(AuditEvent.subject_type == subject_type)
    if subject_id is not None:
        where.append(AuditEvent.subject_id == str(subject_id))
    if actor:
        where.append(AuditEvent.actor == actor)
    rows = session.execute(
        select(AuditEvent)
        .where(*where)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
        .offset(offset)
    ).scalars()
    total = session.execute(select(func.count()).select_from(AuditEvent).where(*where)).scalar_one()
    return [AuditEventPublic.model_validate(r) for r in rows], int(total)
