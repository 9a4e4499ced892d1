"""A database with the TWCS demo loaded, cloned per test (loaded once per run)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from rapport.conversations.service import do_ingest_files
from rapport.demo import demo_path
from rapport.settings import reset_settings_cache
from rapport.storage.engine import dispose_engines
from tests.conftest import BACKEND, Database, _pg_admin, _pg_dsn, _sa_url


@pytest.fixture(scope="session")
def _demo_template(_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if BACKEND == "sqlite":
        path = tmp_path_factory.mktemp("demo") / "demo.db"
        shutil.copyfile(_template, path)
        url = f"sqlite:///{path}"
        name = str(path)
    else:
        name = f"rapport_demo_{uuid.uuid4().hex[:10]}"
        _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{_template}"')
        url = _sa_url(_pg_dsn(name))
    os.environ["RAPPORT_DATABASE_URL"] = url
    reset_settings_cache()
    try:
        do_ingest_files([demo_path()], fmt="twcs")
    finally:
        dispose_engines()
        os.environ.pop("RAPPORT_DATABASE_URL", None)
        reset_settings_cache()
    try:
        yield name
    finally:
        if BACKEND != "sqlite":
            _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def demo_db(_demo_template: str, tmp_path: Path) -> Iterator[Database]:
    """A fresh database holding the TWCS demo, set as RAPPORT_DATABASE_URL."""
    if BACKEND == "sqlite":
        path = tmp_path / "rapport.db"
        shutil.copyfile(_demo_template, path)
        database = Database(f"sqlite:///{path}", "sqlite")
        name = None
    else:
        name = f"rapport_t_{uuid.uuid4().hex[:12]}"
        _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{_demo_template}"')
        database = Database(_sa_url(_pg_dsn(name)), "postgresql")
    os.environ["RAPPORT_DATABASE_URL"] = database.url
    reset_settings_cache()
    try:
        yield database
    finally:
        dispose_engines()
        os.environ.pop("RAPPORT_DATABASE_URL", None)
        reset_settings_cache()
        if name is not None:
            _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
