"""Fixtures of the web tests: a database with real TWCS conversations, one
user per role, and clients of the real app (in-process, or a live server)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient

from rapport.auth.tokens import issue_access_token
from rapport.conversations.service import do_ingest_files
from rapport.demo import demo_path
from rapport.storage.engine import session_scope
from rapport.users.models import ROLES
from rapport.users.schemas import UserCreate
from rapport.users.service import do_create_user, get_user, hash_password
from rapport.web.app import create_app
from tests.conftest import Database

#: How many demo rows the web tests import (real conversations, quick to load).
SAMPLE_ROWS = 600
PASSWORD = "correct horse battery"


@dataclass
class Account:
    role: str
    email: str
    password: str
    token: str
    id: int

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def write_sample(path: Path, rows: int = SAMPLE_ROWS) -> Path:
    """The first ``rows`` records of the bundled TWCS demo (records, not lines:
    the CSV has quoted newlines)."""
    import csv

    with (
        demo_path().open(newline="", encoding="utf-8") as src,
        path.open("w", newline="", encoding="utf-8") as dst,
    ):
        reader = csv.reader(src)
        writer = csv.writer(dst)
        for n, record in enumerate(reader):
            if n > rows:
                break
            writer.writerow(record)
    return path


def load_sample(tmp_path: Path) -> Path:
    sample = write_sample(tmp_path / "twcs_sample.csv")
    summary = do_ingest_files([sample], fmt="twcs")
    assert summary.inserted == SAMPLE_ROWS
    return sample


@pytest.fixture
def conversations(db: Database, tmp_path: Path) -> Path:
    """The database holds the first SAMPLE_ROWS demo messages."""
    return load_sample(tmp_path)


@pytest.fixture(scope="session")
def password_hash() -> str:
    """The argon2 hash of PASSWORD, computed once (hashing is slow on purpose)."""
    return hash_password(PASSWORD)


@pytest.fixture
def accounts(db: Database, password_hash: str) -> dict[str, Account]:
    """One active user per role, with a password and a bearer token."""
    return make_accounts(password_hash)


def make_accounts(password_hash: str) -> dict[str, Account]:
    out = {}
    with session_scope(write=True) as session:
        for role in ROLES:
            email = f"{role}@example.com"
            do_create_user(session, UserCreate(email=email, role=role), actor="test")
            user = get_user(session, email)
            user.password_hash = password_hash
            session.flush()
            out[role] = Account(role, email, PASSWORD, issue_access_token(user), user.id)
    return out


@pytest.fixture
def client(db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(), follow_redirects=False) as c:
        yield c


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serving() -> Iterator[str]:
    """The app served by uvicorn on a free loopback port (the database of
    RAPPORT_DATABASE_URL), for the browser."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def live_server(db: Database) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port, for the browser."""
    with serving() as base:
        yield base
