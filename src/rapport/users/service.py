"""The users service: creating, changing and authenticating users."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rapport.audit.service import do_record
from rapport.users.errors import UserError, UserNotFound
from rapport.users.models import ROLES, User
from rapport.users.schemas import UserCreate, UserPublic, UserUpdate

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_hasher = PasswordHasher()
MIN_PASSWORD = 8


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise UserError(f"unknown role {role!r} (roles: {', '.join(ROLES)})")
    return role


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password too short: at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def do_create_user(session: Session, data: UserCreate, *, actor: str) -> UserPublic:
    email = data.email.strip().lower()
    if not _EMAIL.match(email):
        raise UserError(f"{data.email!r} is not an email address")
    _check_role(data.role)
    if session.execute(select(User.id).where(User.email == email)).scalar_one_or_none():
        raise UserError(f"a user with email {email} exists already")
    base = re.sub(r"[^a-z0-9_.-]", "", email.split("@")[0]) or "user"
    username, n = base, 1
    while session.execute(select(User.id).where(User.username == username)).scalar_one_or_none():
        n += 1
        username = f"{base}{n}"
    user = User(
        email=email,
        username=username,
        name=data.name,
        role=data.role,
        team=data.team,
        password_hash=hash_password(data.password) if data.password else None,
    )
    session.add(user)
    session.flush()
    do_record(
        session,
        actor,
        "users.create",
        subject_type="user",
        subject_id=user.id,
        details={"role": user.role},
    )
    return UserPublic.model_validate(user)


def get_user(session: Session, ref: str | int) -> User:
    """A user by id, email or username."""
    query = select(User)
    if isinstance(ref, int) or str(ref).isdigit():
        query = query.where(User.id == int(ref))
    elif "@" in str(ref):
        query = query.where(User.email == str(ref).strip().lower())
    else:
        query = query.where(User.username == str(ref).strip().lstrip("@"))
    user = session.execute(query).scalar_one_or_none()
    if user is None:
        raise UserNotFound(f"user {ref} not found")
    return user


def do_update_user(session: Session, ref: str | int, data: UserUpdate, *, actor: str) -> UserPublic:
    user = get_user(session, ref)
    changed = data.model_dump(exclude_none=True)
    if "role" in changed:
        _check_role(changed["role"])
    for key, value in changed.items():
        setattr(user, key, value)
    session.flush()
    do_record(
        session,
        actor,
        "users.update",
        subject_type="user",
        subject_id=user.id,
        details={"fields": sorted(changed)},
    )
    return UserPublic.model_validate(user)


def do_disable_user(session: Session, ref: str | int, *, actor: str) -> UserPublic:
    return do_update_user(session, ref, UserUpdate(active=False), actor=actor)


def do_set_password(session: Session, ref: str | int, password: str, *, actor: str) -> None:
    user = get_user(session, ref)
    user.password_hash = hash_password(password)
    session.flush()
    do_record(session, actor, "users.password", subject_type="user", subject_id=user.id)


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this email and password, or None."""
    try:
        user = get_user(session, email)
    except UserNotFound:
        _hasher.hash("timing-equaliser")  # same work whether or not the user exists
        return None
    if not user.active or not user.password_hash:
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    return user


def list_users(session: Session, *, include_disabled: bool = True) -> list[UserPublic]:
    query = select(User).order_by(User.id)
    if not include_disabled:
        query = query.where(User.active.is_(True))
    return [UserPublic.model_validate(u) for u in session.execute(query).scalars()]


def count_users(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(User)).scalar_one())
