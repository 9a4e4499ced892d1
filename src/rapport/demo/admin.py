"""The demo admin login that `make run` prints: created on first use,
unchanged afterwards (idempotent). Its password is random, kept in the data
directory (mode 0600) so every run prints the same login; refused in prod."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from rapport.errors import RapportError
from rapport.settings import get_settings
from rapport.users.errors import UserNotFound
from rapport.users.schemas import UserCreate, UserUpdate
from rapport.users.service import (
    authenticate,
    do_create_user,
    do_set_password,
    do_update_user,
    get_user,
)

DEMO_ADMIN_EMAIL = "admin@example.com"
PASSWORD_FILE = "demo-admin-password"


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    #: "created", "repaired" (password, role or state put back) or "unchanged".
    state: str


def _password(data_dir: Path) -> str:
    path = data_dir / PASSWORD_FILE
    if path.is_file():
        value = path.read_text(encoding="utf-8").strip()
        if len(value) >= 8:
            return value
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(12)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(value + "\n")
    return value


def do_ensure_demo_admin(session: Session, *, actor: str) -> DemoLogin:
    settings = get_settings()
    if settings.env == "prod":
        raise RapportError(
            "no demo admin in prod: create real users with "
            "`rapport users create EMAIL --role admin`"
        )
    password = _password(settings.data_dir)
    try:
        user = get_user(session, DEMO_ADMIN_EMAIL)
    except UserNotFound:
        do_create_user(
            session,
            UserCreate(email=DEMO_ADMIN_EMAIL, role="admin", password=password, name="Demo admin"),
            actor=actor,
        )
        return DemoLogin(DEMO_ADMIN_EMAIL, password, "created")
    state = "unchanged"
    if user.role != "admin" or not user.active:
        do_update_user(session, user.id, UserUpdate(role="admin", active=True), actor=actor)
        state = "repaired"
    if authenticate(session, DEMO_ADMIN_EMAIL, password) is None:
        do_set_password(session, user.id, password, actor=actor)
        state = "repaired"
    return DemoLogin(DEMO_ADMIN_EMAIL, password, state)
