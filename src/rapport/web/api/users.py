"""/api/v1/users: the company's users and their roles (admins only)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from rapport.storage.engine import session_scope
from rapport.users import service
from rapport.users.schemas import UserCreate, UserPublic, UserUpdate
from rapport.web.api import AUTH_ERRORS, NOT_FOUND
from rapport.web.deps import db_session
from rapport.web.security import Caller, requires

router = APIRouter(prefix="/api/v1/users", tags=["users"], responses=AUTH_ERRORS)

UserId = Path(..., ge=1, le=2**62)


class UserList(BaseModel):
    users: list[UserPublic]


class PasswordChange(BaseModel):
    password: str = Field(..., min_length=1, max_length=1000)


@router.get("", response_model=UserList, dependencies=[Depends(requires("users.read"))])
def list_users(session: Session = Depends(db_session)) -> UserList:
    """Every user with role and state."""
    return UserList(users=service.list_users(session))


@router.post("", response_model=UserPublic, status_code=201)
def create_user(data: UserCreate, caller: Caller = Depends(requires("users.write"))) -> UserPublic:
    """Create a user with a role (agent, manager, analyst, admin)."""
    with session_scope(write=True) as session:
        return service.do_create_user(session, data, actor=caller.actor)


@router.get(
    "/{user_id}",
    response_model=UserPublic,
    responses=NOT_FOUND,
    dependencies=[Depends(requires("users.read"))],
)
def get_user(user_id: int = UserId, session: Session = Depends(db_session)) -> UserPublic:
    return UserPublic.model_validate(service.get_user(session, user_id))


@router.patch("/{user_id}", response_model=UserPublic, responses=NOT_FOUND)
def update_user(
    data: UserUpdate, user_id: int = UserId, caller: Caller = Depends(requires("users.write"))
) -> UserPublic:
    """Change role, name, team, or disable/enable."""
    with session_scope(write=True) as session:
        return service.do_update_user(session, user_id, data, actor=caller.actor)


@router.put("/{user_id}/password", status_code=204, responses=NOT_FOUND)
def set_password(
    data: PasswordChange, user_id: int = UserId, caller: Caller = Depends(requires("users.write"))
) -> None:
    """Set a user's password (ends their existing logins)."""
    with session_scope(write=True) as session:
        service.do_set_password(session, user_id, data.password, actor=caller.actor)
