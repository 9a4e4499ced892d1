"""/api/v1/channels: live connectors (health, add, remove, enable, poll).

The webhook intake (`POST /api/v1/channels/{name}/webhook`) is the channels
domain's own router (`rapport.web.webhooks`): public, signature-checked."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Response
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel
from sqlalchemy.orm import Session

from rapport.audit.service import do_record
from rapport.channels import queries, registry, service
from rapport.channels.schemas import ChannelCreate, ChannelPublic, PollResult
from rapport.storage.engine import session_scope
from rapport.web.api import AUTH_ERRORS, NOT_FOUND
from rapport.web.deps import db_session
from rapport.web.security import Caller, requires

router = APIRouter(prefix="/api/v1", tags=["channels"], responses=AUTH_ERRORS)
ChannelName = Path(..., min_length=1, max_length=100)


class ChannelList(BaseModel):
    channels: list[ChannelPublic]


class ConnectorKinds(BaseModel):
    #: Each kind with what it does and its options (required, secret, default, help).
    kinds: list[dict[str, Any]]


class ChannelUpdate(BaseModel):
    enabled: bool


@router.get(
    "/channels", response_model=ChannelList, dependencies=[Depends(requires("channels.read"))]
)
def list_channels(session: Session = Depends(db_session)) -> ChannelList:
    """Every channel: live connectors with their health, and imported history."""
    return ChannelList(channels=queries.list_channels(session))


@router.get(
    "/channel-kinds",
    response_model=ConnectorKinds,
    dependencies=[Depends(requires("channels.read"))],
)
def connector_kinds() -> ConnectorKinds:
    """The connector types and their options."""
    return ConnectorKinds(kinds=jsonable_encoder([t.describe() for t in registry.all_types()]))


@router.get(
    "/channels/{name}",
    response_model=ChannelPublic,
    responses=NOT_FOUND,
    dependencies=[Depends(requires("channels.read"))],
)
def get_channel(name: str = ChannelName, session: Session = Depends(db_session)) -> ChannelPublic:
    """One channel: configuration (secrets named, never shown) and health."""
    return queries.get_channel(session, name)


@router.post("/channels", response_model=ChannelPublic, status_code=201)
def add_channel(
    data: ChannelCreate, caller: Caller = Depends(requires("channels.write"))
) -> ChannelPublic:
    """Configure a live connector (secrets are encrypted before storage)."""
    with session_scope(write=True) as session:
        return service.do_add_channel(session, data, actor=caller.actor)


@router.patch("/channels/{name}", response_model=ChannelPublic, responses=NOT_FOUND)
def update_channel(
    data: ChannelUpdate,
    name: str = ChannelName,
    caller: Caller = Depends(requires("channels.write")),
) -> ChannelPublic:
    """Enable or disable a live channel."""
    with session_scope(write=True) as session:
        service.do_set_enabled(session, name, data.enabled, actor=caller.actor)
        return queries.get_channel(session, name)


@router.delete("/channels/{name}", status_code=204, responses=NOT_FOUND)
def remove_channel(
    name: str = ChannelName, caller: Caller = Depends(requires("channels.write"))
) -> Response:
    """Remove the connector; the channel's messages stay, as history."""
    with session_scope(write=True) as session:
        service.do_remove_channel(session, name, actor=caller.actor)
    return Response(status_code=204)


@router.post("/channels/{name}/poll", response_model=PollResult, responses=NOT_FOUND)
def poll_channel(
    name: str = ChannelName, caller: Caller = Depends(requires("channels.poll"))
) -> PollResult:
    """Fetch what is new now (even while backing off); a platform's failure
    is in the result's `error`, not an HTTP error."""
    result = service.do_poll_channel(name, force=True)
    with session_scope(write=True) as session:
        do_record(
            session,
            caller.actor,
            "channels.poll",
            subject_type="channel",
            subject_id=name,
            details=result.contract(),
        )
    return result
