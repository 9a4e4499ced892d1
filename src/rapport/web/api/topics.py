"""/api/v1/topics: the customers' jobs to be done, discovered per brand
account by the analysis domain (`rapport topics`), with their size,
sentiment mix and example messages."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy.orm import Session

from rapport.analysis.queries import list_topics, topic_scopes
from rapport.analysis.schemas import TopicPublic
from rapport.web.api import AUTH_ERRORS
from rapport.web.deps import db_session
from rapport.web.security import requires

router = APIRouter(prefix="/api/v1/topics", tags=["topics"], responses=AUTH_ERRORS)


class TopicList(BaseModel):
    #: The scopes that have topics (a brand account, or a channel).
    scopes: list[str]
    topics: list[TopicPublic]
    total: int


@router.get("", response_model=TopicList, dependencies=[Depends(requires("reports.read"))])
def get_topics(
    scope: str | None = Query(None, max_length=200, description="one scope, e.g. twitter:Delta"),
    examples: int = Query(3, ge=0, le=20),
    session: Session = Depends(db_session),
) -> TopicList:
    """Active topics, largest first within each scope."""
    topics = list_topics(session, scope=scope, examples=examples)
    return TopicList(scopes=topic_scopes(session), topics=topics, total=len(topics))
